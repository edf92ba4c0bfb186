from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("工作要点")

    def ready(self) -> None:
        # The audit trail (portal.audit): the plan's structure; sections and work items show on the plan's page.
        from plans.models import Plan, Section, WorkItem
        from portal import audit

        audit.track(
            Plan, ["code", "title", "year", "owner_unit", "parent", "status"], api_name="plan", unit_field="owner_unit"
        )
        audit.track(
            Section,
            ["code", "title", "order"],
            api_name="section",
            root=lambda s: audit.key_for(Plan, s.plan_id),
            lookup=["plan__code", "code"],
            unit_field="plan__owner_unit",
        )
        audit.track(
            WorkItem,
            ["section", "number", "title"],
            api_name="work_item",
            root=lambda w: audit.key_for(Plan, w.section.plan_id),
            lookup=["pk"],
            unit_field="section__plan__owner_unit",
        )
