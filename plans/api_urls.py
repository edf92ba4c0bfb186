"""API v1 routes of the plans app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path

from plans import api

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="api-plan-list"),
    path("plans/<slug:code>/", api.PlanDetailView.as_view(), name="api-plan-detail"),
    path("plans/<slug:code>/sections/", api.SectionListView.as_view(), name="api-plan-sections"),
    path("plans/<slug:code>/targets/", api.TargetListView.as_view(), name="api-plan-targets"),
    path("plans/<slug:code>/targets/<slug:target>/", api.TargetDetailView.as_view(), name="api-plan-target"),
    path(
        "plans/<slug:code>/targets/<slug:target>/progress/",
        api.TargetProgressView.as_view(),
        name="api-plan-target-progress",
    ),
]
