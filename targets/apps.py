from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = _("目标与进展")

    def ready(self) -> None:
        # Django connects receivers on import: recomputed indicator values → the targets' progress.
        from portal import audit
        from targets import receivers  # noqa: F401
        from targets.models import Target

        # The audit trail (portal.audit): what a target measures and how its status is judged.

        audit.track(Target, AUDITED_TARGET_FIELDS, api_name="target", lookup=["plan__code", "code"], unit_field="scope")


# A target's fields that move its progress or status (its text and code name it).
AUDITED_TARGET_FIELDS = [
    "code", "text", "section", "work_item", "indicator", "comparator", "direction", "target_value",
    "target_value_max", "per_unit_minimum", "baseline_value", "baseline_period", "scope", "applies_to_each_unit",
    "each_unit_level", "rhythm", "range_is_ceiling", "due_period", "due_date", "assess_from", "path_mode",
    "at_risk_margin", "owner_unit", "part_of", "milestone_status", "start_month", "due_month", "completed_on",
]  # fmt: skip
