"""API v1 routes of the targets app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from indicators.api import IndicatorValueViewSet, IndicatorViewSet, RecomputeView

router = SimpleRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("indicator-values", IndicatorValueViewSet, basename="indicator-value")

urlpatterns = [*router.urls, path("recompute/", RecomputeView.as_view(), name="recompute")]
