"""How notifications learn what happened: receivers of the signals the apps below send.

Workflow steps are announced inside their transaction; the notification is written after commit, so a step
that rolls back tells nobody. Reminders are delivered inside the reminder's claim (an e-mail failure rolls the
claim back and the next hourly run retries). Finished exports are announced after the job row is updated.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.models import Kind
from notifications.services import notify
from reports import events as report_events
from reports.models import ExportJob, ExportStatus
from schools.models import Membership, Role
from submissions import events as submission_events
from submissions.models import HistoryAction, ReminderStage, Submission

TRANSITION_KINDS = {
    HistoryAction.RETURN: Kind.RETURNED,
    HistoryAction.APPROVE: Kind.APPROVED,
    HistoryAction.REOPEN: Kind.REOPENED,
}


def notify_transition(submission_id: int, action: str, note: str, actor_id: int | None) -> None:
    """Tell the unit's principals (and whoever submitted) that their submission was returned, approved or
    reopened; the one who did it is not told."""
    submission = Submission.objects.select_related("org_unit", "period").get(pk=submission_id)
    users = set(
        Membership.objects.filter(org_unit_id=submission.org_unit_id, role=Role.PRINCIPAL).values_list(
            "user_id", flat=True
        )
    )
    if submission.submitted_by_id:
        users.add(submission.submitted_by_id)
    users.discard(actor_id)
    names = {"unit": submission.org_unit.name, "period": submission.period.code}
    kind = TRANSITION_KINDS[action]
    if kind == Kind.RETURNED:
        title = _("{unit} {period} 填报被退回").format(**names)
        body = _("退回原因：{reason}\n请按原因修改后重新提交。").format(reason=note)
    elif kind == Kind.APPROVED:
        title = _("{unit} {period} 填报已审核通过").format(**names)
        body = ""
    else:
        title = _("{unit} {period} 填报已重新打开").format(**names)
        body = _("重新打开原因：{reason}\n请修改后重新提交。").format(reason=note)
    notify(
        users,
        kind,
        title,
        body,
        submission.get_absolute_url(),
        key=f"submission:{submission.pk}:{action}:{submission.version}",
    )


@receiver(submission_events.submission_transitioned, dispatch_uid="notifications.transition")
def on_transition(sender: Any, submission: Submission, action: str, note: str, user: Any, **kwargs: Any) -> None:
    if action not in TRANSITION_KINDS:
        return
    actor_id = getattr(user, "pk", None)
    submission_id = submission.pk
    transaction.on_commit(lambda: notify_transition(submission_id, action, note, actor_id), robust=True)


@receiver(submission_events.reminder_due, dispatch_uid="notifications.reminder")
def on_reminder(
    sender: Any, user_ids: list[int], stage: str, title: str, body: str, url: str, key: str, **kwargs: Any
) -> None:
    kind = Kind.DUE_SOON if stage == ReminderStage.BEFORE_DUE else Kind.OVERDUE
    notify(user_ids, kind, title, body, url, key, raise_mail_errors=True)


@receiver(report_events.export_finished, dispatch_uid="notifications.export")
def on_export_finished(sender: Any, job: ExportJob, **kwargs: Any) -> None:
    """Tell whoever asked for a background export that it is ready (or failed), in the language they asked in."""
    if job.requested_by_id is None:
        return
    names = {"plan": job.plan.title, "scope": job.scope.name}
    with translation.override(job.language):
        if job.status == ExportStatus.DONE:
            kind, title, body = Kind.EXPORT_DONE, _("导出已完成：{plan} · {scope}").format(**names), ""
        else:
            kind, title, body = Kind.EXPORT_FAILED, _("导出失败：{plan} · {scope}").format(**names), job.error
    notify([job.requested_by_id], kind, title, body, job.get_absolute_url(), key=f"export:{job.pk}:{job.status}")
