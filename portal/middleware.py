"""Cross-cutting HTTP behaviour: request id, latency, health probe, size cap, CSP header and the UI language."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

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


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body is larger than the upload cap, before anything reads it.

    Django caps form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not files: without this, any signed-in
    user (or anyone, before the log-in check) could make the server spool gigabytes to a temporary file.
    Under WSGI a body without Content-Length is read as empty, so the declared length is the real bound.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_BYTES + REQUEST_OVERHEAD_BYTES:
            message = _("文件过大，上传上限为 %(limit).1f MB。") % {"limit": settings.MAX_UPLOAD_BYTES / 1048576}
            if request.path.startswith("/api/"):
                return JsonResponse({"errors": {"file": [message]}}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


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
