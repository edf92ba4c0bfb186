"""Cross-cutting HTTP behaviour: the Content-Security-Policy header and the UI language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/") or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
            super().process_request(request)
            return
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
