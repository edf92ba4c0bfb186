"""Shared Django admin bases.

Models that carry rules (figures, validation rules, periods, indicators, targets) are edited on the portal's own
pages, which go through the services (validation, recompute, history). Their admin pages only show them: an edit
there would skip those services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from portal.audit import history_for
from portal.models import ConfigChange


class _ShowOnly:
    """Never add, change or delete: the permission checks every admin page and inline asks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(_ShowOnly, admin.ModelAdmin):
    """An admin page that lists and shows rows but never adds, changes or deletes them."""


class ReadOnlyInline(_ShowOnly, admin.TabularInline):
    """An inline that only shows its rows."""

    extra = 0


class ConfigHistoryMixin:
    """Adds the object's audit trail (``portal.audit``) as a read-only field: list ``"config_history"`` in
    ``readonly_fields``."""

    @admin.display(description=_("变更记录"))
    def config_history(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "—"
        return render_to_string("includes/config_history.html", {"show": True, "rows": history_for(obj)})


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    """The audit trail: never written here, only by ``portal.audit``."""

    list_display = ("created_at", "object_repr", "content_type", "action", "user", "channel", "request_id")
    list_filter = ("channel", "action", "content_type")
    search_fields = ("object_repr", "object_id", "request_id", "user__username")
    list_select_related = ("content_type", "user")
    date_hierarchy = "created_at"
