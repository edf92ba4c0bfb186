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
