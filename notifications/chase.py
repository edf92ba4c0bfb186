"""催报: a reviewer (or bureau admin) chases units that have not submitted a period yet.

The reminder goes to the unit's principals through ``notify`` with the deadline reminders' kinds (due soon
before the due date, overdue after it). Its key names the unit, the period and the day, so a unit is chased at
most once a day; the Notification rows are the record of who chased whom. Scope: the units must be in the
user's review scope (``portal.scope``). This lives in ``notifications`` (above ``submissions``) because the
once-a-day check reads the notification rows.

全部催报 (every unit not submitted) runs in the background: the page counts the units and enqueues
``notifications.tasks.chase_all_task``, which calls ``chase_all`` — the same ``chase`` as a single unit — and tells
the requester what was done through ``notify`` (sent, already chased today, nobody to tell). A rerun the same day
sends nothing twice (the per-unit keys of ``key_for``) and the requester's result is keyed by the task's id.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Kind, Notification
from notifications.services import notify
from portal import scope
from portal.scope import Perm
from schools.models import Level, Membership, OrgUnit, Role
from submissions.models import Period, Submission, SubmissionStatus
from submissions.validation import active_figures, reports_any_q

logger = logging.getLogger(__name__)

DONE = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)
# Unit names spelled out in a message; the rest are counted.
NAMES_SHOWN = 10


@dataclass
class ChaseResult:
    """Units told now, units already chased today, units with nobody to tell, units that need no chasing."""

    sent: list[OrgUnit] = field(default_factory=list)
    already: list[OrgUnit] = field(default_factory=list)
    nobody: list[OrgUnit] = field(default_factory=list)
    done: list[OrgUnit] = field(default_factory=list)


def key_for(unit: OrgUnit, period: Period, on: datetime.date) -> str:
    return f"chase:{unit.pk}:{period.pk}:{on.isoformat()}"


def chaseable_units(user: Any, period: Period) -> QuerySet[OrgUnit]:
    """Active units in ``user``'s review scope that report a figure and have not submitted ``period`` (the
    completeness board's "not submitted" list, narrowed to the units the user may review)."""
    submitted = Submission.objects.filter(period=period, status__in=DONE).values("org_unit_id")
    return (
        scope.visible_units(user, Perm.REVIEW)
        .filter(is_active=True)
        .exclude(level=Level.BUREAU)
        .filter(reports_any_q(active_figures()))
        .exclude(pk__in=submitted)
        .order_by("path")
    )


def _message(unit: OrgUnit, period: Period, on: datetime.date) -> tuple[str, str, str]:
    """Kind, title and body of a chase (in the portal's default language: the recipients' is not known)."""
    names = {"unit": unit.name, "period": period.code, "date": period.due_on}
    with translation.override(settings.LANGUAGE_CODE):
        title = _("【催报】{unit} {period} 季度数据尚未提交").format(**names)
        if on > period.due_on:
            body = _("{unit} 的 {period} 季度数据截止日期为 {date}，已逾期。请尽快登录平台填报并提交。").format(**names)
        else:
            body = _("{unit}：{period} 季度数据尚未提交，截止日期为 {date}。请登录平台填报并提交。").format(**names)
    return (Kind.OVERDUE if on > period.due_on else Kind.DUE_SOON), title, body


def chase(user: Any, period: Period, units: list[OrgUnit], on: datetime.date | None = None) -> ChaseResult:
    """Remind the principals of each of ``units`` (already checked to be in ``user``'s review scope) to submit
    ``period``. A fixed number of queries plus one ``notify`` per unit told."""
    on = on or timezone.localdate()
    result = ChaseResult()
    ids = [unit.pk for unit in units]
    submitted = set(
        Submission.objects.filter(period=period, status__in=DONE, org_unit_id__in=ids).values_list(
            "org_unit_id", flat=True
        )
    )
    keys = {unit.pk: key_for(unit, period, on) for unit in units}
    chased = set(Notification.objects.filter(key__in=list(keys.values())).values_list("key", flat=True))
    principals: dict[int, list[int]] = defaultdict(list)
    for unit_id, user_id in Membership.objects.filter(
        org_unit_id__in=ids, role=Role.PRINCIPAL, user__is_active=True
    ).values_list("org_unit_id", "user_id"):
        principals[unit_id].append(user_id)
    url = reverse("submissions:my_submissions")
    for unit in units:
        if unit.pk in submitted:
            result.done.append(unit)
        elif keys[unit.pk] in chased:
            result.already.append(unit)
        elif not principals.get(unit.pk):
            result.nobody.append(unit)
        else:
            kind, title, body = _message(unit, period, on)
            notify(principals[unit.pk], kind, title, body, url, keys[unit.pk])
            result.sent.append(unit)
    return result


def names(units: list[OrgUnit]) -> str:
    """Unit names for a message; a long list is cut with the count of the rest."""
    text = "、".join(unit.name for unit in units[:NAMES_SHOWN])
    if len(units) > NAMES_SHOWN:
        text += _("等 {n} 个").format(n=len(units))
    return text


def chase_all(requester_id: int, period_id: int, on: datetime.date, key: str) -> ChaseResult | None:
    """The background 全部催报: chase every unit ``chaseable_units`` finds for the requester (their review scope
    as it is when the job runs) and tell the requester the outcome. ``key`` names the result notification (the
    task's id: a redelivered task tells nobody twice). A requester who left or lost the review permission, or a
    period that is gone, ends the job with a log line and nothing sent (None)."""
    requester = get_user_model().objects.filter(pk=requester_id, is_active=True).first()
    period = Period.objects.filter(pk=period_id).first()
    if requester is None or period is None or not scope.has_perm(requester, Perm.REVIEW):
        logger.warning("chase of all units skipped: requester %s or period %s gone or not a reviewer",
                       requester_id, period_id)  # fmt: skip
        return None
    result = chase(requester, period, list(chaseable_units(requester, period)), on)
    logger.info(
        "chase of %s by user %s: %s sent, %s already chased today, %s without a principal",
        period.code, requester_id, len(result.sent), len(result.already), len(result.nobody),
    )  # fmt: skip
    with translation.override(settings.LANGUAGE_CODE):
        title = _("催报完成：{period} 已向 {n} 个单位发送催报").format(period=period.code, n=len(result.sent))
        lines = []
        if result.sent:
            lines.append(_("已催报：{names}。").format(names=names(result.sent)))
        if result.already:
            lines.append(
                _("今天已催报过，本次跳过 {n} 个单位：{names}。").format(
                    n=len(result.already), names=names(result.already)
                )
            )
        if result.nobody:
            lines.append(_("没有可接收催报的校长账号：{names}。").format(names=names(result.nobody)))
        if not (result.sent or result.already or result.nobody):
            lines.append(_("范围内没有未提交的单位。"))
    board = f"{reverse('submissions:completeness')}?period={period.code}"
    notify([requester], Kind.CHASE_DONE, title, "\n".join(lines), board, key)
    return result
