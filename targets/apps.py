from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = _("目标与进展")

    def ready(self) -> None:
        # Django connects receivers on import: recomputed indicator values → the targets' progress.
        from targets import receivers  # noqa: F401
