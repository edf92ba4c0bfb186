"""Due-date reminders: principals before the due date; once it has passed, the reviewers above the unit, or
the bureau admins of its scope where no reviewer covers it.

Run hourly by beat (``send-submission-reminders``). Who and when is decided here; the notification service
(a receiver of ``events.reminder_due``) writes the portal notifications and sends the e-mails. Idempotent: a
Reminder row per (unit, period, stage) is claimed in the same transaction as the reminder is announced, so a
second run — or a second worker — sends nothing, and a failed send rolls the claim back so the next run retries.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from schools.models import Level, Membership, OrgUnit, Role, ancestor_paths
from submissions import events
from submissions.models import Period, Reminder, ReminderStage, Submission, SubmissionStatus
from submissions.reporting import active_figures, reports_any

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
    candidates = list(OrgUnit.objects.filter(is_active=True).exclude(level=Level.BUREAU))
    for period in periods:
        if on > period.due_on:
            stage = ReminderStage.OVERDUE
        elif on >= period.due_on - datetime.timedelta(days=days_before):
            stage = ReminderStage.BEFORE_DUE
        else:
            continue
        # Submitted counts as done (including zero reports): the reviewer has it now.
        units = [unit for unit in candidates if reports_any(unit, figures, period)]
        done = set(Submission.objects.filter(period=period, status__in=DONE).values_list("org_unit_id", flat=True))
        sent = set(Reminder.objects.filter(period=period, stage=stage).values_list("org_unit_id", flat=True))
        result.extend(Due(unit, period, stage) for unit in units if unit.pk not in done and unit.pk not in sent)
    return result


def _recipients(dues: list[Due], usernames: dict[int, str]) -> dict[tuple[int, str], list[int]]:
    """User ids per (unit, stage): the unit's principals before the due date; once overdue, the reviewers of
    the unit's subtree, or — where no reviewer covers the unit — the bureau admins of its scope. Fills
    ``usernames`` (id → username) for the Reminder's record of who was told."""
    principals: dict[int, list[int]] = defaultdict(list)
    by_path: dict[str, dict[str, list[int]]] = {Role.REVIEWER: defaultdict(list), Role.BUREAU_ADMIN: defaultdict(list)}
    rows = Membership.objects.filter(
        role__in=[Role.PRINCIPAL, Role.REVIEWER, Role.BUREAU_ADMIN], user__is_active=True
    ).values_list("role", "org_unit_id", "org_unit__path", "user_id", "user__username")
    for role, unit_id, path, user_id, username in rows:
        usernames[user_id] = username
        if role == Role.PRINCIPAL:
            principals[unit_id].append(user_id)
        else:
            by_path[role][path].append(user_id)
    result: dict[tuple[int, str], list[int]] = {}
    for due in dues:
        if due.stage == ReminderStage.BEFORE_DUE:
            users = principals.get(due.unit.pk, [])
        else:
            paths = ancestor_paths(due.unit.path)
            users = [u for path in paths for u in by_path[Role.REVIEWER].get(path, [])]
            if not users:
                users = [u for path in paths for u in by_path[Role.BUREAU_ADMIN].get(path, [])]
        result[(due.unit.pk, due.stage)] = sorted(set(users))
    return result


def _message(due: Due) -> tuple[str, str, str]:
    """Title, body and link of a reminder."""
    if due.stage == ReminderStage.BEFORE_DUE:
        subject = _("【填报提醒】{unit} {period} 季度数据请于 {date} 前提交").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
        body = _("{unit}：{period} 季度数据尚未提交，截止日期为 {date}。请登录平台填报并提交。").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
        url = reverse("submissions:my_submissions")
    else:
        subject = _("【逾期提醒】{unit} {period} 季度数据已逾期未提交").format(
            unit=due.unit.name, period=due.period.code
        )
        body = _("{unit} 的 {period} 季度数据截止日期为 {date}，至今尚未提交，请督促填报。").format(
            unit=due.unit.name, period=due.period.code, date=due.period.due_on
        )
        url = f"{reverse('submissions:completeness')}?period={due.period.code}"
    return subject, body, url


def send_reminders(on: datetime.date | None = None, days_before: int | None = None) -> int:
    """Announce every reminder due today (``events.reminder_due``: the notification service delivers it);
    returns how many reminders went out."""
    on = on or timezone.localdate()
    days = settings.REMINDER_DAYS_BEFORE_DUE if days_before is None else days_before
    dues = due_reminders(on, days)
    usernames: dict[int, str] = {}
    recipients = _recipients(dues, usernames)
    sent = 0
    for due in dues:
        users = recipients[(due.unit.pk, due.stage)]
        if not users:
            continue  # nobody to tell yet; a principal added later still gets the reminder
        title, body, url = _message(due)
        key = f"reminder:{due.unit.pk}:{due.period.pk}:{due.stage}"
        try:
            with transaction.atomic():
                Reminder.objects.create(
                    org_unit=due.unit,
                    period=due.period,
                    stage=due.stage,
                    recipients=",".join(usernames[u] for u in users),
                )
                events.reminder_due.send(
                    sender=Reminder, user_ids=users, stage=due.stage, title=title, body=body, url=url, key=key
                )
        except IntegrityError:
            continue  # another worker claimed it
        except Exception:  # noqa: BLE001  (mail server down: the claim rolled back, the next run retries)
            logger.warning("reminder %s/%s/%s not sent", due.unit.code, due.period.code, due.stage, exc_info=True)
            continue
        sent += 1
    return sent
