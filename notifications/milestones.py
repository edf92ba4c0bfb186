"""Milestones due: tell a milestone's owner when its due day is near (``MILESTONE_REMINDER_DAYS``) or has passed.

Run hourly by beat (``send-milestone-reminders``, the task ``notifications.tasks.send_milestone_reminders_task``,
beside the submissions' due-date reminders: that task lives in ``submissions``, which may not import targets or
notifications). The due day is ``targets.progress.milestone_window``'s (the due date, else the end of the due month,
else the end of the due period); done means done as ``targets/progress.py`` judges it (completed on or before
today, or an undated "done"). Owners: the target's ``owner_user``, else the principals and bureau admins of its
``owner_unit``. Each owner gets one notification per milestone, kind and due day (keyed: a rerun, or a second
worker, sends nothing twice; a moved due day is news). Users who left (inactive) are skipped and logged; a failure
for one milestone is logged and the run goes on with the next.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Kind
from notifications.services import notify
from plans.models import PlanStatus
from schools.models import Membership, Role
from targets.models import MilestoneStatus, Target, TargetKind
from targets.progress import milestone_window

logger = logging.getLogger(__name__)

OWNER_ROLES = (Role.PRINCIPAL, Role.BUREAU_ADMIN)


@dataclass(frozen=True)
class MilestoneDue:
    target: Target
    due: datetime.date
    kind: str  # Kind.MILESTONE_DUE or Kind.MILESTONE_OVERDUE

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.target.pk}:{self.due.isoformat()}"


def _is_done(target: Target, on: datetime.date) -> bool:
    if target.completed_on is not None:
        return target.completed_on <= on
    return target.milestone_status == MilestoneStatus.DONE


def due_milestones(on: datetime.date, days: int) -> list[MilestoneDue]:
    """Not-done milestones of published plans (this year's and last year's) due within ``days`` of ``on`` or past
    due; one query."""
    targets = Target.objects.filter(
        kind=TargetKind.MILESTONE, plan__status=PlanStatus.PUBLISHED, plan__year__gte=on.year - 1
    ).select_related("plan", "due_period", "owner_unit")
    result = []
    for target in targets.order_by("pk"):
        _start, due = milestone_window(target)
        if due is None or _is_done(target, on) or due > on + datetime.timedelta(days=days):
            continue
        result.append(MilestoneDue(target, due, Kind.MILESTONE_OVERDUE if due < on else Kind.MILESTONE_DUE))
    return result


def _owners(items: list[MilestoneDue]) -> dict[int, set[int]]:
    """{target id: owner user ids}: the owner user, else the principals and bureau admins of the owner unit."""
    unit_ids = {i.target.owner_unit_id for i in items if i.target.owner_user_id is None and i.target.owner_unit_id}
    by_unit: dict[int, set[int]] = defaultdict(set)
    for unit_id, user_id in Membership.objects.filter(org_unit_id__in=unit_ids, role__in=OWNER_ROLES).values_list(
        "org_unit_id", "user_id"
    ):
        by_unit[unit_id].add(user_id)
    owners: dict[int, set[int]] = {}
    for item in items:
        target = item.target
        if target.owner_user_id is not None:
            owners[target.pk] = {target.owner_user_id}
        elif target.owner_unit_id is not None:
            owners[target.pk] = set(by_unit.get(target.owner_unit_id, set()))
        else:
            owners[target.pk] = set()
    return owners


def _text(item: MilestoneDue) -> tuple[str, str]:
    target = item.target
    names = {"target": target.text[:80], "plan": target.plan.title, "due": item.due.isoformat()}
    if item.kind == Kind.MILESTONE_OVERDUE:
        title = _("里程碑已逾期：{target}").format(**names)
        body = _("{plan}：里程碑应于 {due} 完成，尚未完成。请更新进展或说明原因。").format(**names)
    else:
        title = _("里程碑即将到期：{target}").format(**names)
        body = _("{plan}：里程碑应于 {due} 完成。请按时推进并更新进展。").format(**names)
    return title, body


def send_milestone_reminders(on: datetime.date | None = None, days: int | None = None) -> int:
    """Tell owners of milestones due soon or overdue; returns how many notifications were written."""
    on = on or timezone.localdate()
    days = settings.MILESTONE_REMINDER_DAYS if days is None else days
    items = due_milestones(on, days)
    if not items:
        return 0
    owners = _owners(items)
    everyone = set().union(*owners.values())
    inactive = set(get_user_model().objects.filter(pk__in=everyone, is_active=False).values_list("pk", flat=True))
    written = 0
    with translation.override(settings.LANGUAGE_CODE):
        for item in items:
            users = owners[item.target.pk]
            for user_id in sorted(users & inactive):
                logger.warning("milestone reminder %s: owner %s has left (inactive), skipped", item.key, user_id)
            users -= inactive
            if not users:
                logger.info("milestone reminder %s: no active owner to tell", item.key)
                continue
            title, body = _text(item)
            try:
                written += notify(users, item.kind, title, body, item.target.get_absolute_url(), item.key).created
            except Exception:  # noqa: BLE001  (one milestone's failure must not stop the others)
                logger.exception("milestone reminder %s failed", item.key)
    return written
