"""API v1 routes of the reports app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path

from reports import api

urlpatterns = [
    path("plans/<slug:code>/export.xlsx", api.PlanExportView.as_view(), name="api_plan_export"),
    path("plans/<slug:code>/bulletin/", api.PlanBulletinView.as_view(), name="api_plan_bulletin"),
    path("exports/<int:pk>/", api.ExportJobView.as_view(), name="api_export_job"),
]
