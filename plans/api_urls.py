"""API v1 routes of the plans app (mounted under /api/v1/ by portal/urls.py); a plan's targets: targets.api_urls."""

from django.urls import path

from plans import api

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="api-plan-list"),
    path("plans/<slug:code>/", api.PlanDetailView.as_view(), name="api-plan-detail"),
    path("plans/<slug:code>/sections/", api.SectionListView.as_view(), name="api-plan-sections"),
    path("plans/<slug:code>/work-items/", api.WorkItemListView.as_view(), name="api-plan-work-items"),
    path("plans/<slug:code>/work-items/<int:pk>/", api.WorkItemDetailView.as_view(), name="api-plan-work-item"),
]
