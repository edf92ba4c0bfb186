from django.urls import include, path

from submissions import views

app_name = "submissions"

urlpatterns = [
    path("", views.SubmissionListView.as_view(), name="submission_list"),
    path("mine/", views.my_submissions, name="my_submissions"),
    path("open/", views.submission_open, name="submission_open"),
    path("review/", views.ReviewListView.as_view(), name="review_list"),
    path("review/approve/", views.review_bulk_approve, name="review_bulk_approve"),
    path("completeness/", views.completeness_view, name="completeness"),
    path("<int:pk>/", views.submission_detail, name="submission_detail"),
    path("<int:pk>/check/", views.submission_check, name="submission_check"),
    path("<int:pk>/<str:action>/", views.submission_action, name="submission_action"),
    path("figures/", views.FigureListView.as_view(), name="figure_list"),
    path("figures/new/", views.FigureCreateView.as_view(), name="figure_create"),
    path("figures/<slug:code>/", views.FigureUpdateView.as_view(), name="figure_update"),
    path("rules/", views.RuleListView.as_view(), name="rule_list"),
    path("rules/new/", views.RuleCreateView.as_view(), name="rule_create"),
    path("rules/<int:pk>/", views.RuleUpdateView.as_view(), name="rule_update"),
    path("periods/", views.PeriodListView.as_view(), name="period_list"),
    path("periods/new/", views.PeriodCreateView.as_view(), name="period_create"),
    path("periods/<str:code>/", views.PeriodUpdateView.as_view(), name="period_update"),
    path("periods/<str:code>/exceptions/", views.period_exception_create, name="period_exception_create"),
    # Excel round-trip views live in submissions/xlsx_urls.py (owned separately).
    path("excel/", include("submissions.xlsx_urls")),
]
