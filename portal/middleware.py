"""Cross-cutting HTTP behaviour: request id, latency, health probe, request size caps, CSP header and the UI
language."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

from portal import health, metrics
from portal.logs import request_id_from, request_id_var

# Room for the multipart envelope and the other form fields around a file of MAX_UPLOAD_BYTES, so the
# upload views still see a slightly-too-large file and answer with their own message.
REQUEST_OVERHEAD_BYTES = 1024 * 1024
logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Returns the request's id (the proxy's X-Request-ID if plain, else a new one; see portal.logs) in the
    X-Request-ID response header, so a user's report can be found in the logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_var.get()
        if request_id == "-":  # a request the request_started signal did not see
            request_id = request_id_from(request.META)
            request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestLatencyMiddleware:
    """Feeds the request latency histogram of /metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            metrics.LATENCY_HISTOGRAM.observe(time.perf_counter() - started)


class HealthCheckMiddleware:
    """Answers ``GET /healthz`` before host validation, HTTPS redirect, session or log-in: a probe from a load
    balancer or container runtime on plain HTTP with any Host gets the API.md body and 200 or 503, no detail."""

    PATH = "/healthz"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != self.PATH:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            return JsonResponse({"detail": "method not allowed"}, status=405, headers={"Allow": "GET, HEAD"})
        healthy, body = health.health_report()
        response = JsonResponse(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
        if not healthy:
            # One warning naming the checks, instead of Django's "Service Unavailable" error at every probe.
            failing = ", ".join(f"{key}={value}" for key, value in body.items() if key != "status")
            logger.warning("health check failed: %s", failing)
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response


UPLOAD_VIEW_ATTRIBUTE = "accepts_uploads"

View = TypeVar("View", bound=Callable[..., Any])


def accepts_uploads(view: View) -> View:
    """Marks an upload view (function, or APIView/View class): a signed-in user may send it a body up to
    MAX_UPLOAD_BYTES. Every other request is held to Django's small DATA_UPLOAD_MAX_MEMORY_SIZE."""
    setattr(view, UPLOAD_VIEW_ATTRIBUTE, True)
    return view


def _declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _too_large(request: HttpRequest, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"errors": {"file": [message]}}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def is_upload_view(view_func: Callable[..., Any]) -> bool:
    """Is the resolved view marked with ``accepts_uploads`` (on the function or on its class)?"""
    for holder in (view_func, getattr(view_func, "view_class", None), getattr(view_func, "cls", None)):
        if holder is not None and getattr(holder, UPLOAD_VIEW_ATTRIBUTE, False):
            return True
    return False


def _signed_in_uploader(request: HttpRequest, view_func: Callable[..., Any]) -> bool:
    """A signed-in user (session or a valid API token) on an upload view, or staff on an admin page."""
    user = getattr(request, "user", None)
    if getattr(view_func, "model_admin", None) is not None:
        # Admin change forms carry evidence files; only active staff get past the admin's own check.
        return bool(user is not None and user.is_active and user.is_staff)
    if not is_upload_view(view_func):
        return False
    if user is not None and user.is_authenticated:
        return True
    # Loaded on the rare large body only: portal.api must not be imported while DRF's settings load (see it).
    from rest_framework.exceptions import AuthenticationFailed

    from portal.api import ExpiringTokenAuthentication

    try:
        return ExpiringTokenAuthentication().authenticate(request) is not None  # type: ignore[arg-type]
    except AuthenticationFailed:
        return False


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body is too large, before anything reads it.

    Two caps, both on the declared Content-Length (under WSGI a body without one is read as empty):

    - every request: MAX_UPLOAD_BYTES plus the multipart envelope, or Django would spool any file to a
      temporary file whatever its size;
    - before the view runs (``process_view``, ahead of the CSRF check that reads the form): a body larger
      than Django's DATA_UPLOAD_MAX_MEMORY_SIZE is accepted only by the views marked ``accepts_uploads``
      and only from a signed-in user (or staff on an admin page). So an anonymous 9 MB form field sent to
      the log-in page is a 413 without a byte of it read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _declared_length(request) > settings.MAX_UPLOAD_BYTES + REQUEST_OVERHEAD_BYTES:
            message = _("文件过大，上传上限为 %(limit).1f MB。") % {"limit": settings.MAX_UPLOAD_BYTES / 1048576}
            return _too_large(request, message)
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or _declared_length(request) <= limit or _signed_in_uploader(request, view_func):
            return None
        return _too_large(request, _("请求内容过大（上限 %(limit).1f MB），已拒绝。") % {"limit": limit / 1048576})


class ContentSecurityPolicyMiddleware:
    """Adds the CSP header (no inline scripts: every script is a static file)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class PortalLocaleMiddleware(LocaleMiddleware):
    """Pages are Simplified Chinese unless the user chose a language with the switch (cookie).

    Bureau PCs often run an English browser; that must not switch the portal's language. The API
    keeps Django's negotiation, so integrations get messages per ``Accept-Language``.

    Only the language cookie decides a page's language: a cookie naming no language of LANGUAGES
    (left by an older version, or by another application on the same host, since cookies ignore the
    port) means Chinese, not "ask the browser".
    """

    def process_request(self, request: HttpRequest) -> None:
        if is_api(request):
            super().process_request(request)
            return
        translation.activate(chosen_language(request) or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()


def is_api(request: HttpRequest) -> bool:
    # path_info: without the script prefix when the portal is served under a sub-path.
    return request.path_info.startswith("/api/")


def chosen_language(request: HttpRequest) -> str | None:
    """The language picked with the switch (settings.LANGUAGE_COOKIE_NAME), if it is one of LANGUAGES."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None
