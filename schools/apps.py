from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchoolsConfig(AppConfig):
    name = "schools"
    verbose_name = _("学校与组织")

    def ready(self) -> None:
        # A password change revokes the user's API token.
        from schools import signals  # noqa: F401
