"""Due-date reminders: principals before the due date, their reviewers once it has passed.

Run hourly by beat (``send-submission-reminders``). Idempotent: a Reminder row per (unit, period,
stage) is claimed in the same transaction as the e-mail is sent, so a second run — or a second
worker — sends nothing, and a failed send rolls the claim back so the next run retries.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from schools.models import Level, Membership, OrgUnit, Role, ancestor_paths
from submissions.models import Period, Reminder, ReminderStage, Submission, SubmissionStatus
from submissions.validation import active_figures, applies_to

logger = logging.getLogger(__name__)

DONE = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)


@dataclass(frozen=True)
class Due:
    unit: OrgUnit
    period: Period
    stage: str


def due_reminders(on: datetime.date, days_before: int) -> list[Due]:
    """Which (unit, period, stage) reminders are due on ``on`` and not sent yet (a fixed number of queries)."""
    result: list[Due] = []
    periods = list(Period.objects.filter(opens_on__lte=on, locks_on__gte=on))
    if not periods:
        return result
    figures = active_figures()
    units = [
        unit
        for unit in OrgUnit.objects.filter(is_active=True).exclude(level=Level.BUREAU)
        if any(applies_to(figure, unit) for figure in figures)
    ]
    for period in periods:
        if on > period.due_on:
            stage = ReminderStage.OVERDUE
        elif on >= period.due_on - datetime.timedelta(days=days_before):
            stage = ReminderStage.BEFORE_DUE
        else:
            continue
        # Submitted counts as done (including zero reports): the reviewer has it now.
        done = set(Submission.objects.filter(period=period, status__in=DONE).values_list("org_unit_id", flat=True))
        sent = set(Reminder.objects.filter(period=period, stage=stage).values_list("org_unit_id", flat=True))
        result.extend(Due(unit, period, stage) for unit in units if unit.pk not in done and unit.pk not in sent)
    return result


def _recipients(dues: list[Due]) -> dict[tuple[int, str], list[str]]:
    """E-mail addresses per (unit, stage): the unit's principals, or the reviewers above it once overdue."""
    principals: dict[int, list[str]] = defaultdict(list)
    reviewers: dict[str, list[str]] = defaultdict(list)
    rows = Membership.objects.filter(role__in=[Role.PRINCIPAL, Role.REVIEWER], user__is_active=True).values_list(
        "role", "org_unit_id", "org_unit__path", "user__email"
    )
    for role, unit_id, path, email in rows:
        if not email:
            continue
        if role == Role.PRINCIPAL:
            principals[unit_id].append(email)
        else:
            reviewers[path].append(email)
    result: dict[tuple[int, str], list[str]] = {}
    for due in dues:
        if due.stage == ReminderStage.BEFORE_DUE:
            emails = principals.get(due.unit.pk, [])
        else:
            emails = [e for path in ancestor_paths(due.unit.path) for e in reviewers.get(path, [])]
        result[(due.unit.pk, due.stage)] = sorted(set(emails))
    return result


def _message(due: Due, to: list[str]) -> EmailMessage:
    if due.stage == ReminderStage.BEFORE_DUE:
        subject = _("【填报提醒】{unit} {period} 季度数据请于 {date} 前提交").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
        body = _("{unit}：{period} 季度数据尚未提交，截止日期为 {date}。请登录平台填报并提交。").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
    else:
        subject = _("【逾期提醒】{unit} {period} 季度数据已逾期未提交").format(
            unit=due.unit.name, period=due.period.code
        )
        body = _("{unit} 的 {period} 季度数据截止日期为 {date}，至今尚未提交，请督促填报。").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def send_reminders(on: datetime.date | None = None, days_before: int | None = None) -> int:
    """Send every reminder due today; returns how many e-mails went out."""
    on = on or timezone.localdate()
    days = settings.REMINDER_DAYS_BEFORE_DUE if days_before is None else days_before
    dues = due_reminders(on, days)
    recipients = _recipients(dues)
    sent = 0
    for due in dues:
        to = recipients[(due.unit.pk, due.stage)]
        if not to:
            continue  # nobody to tell yet; a principal added later still gets the reminder
        try:
            with transaction.atomic():
                Reminder.objects.create(org_unit=due.unit, period=due.period, stage=due.stage, recipients=",".join(to))
                _message(due, to).send()
        except IntegrityError:
            continue  # another worker claimed it
        except Exception:  # noqa: BLE001  (mail server down: the claim rolled back, the next run retries)
            logger.warning("reminder %s/%s/%s not sent", due.unit.code, due.period.code, due.stage, exc_info=True)
            continue
        sent += 1
    return sent
