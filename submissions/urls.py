from django.urls import include, path

from portal.views import not_built_yet

app_name = "submissions"

urlpatterns = [
    path("", not_built_yet, name="submission_list"),
    path("mine/", not_built_yet, name="my_submissions"),
    path("review/", not_built_yet, name="review_list"),
    path("figures/", not_built_yet, name="figure_list"),
    path("completeness/", not_built_yet, name="completeness"),
    path("<int:pk>/", not_built_yet, name="submission_detail"),
    # Excel round-trip views live in submissions/xlsx_urls.py (owned separately).
    path("excel/", include("submissions.xlsx_urls")),
]
