"""API v1 routes of the targets app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from indicators.api import IndicatorValueViewSet, IndicatorViewSet, RecomputeJobView, RecomputeView
from indicators.catalogue_api import CatalogueInstallView, CatalogueView

router = SimpleRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("indicator-values", IndicatorValueViewSet, basename="indicator-value")

urlpatterns = [
    *router.urls,
    path("recompute/", RecomputeView.as_view(), name="recompute"),
    path("recompute/<int:job>/", RecomputeJobView.as_view(), name="recompute-job"),
    path("indicator-catalogue/", CatalogueView.as_view(), name="indicator-catalogue"),
    path(
        "indicator-catalogue/<slug:code>/install/", CatalogueInstallView.as_view(), name="indicator-catalogue-install"
    ),
]
