"""How notifications learn what happened: receivers of the signals the apps below send.

Workflow steps are announced inside their transaction; the notification is written after commit, so a step
that rolls back tells nobody. Reminders are delivered inside the reminder's claim (an e-mail failure rolls the
claim back and the next hourly run retries). Finished exports are announced after the job row is updated.
New indicator values are announced after commit; this app is installed after ``targets``, so its receiver runs
after the targets' progress has followed them, and tells each owner of a target now off track (once a quarter).

Texts are written in the portal's default language (the recipient's language is not known), except an export's,
which is in the language its requester asked in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

from indicators import events as indicator_events
from notifications.models import Kind, Notification
from notifications.services import notify
from reports import events as report_events
from reports.models import ExportJob, ExportKind, ExportStatus
from schools.models import Membership, Role, ancestor_paths
from submissions import events as submission_events
from submissions.models import HistoryAction, Period, ReminderStage, Submission
from targets.models import Progress, ProgressStatus

logger = logging.getLogger(__name__)

TRANSITION_KINDS: dict[str, str] = {
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
    if actor_id is not None:
        users.discard(actor_id)
    names = {"unit": submission.org_unit.name, "period": submission.period.code}
    kind = TRANSITION_KINDS[action]
    with translation.override(settings.LANGUAGE_CODE):
        title, body = _transition_text(kind, names, note)
    notify(
        users,
        kind,
        title,
        body,
        submission.get_absolute_url(),
        key=f"submission:{submission.pk}:{action}:{submission.version}",
    )


def _transition_text(kind: str, names: dict[str, str], note: str) -> tuple[str, str]:
    if kind == Kind.RETURNED:
        title = _("{unit} {period} 填报被退回").format(**names)
        body = _("退回原因：{reason}\n请按原因修改后重新提交。").format(reason=note)
    elif kind == Kind.APPROVED:
        title = _("{unit} {period} 填报已审核通过").format(**names)
        body = ""
    else:
        title = _("{unit} {period} 填报已重新打开").format(**names)
        body = _("重新打开原因：{reason}\n请修改后重新提交。").format(reason=note)
    return title, body


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
    """Tell whoever asked for a background export that it is ready (or failed), in the language they asked in.
    A scheduled bulletin has no requester: the bureau administrators and inspectors of its scope are told."""
    if job.kind == ExportKind.BULLETIN:
        _bulletin_finished(job)
        return
    if job.requested_by_id is None:
        return
    names = {"plan": job.plan.title, "scope": job.scope.name}
    with translation.override(job.language):
        if job.status == ExportStatus.DONE:
            kind, title, body = Kind.EXPORT_DONE, _("导出已完成：{plan} · {scope}").format(**names), ""
        else:
            kind, title, body = Kind.EXPORT_FAILED, _("导出失败：{plan} · {scope}").format(**names), job.error
    notify([job.requested_by_id], kind, title, body, job.get_absolute_url(), key=f"export:{job.pk}:{job.status}")


def _bulletin_finished(job: ExportJob) -> None:
    if job.requested_by_id is not None:
        user_ids: list[int] = [job.requested_by_id]
    else:
        user_ids = list(
            Membership.objects.filter(
                org_unit__path__in=ancestor_paths(job.scope.path),
                role__in=[Role.BUREAU_ADMIN, Role.INSPECTOR],
                user__is_active=True,
            )
            .values_list("user_id", flat=True)
            .distinct()
        )
    names = {"plan": job.plan.title, "scope": job.scope.name, "period": job.period.code if job.period else ""}
    with translation.override(job.language):
        if job.status == ExportStatus.DONE:
            kind = Kind.EXPORT_DONE
            title = _("进展通报已生成：{plan} · {scope} · {period}").format(**names)
            body = job.note  # "PDF 未生成：…" when LibreOffice could not make the PDF
        else:
            kind = Kind.EXPORT_FAILED
            title = _("进展通报生成失败：{plan} · {scope} · {period}").format(**names)
            body = job.error
    notify(user_ids, kind, title, body, job.get_absolute_url(), key=f"export:{job.pk}:{job.status}")


def notify_off_track(
    period_ids: Iterable[int] | None, indicator_ids: Iterable[int] | None, unit_ids: Iterable[int] | None = None
) -> int:
    """Tell the owner (``Target.owner_user``) of each target whose own row is off track in these periods (the
    current one when None); once per target and quarter. Returns how many targets were announced.

    ``unit_ids`` (after an approval: the unit and its ancestors, the only units whose values changed): only the
    targets scoped on one of them can have fallen behind. Owners already told (their notification's key exists)
    are left out in the query, so an approval costs a fixed number of queries however many targets lag."""
    if period_ids is None:
        period = Period.objects.current()
        period_ids = [period.pk] if period else []
    rows = Progress.objects.filter(
        period_id__in=list(period_ids),
        status=ProgressStatus.OFF_TRACK,
        org_unit_id=F("target__scope_id"),
        target__owner_user__isnull=False,
    )
    if indicator_ids is not None:
        rows = rows.filter(target__indicator_id__in=list(indicator_ids))
    if unit_ids is not None:
        rows = rows.filter(org_unit_id__in=list(unit_ids))
    told = Notification.objects.filter(
        user_id=OuterRef("target__owner_user_id"),
        key=Concat(
            Value("off_track:"),
            Cast(OuterRef("target_id"), CharField()),
            Value(":"),
            Cast(OuterRef("period_id"), CharField()),
        ),
    )
    rows = rows.exclude(Exists(told)).select_related("target", "target__plan", "period", "org_unit")
    announced = 0
    with translation.override(settings.LANGUAGE_CODE):
        for row in rows:
            target = row.target
            title = _("目标滞后：{target}").format(target=target.text[:80])
            body = _("{plan} · {unit} · {period}：进展滞后，请说明原因并采取措施。").format(
                plan=target.plan.title, unit=row.org_unit.name, period=row.period.code
            )
            key = f"off_track:{target.pk}:{row.period_id}"
            announced += notify(
                [target.owner_user_id], Kind.OFF_TRACK, title, body, target.get_absolute_url(), key
            ).created
    return announced


@receiver(indicator_events.values_changed, dispatch_uid="notifications.off_track")
def on_values_changed(
    sender: Any,
    period_ids: Iterable[int] | None = None,
    indicator_ids: Iterable[int] | None = None,
    unit_ids: Iterable[int] | None = None,
    **kwargs: Any,
) -> None:
    # The signal is sent with ``send``: a failure here must not fail the recompute task.
    try:
        notify_off_track(period_ids, indicator_ids, unit_ids)
    except Exception:  # noqa: BLE001
        logger.exception("off-track notifications failed")
