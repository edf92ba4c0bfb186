"""Shared pieces of the REST API: the error format, and a base viewset applying the access scope."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination, parsers, status, throttling
from rest_framework.authentication import TokenAuthentication
from rest_framework.response import Response

from portal.errors import ServiceError

logger = logging.getLogger(__name__)


def _as_lists(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        result: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub_key, sub_value in _as_lists(value).items():
                    result[f"{key}.{sub_key}"] = sub_value
            elif isinstance(value, list | tuple):
                result[str(key)] = [str(item) for item in value]
            else:
                result[str(key)] = [str(value)]
        return result
    if isinstance(detail, list | tuple):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"detail": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error body is ``{"errors": {"field_or_code": ["message", ...]}}``."""
    if isinstance(exc, ServiceError):
        return Response({"errors": exc.errors}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"errors": _as_lists(errors)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DatabaseError):
        # The request's transaction was rolled back as a whole (ATOMIC_REQUESTS / service atomic blocks),
        # so the honest answer is "nothing was saved, try again", in the contract's error shape.
        logger.error("database error in %s", context.get("view"), exc_info=exc)
        message = _("服务器暂时出错，本次操作没有保存任何数据，请稍后重试。")
        return Response({"errors": {"non_field_errors": [message]}}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("未找到。"))
    elif isinstance(exc, PermissionDenied):
        # A refusal that states its reason (``PermissionDenied(message)``, raised by portal.scope and the
        # services for rules such as "no new root units") keeps it; a bare one gets the generic message.
        reason = str(exc.args[0]) if exc.args and exc.args[0] else _("没有权限执行此操作。")
        exc = exceptions.PermissionDenied(reason)
    # Imported here, not at the top: rest_framework.views reads DEFAULT_PARSER_CLASSES (which names this
    # module) while it is being imported, so a top-level import is circular whenever DRF's settings are
    # touched before any view — e.g. when Django happens to run DRF's pagination check first.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"errors": _as_lists(response.data)}
    return response


def token_expired(created: datetime.datetime, now: datetime.datetime | None = None) -> bool:
    """Is a token created at ``created`` older than API_TOKEN_TTL_DAYS (0: tokens never expire)?"""
    days = settings.API_TOKEN_TTL_DAYS
    return bool(days) and created < (now or timezone.now()) - datetime.timedelta(days=days)


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …``, refused once the token is older than API_TOKEN_TTL_DAYS.

    Tokens are also deleted when their user's password changes (``portal.signals``).
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token.created):
            raise exceptions.AuthenticationFailed(_("API 令牌已过期，请在个人资料页重新生成。"))
        return user, token


class _SettingRate:
    """Reads the rate from a setting at each request (None or "" switches the throttle off)."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        return getattr(settings, self.rate_setting, None) or None


class AnonThrottle(_SettingRate, throttling.AnonRateThrottle):
    """Requests without a signed-in user or token, per client IP: API_THROTTLE_ANON_RATE (e.g. "60/minute")."""

    rate_setting = "API_THROTTLE_ANON_RATE"


class UserThrottle(_SettingRate, throttling.UserRateThrottle):
    """Requests per signed-in user (or token): API_THROTTLE_USER_RATE (e.g. "1200/minute")."""

    rate_setting = "API_THROTTLE_USER_RATE"


class KeysetPagination(pagination.CursorPagination):
    """``?cursor=``: pages by primary key (``WHERE id > last ORDER BY id LIMIT n``), never a COUNT(*).

    The primary key is unique and indexed, so every page costs the same however deep it is, and a row
    added or removed meanwhile never makes a walk skip or repeat another. ``limit`` sets the page size.
    """

    ordering = "pk"
    page_size_query_param = "limit"
    max_page_size = 1000

    def decode_cursor(self, request: Any) -> Any:
        # A hand-made cursor whose position is not a number would reach the database as ``id > 'abc'``
        # (a 500): it is an invalid cursor like any other, a 404.
        cursor = super().decode_cursor(request)
        if (
            cursor is not None
            and cursor.position is not None
            and not (str(cursor.position).isascii() and str(cursor.position).isdigit())
        ):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor


class Pagination(pagination.LimitOffsetPagination):
    """``?limit=&offset=`` with a ceiling: a huge limit is clamped, never passed to the database's LIMIT.

    A request with ``cursor`` (``?cursor=`` empty for the first page) is paged by ``KeysetPagination``
    instead: ``next``/``previous`` links and no ``count``. Offset pages answer exactly as before; their
    COUNT(*) and OFFSET grow with the list, which is why large lists are walked by cursor. A list computed
    in Python (not a queryset) is always paged by offset.
    """

    max_limit = 1000

    def __init__(self) -> None:
        self.keyset: KeysetPagination | None = None

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any] | None:
        if KeysetPagination.cursor_query_param in request.query_params and isinstance(queryset, QuerySet):
            self.keyset = KeysetPagination()
            self.display_page_controls = False
            return self.keyset.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.keyset is not None:
            return self.keyset.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # One shape for both: ``count`` is present on offset pages only.
        response = super().get_paginated_response_schema(schema)
        response["required"] = [name for name in response.get("required", []) if name != "count"]
        return response

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        cursor = {
            "name": KeysetPagination.cursor_query_param,
            "required": False,
            "in": "query",
            "description": (
                "Keyset paging for large lists: send it empty for the first page, then follow `next`. "
                "Pages are ordered by creation (primary key) and carry no `count`; `limit` sets the page size."
            ),
            "schema": {"type": "string"},
        }
        return [*super().get_schema_operation_parameters(view), cursor]


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit is a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套过深。")) from None


class ScopedObjectMixin:
    """For viewsets: lists and reads are scoped (out of scope → 404); writes look the object up
    unscoped so that the service's ``scope.require`` answers 403, as the API contract says.

    Subclasses define ``get_base_queryset()`` (unscoped) and ``scope_field`` (path to the OrgUnit).
    """

    scope_field: str = ""

    def get_base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        # portal.api is loaded by DRF's settings (DEFAULT_PARSER_CLASSES), possibly before the app registry is
        # ready; the scope module imports models, so it is imported when a request needs it.
        from portal import scope

        return scope.filter_by_scope(self.request.user, self.get_base_queryset(), self.scope_field)

    def get_object(self):
        # See get_queryset: nothing that reads settings or models at import time is loaded with this module.
        from django.shortcuts import get_object_or_404
        from rest_framework.permissions import SAFE_METHODS

        if self.request.method in SAFE_METHODS:
            return super().get_object()
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        obj = get_object_or_404(self.get_base_queryset(), **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        self.check_object_permissions(self.request, obj)
        return obj
