"""Admin pages of the submissions app, read-only: figures, rules and periods are edited on the portal's pages
(their services validate them); submissions and values change only through the workflow, which versions and
audits them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.admin import ConfigHistoryMixin, ReadOnlyAdmin, ReadOnlyInline
from submissions.models import (
    Figure,
    Period,
    PeriodException,
    Reminder,
    Submission,
    SubmissionHistory,
    ValidationRule,
    Value,
)


@admin.register(Figure)
class FigureAdmin(ConfigHistoryMixin, ReadOnlyAdmin):
    readonly_fields = ("config_history",)
    list_display = ("code", "name", "unit", "value_type", "time_aggregation", "unit_aggregation", "group", "order")
    list_filter = ("time_aggregation", "is_active", "group")
    search_fields = ("code", "name")


@admin.register(ValidationRule)
class ValidationRuleAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "left", "operator", "right", "severity", "is_active")
    list_filter = ("severity", "is_active")


class PeriodExceptionInline(ReadOnlyInline):
    model = PeriodException
    extra = 0
    raw_id_fields = ("org_unit",)


@admin.register(Period)
class PeriodAdmin(ConfigHistoryMixin, ReadOnlyAdmin):
    list_display = ("code", "opens_on", "due_on", "locks_on")
    readonly_fields = ("config_history",)  # who moved a lock date, and when
    inlines = [PeriodExceptionInline]


class ValueInline(admin.TabularInline):
    model = Value
    extra = 0
    can_delete = False
    readonly_fields = ("figure", "value", "updated_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("org_unit", "period", "status", "version", "submitted_at", "approved_at")
    list_filter = ("status", "period")
    search_fields = ("org_unit__code", "org_unit__name")
    list_select_related = ("org_unit", "period")
    inlines = [ValueInline]


@admin.register(SubmissionHistory)
class SubmissionHistoryAdmin(ReadOnlyAdmin):
    list_display = ("submission", "action", "figure", "old_value", "new_value", "channel", "user", "created_at")
    list_filter = ("action", "channel")
    list_select_related = ("submission__org_unit", "submission__period", "figure", "user")


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("org_unit", "period", "stage", "sent_at", "recipients")
    list_filter = ("stage", "period")
