"""Django admin for the engine's models (read-mostly; definitions are edited on the indicator pages)."""

from __future__ import annotations

from django.contrib import admin

from indicators.models import Indicator, IndicatorValue, PendingRecompute


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "aggregation", "numerator", "denominator", "is_active")
    list_filter = ("aggregation", "is_active")
    search_fields = ("code", "name")


@admin.register(IndicatorValue)
class IndicatorValueAdmin(admin.ModelAdmin):
    list_display = ("indicator", "org_unit", "period", "numerator", "denominator", "value", "computed_at")
    list_filter = ("indicator", "period")
    list_select_related = ("indicator", "org_unit", "period")
    raw_id_fields = ("org_unit",)


@admin.register(PendingRecompute)
class PendingRecomputeAdmin(admin.ModelAdmin):
    list_display = ("org_unit", "period", "reason", "requested_at", "claimed_at", "done_at")
    list_filter = ("reason",)
    raw_id_fields = ("org_unit",)
