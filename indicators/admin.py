"""Django admin for the engine's models, read-only: definitions are edited on the indicator pages (their service
validates the formula and requests the recompute); values and the outbox are written by the engine alone."""

from __future__ import annotations

from django.contrib import admin

from indicators.models import Indicator, IndicatorValue, PendingRecompute
from portal.admin import ReadOnlyAdmin


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "aggregation", "numerator", "denominator", "is_active")
    list_filter = ("aggregation", "is_active")
    search_fields = ("code", "name")


@admin.register(IndicatorValue)
class IndicatorValueAdmin(ReadOnlyAdmin):
    list_display = ("indicator", "org_unit", "period", "numerator", "denominator", "value", "computed_at")
    list_filter = ("indicator", "period")
    list_select_related = ("indicator", "org_unit", "period")
    raw_id_fields = ("org_unit",)


@admin.register(PendingRecompute)
class PendingRecomputeAdmin(ReadOnlyAdmin):
    list_display = ("org_unit", "period", "reason", "requested_at", "claimed_at", "done_at")
    list_filter = ("reason",)
    raw_id_fields = ("org_unit",)
