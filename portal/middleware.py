"""Cross-cutting HTTP behaviour: the request size cap, the Content-Security-Policy header and the UI language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

# Room for the multipart envelope and the other form fields around a file of MAX_UPLOAD_BYTES, so the
# upload views still see a slightly-too-large file and answer with their own message.
REQUEST_OVERHEAD_BYTES = 1024 * 1024


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
