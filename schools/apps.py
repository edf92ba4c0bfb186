from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchoolsConfig(AppConfig):
    name = "schools"
    verbose_name = _("学校与组织")

    def ready(self) -> None:
        from portal import audit
        from schools import signals  # noqa: F401  (a password change revokes the user's API token)
        from schools.models import Membership, OrgUnit

        # The audit trail (portal.audit): the tree and who holds which role are configuration that moves numbers.
        audit.track(
            OrgUnit,
            ["code", "name", "level", "school_type", "ownership", "is_central", "is_active", "closed_on", "parent"],
            api_name="org_unit",
            unit_field="",
        )
        audit.track(
            Membership,
            ["user", "org_unit", "role"],
            api_name="membership",
            root=lambda m: audit.key_for(OrgUnit, m.org_unit_id),
            lookup=["pk"],
            unit_field="org_unit",
        )
