"""API v1 routes of the submissions app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from submissions.api import FigureViewSet, PeriodViewSet, SubmissionViewSet
from submissions.xlsx_api import SubmissionTemplateView, SubmissionUploadView

router = SimpleRouter()
router.register("figures", FigureViewSet, basename="figure")
router.register("periods", PeriodViewSet, basename="period")
router.register("submissions", SubmissionViewSet, basename="submission")

# Before the router: "submissions/upload/" would otherwise match the detail route of a submission.
urlpatterns = [
    path("submissions/template.xlsx", SubmissionTemplateView.as_view(), name="api_submission_template"),
    path("submissions/upload/", SubmissionUploadView.as_view(), name="api_submission_upload"),
    *router.urls,
]
