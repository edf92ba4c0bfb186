"""API v1 routes of the schools app (mounted under /api/v1/ by portal/urls.py)."""

from rest_framework.routers import SimpleRouter

from schools.api import DesignationKindViewSet, DesignationViewSet, OrgUnitViewSet

router = SimpleRouter()
router.register("org-units", OrgUnitViewSet, basename="org-unit")
router.register("designation-kinds", DesignationKindViewSet, basename="designation-kind")
router.register("designations", DesignationViewSet, basename="designation")

urlpatterns = router.urls
