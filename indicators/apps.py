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
