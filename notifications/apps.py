from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Notifications and the to-do home: the top layer, it listens to every app below it through signals."""

    name = "notifications"
    verbose_name = _("通知")

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401  (connects the signal receivers)
