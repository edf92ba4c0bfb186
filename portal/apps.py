"""The portal app: connects the request-id and audit signals at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.audit import connect_task_signals
        from portal.logs import connect_signals

        connect_signals()
        connect_task_signals()
