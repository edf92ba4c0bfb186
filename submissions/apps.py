from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = _("数据填报")

    def ready(self) -> None:
        # Imported here: models are not loaded before ready(). /metrics counts submissions by status.
        from portal import health
        from submissions.models import submission_counts_by_status

        health.provide_submission_counts(submission_counts_by_status)

        # The audit trail (portal.audit): what is reported, how it is checked and when a quarter locks.
        from portal import audit
        from schools.models import Level, Ownership, SchoolType
        from submissions.models import Figure, Period, ValidationRule

        audit.track(
            Figure,
            ["code", "name", "unit", "value_type", "time_aggregation", "unit_aggregation", "min_value", "max_value",
             "reported_by_levels", "reported_by_school_types", "reported_by_ownership", "reported_by_central_only",
             "reported_by_top_areas", "stage", "required", "allows_not_applicable", "from_period", "until_period",
             "change_warning_share", "is_active"],
            api_name="figure",
            item_choices={"reported_by_levels": Level.choices, "reported_by_school_types": SchoolType.choices,
                          "reported_by_ownership": Ownership.choices},
        )  # fmt: skip
        audit.track_many(Figure, "reported_by_within")
        audit.track(
            ValidationRule,
            ["code", "name", "left", "operator", "right", "severity", "message", "is_active"],
            api_name="validation_rule",
        )
        audit.track(Period, ["code", "year", "quarter", "opens_on", "due_on", "locks_on"], api_name="period")
