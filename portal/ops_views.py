"""/metrics for Prometheus: a bureau-wide administrator's session or the METRICS_TOKEN bearer token."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import metrics, scope

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _bearer_token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), expected.encode())


def _bureau_wide_admin(request: HttpRequest) -> bool:
    """Superusers and bureau administrators of a top-level unit: the metrics count every unit's submissions."""
    return scope.is_bureau_wide_admin(request.user)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; anyone else gets a bare 403 (no metric name, no hint which check failed)."""
    if not (_bearer_token_ok(request) or _bureau_wide_admin(request)):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE)
