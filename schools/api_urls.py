"""API v1 routes of the schools app (mounted under /api/v1/ by portal/urls.py)."""

from rest_framework.routers import SimpleRouter

from schools.api import DesignationKindViewSet, DesignationViewSet, OrgUnitViewSet

router = SimpleRouter()
router.register("org-units", OrgUnitViewSet, basename="org-unit")
router.register("designation-kinds", DesignationKindViewSet, basename="designation-kind")
router.register("designations", DesignationViewSet, basename="designation")

urlpatterns = router.urls

# Users and memberships (schools/user_api.py), managed by bureau administrators within their scope.
from schools.user_api import MembershipViewSet, UserViewSet  # noqa: E402

router.register("users", UserViewSet, basename="user")
router.register("memberships", MembershipViewSet, basename="membership")
urlpatterns = router.urls
