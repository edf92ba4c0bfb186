from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchoolsConfig(AppConfig):
    name = "schools"
    verbose_name = _("学校与组织")

    def ready(self) -> None:
        from portal import audit
        from schools import signals  # noqa: F401  (a password change revokes the user's API token)
        from schools.models import Designation, DesignationKind, DesignationLevel, Membership, OrgUnit

        # The audit trail (portal.audit): the tree and who holds which role are configuration that moves numbers.
        audit.track(
            OrgUnit,
            [
                "code",
                "name",
                "level",
                "school_type",
                "ownership",
                "is_central",
                "is_active",
                "opened_on",
                "closed_on",
                "parent",
            ],
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
        # Designations feed count targets ("省优质园 20 所"): grants, revocations and kinds are recorded too.
        audit.track(
            DesignationKind,
            ["code", "name", "levels"],
            api_name="designation_kind",
            item_choices={"levels": DesignationLevel.choices},
        )
        audit.track(
            Designation,
            ["org_unit", "kind", "level", "granted_on", "revoked_on", "note", "revoke_note"],
            api_name="designation",
            root=lambda d: audit.key_for(OrgUnit, d.org_unit_id),
            lookup=["pk"],
            unit_field="org_unit",
        )
