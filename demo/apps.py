from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data only: no models, one management command (``load_demo``)."""

    name = "demo"
