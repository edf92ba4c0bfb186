"""/metrics for Prometheus: a bureau-wide administrator's session or the METRICS_TOKEN bearer token."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import metrics, scope
from schools.models import OrgUnit, Role

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _bearer_token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), expected.encode())


def _bureau_wide_admin(request: HttpRequest) -> bool:
    """Superusers and bureau administrators of a top-level unit: the metrics count every unit's submissions."""
    user = request.user
    if scope.is_superuser(user):
        return True
    root_ids = {grant.unit_id for grant in scope.grants(user) if grant.role == Role.BUREAU_ADMIN}
    return bool(root_ids) and OrgUnit.objects.filter(pk__in=root_ids, parent__isnull=True).exists()


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; anyone else gets a bare 403 (no metric name, no hint which check failed)."""
    if not (_bearer_token_ok(request) or _bureau_wide_admin(request)):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE)
