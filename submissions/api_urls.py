"""API v1 routes of the submissions app (mounted under /api/v1/ by portal/urls.py)."""

from rest_framework.routers import SimpleRouter

from submissions.api import FigureViewSet, PeriodViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("figures", FigureViewSet, basename="figure")
router.register("periods", PeriodViewSet, basename="period")
router.register("submissions", SubmissionViewSet, basename="submission")

urlpatterns = router.urls
