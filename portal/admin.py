"""Shared Django admin bases.

Models that carry rules (figures, validation rules, periods, indicators, targets) are edited on the portal's own
pages, which go through the services (validation, recompute, history). Their admin pages only show them: an edit
there would skip those services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


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
