"""API v1 routes of a plan's targets (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path

from targets import api, drafts_api, plan_copy_views

urlpatterns = [
    path("plans/<slug:code>/copy/", plan_copy_views.PlanCopyView.as_view(), name="api-plan-copy"),
    path("plans/<slug:code>/targets/", api.TargetListView.as_view(), name="api-plan-targets"),
    path("plans/<slug:code>/targets/<slug:target>/", api.TargetDetailView.as_view(), name="api-plan-target"),
    path(
        "plans/<slug:code>/targets/<slug:target>/progress/",
        api.TargetProgressView.as_view(),
        name="api-plan-target-progress",
    ),
    path(
        "plans/<slug:code>/targets/<slug:target>/notes/",
        api.TargetNoteListView.as_view(),
        name="api-plan-target-notes",
    ),
    path(
        "plans/<slug:code>/targets/<slug:target>/notes/<int:pk>/review/",
        api.TargetNoteReviewView.as_view(),
        name="api-plan-target-note-review",
    ),
    path("plan-drafts/", drafts_api.PlanDraftListView.as_view(), name="api-plan-drafts"),
    path("plan-drafts/<int:pk>/", drafts_api.PlanDraftDetailView.as_view(), name="api-plan-draft"),
    path("plan-drafts/<int:pk>/commit/", drafts_api.PlanDraftCommitView.as_view(), name="api-plan-draft-commit"),
]
