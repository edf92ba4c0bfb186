from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = _("统计指标")

    def ready(self) -> None:
        # Django connects receivers on import: approvals and designation changes → the recompute outbox.
        from indicators import receivers  # noqa: F401
        from indicators.recompute import backlog
        from portal import health

        health.provide_recompute_backlog(backlog)

        # The audit trail (portal.audit): every part of a definition that changes a computed value.
        from indicators.models import Indicator
        from portal import audit
        from schools.models import Level, Ownership, SchoolType

        audit.track(
            Indicator,
            ["code", "name", "numerator", "denominator", "weight", "factor", "decimals", "unit", "aggregation",
             "condition", "designation_kind", "designation_level",
             "unit_filter_levels", "unit_filter_school_types", "unit_filter_ownership",
             "unit_filter_central_only", "period_mode", "is_active"],
            api_name="indicator",
            item_choices={"unit_filter_levels": Level.choices, "unit_filter_school_types": SchoolType.choices,
                          "unit_filter_ownership": Ownership.choices},
        )  # fmt: skip
