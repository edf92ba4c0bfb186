"""API v1 routes of a plan's targets (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path

from targets import api, plan_copy_views

urlpatterns = [
    path("plans/<slug:code>/copy/", plan_copy_views.PlanCopyView.as_view(), name="api-plan-copy"),
    path("plans/<slug:code>/targets/", api.TargetListView.as_view(), name="api-plan-targets"),
    path("plans/<slug:code>/targets/<slug:target>/", api.TargetDetailView.as_view(), name="api-plan-target"),
    path(
        "plans/<slug:code>/targets/<slug:target>/progress/",
        api.TargetProgressView.as_view(),
        name="api-plan-target-progress",
    ),
]
