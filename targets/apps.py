from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = _("指标与目标")

    def ready(self) -> None:
        # Designation changes → pending recomputes of count-of-designation indicators.
        from targets import signals  # noqa: F401
