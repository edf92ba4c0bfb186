from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("units/<str:code>/", views.unit_detail, name="unit_detail"),
    path("units/<str:code>/equity/", views.unit_equity, name="unit_equity"),
    path("plans/<slug:plan>/targets/<slug:code>/", views.TargetDetailPage.as_view(), name="target_detail"),
    path("export/", views.plan_export, name="plan_export"),
    path("bulletin/", views.bulletin, name="bulletin"),
    path("exports/<int:pk>/", views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
