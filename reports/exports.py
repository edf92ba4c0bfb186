"""Export jobs, the work itself: ``run_export_job`` is what the task calls (claims the job by a conditional
update, so running it twice is harmless); ``expire_old_exports`` is the hourly clean-up;
``jobs_to_requeue`` and ``fail_stuck_jobs`` keep a job from waiting forever when the broker lost its message or
its worker died. Requesting an export (and enqueueing it) is ``reports.dispatch``'s job.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from plans.models import Plan
from portal import scope
from portal.db_router import use_replica
from portal.scope import Perm
from reports import drilldown, events
from reports.bulletin import job as bulletin_job
from reports.models import ExportJob, ExportKind, ExportStatus
from reports.xlsx import build_workbook
from schools.models import OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

# Write progress to the job row at most every this many rows: the status page reads it, the
# writer should not spend its time updating it.
PROGRESS_EVERY = 1000


def export_filename(plan: Plan, unit: OrgUnit, period: Period | None) -> str:
    return f"{plan.code}-{unit.code}-{period.code if period else 'latest'}.xlsx"


def job_filename(job: ExportJob) -> str:
    """The download name of a job's file: the workbook's, or the drill-down's as the page names it."""
    if job.kind == ExportKind.DRILLDOWN and job.target is not None:
        return drilldown.filename(job.target, job.scope, job.params.get("format", "xlsx"))
    if job.kind == ExportKind.BULLETIN:
        return bulletin_job.filename(job, "docx")
    return export_filename(job.plan, job.scope, job.period)


def _write(job: ExportJob, handle: Any, progress: Any) -> int:
    """Write the job's file into ``handle``; returns its data rows."""
    if job.kind == ExportKind.DRILLDOWN:
        if job.target is None or job.requested_by is None:
            raise ValueError("drill-down export without its target or requester")
        table = drilldown.drilldown_table(job.requested_by, job.target, job.scope, job.period, job.params)
        return drilldown.write(table, job.params.get("format", "xlsx"), handle)
    return build_workbook(job.plan, job.scope, job.period, handle, on_progress=progress)


def run_export_job(job_id: int) -> bool:
    """Produce the workbook of a pending job; returns False when another run already claimed it."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING, started_at=now, updated_at=now, rows_done=0
    )
    if claimed != 1:
        return False
    job = ExportJob.objects.select_related(
        "plan", "scope", "period", "target__plan", "target__indicator", "requested_by"
    ).get(pk=job_id)
    with translation.override(job.language):
        if job.kind == ExportKind.BULLETIN:
            bulletin_job.build(job)
            _announce(job_id)
        else:
            _build(job)
    return True


def _build(job: ExportJob) -> None:
    """Write a claimed job's workbook (in the active language) and record DONE or FAILED."""
    job_id = job.pk
    last_saved = 0

    def progress(rows_done: int) -> None:
        nonlocal last_saved
        if rows_done - last_saved >= PROGRESS_EVERY:
            ExportJob.objects.filter(pk=job_id).update(rows_done=rows_done, updated_at=timezone.now())
            last_saved = rows_done

    try:
        # Spooled: small files stay in memory, big ones go to a temporary file, never both.
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as handle:
            # The export's reads go to the read replica when configured; the job's own rows stay on default.
            with use_replica():
                rows = _write(job, handle, progress)
            handle.seek(0)
            name = default_storage.save(f"exports/{job.pk}-{job_filename(job)}", File(handle))
    except Exception as exc:  # noqa: BLE001  (any failure must end as a visible FAILED job, not a stuck one)
        logger.exception("export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=_("生成失败：%(error)s。请稍后重试，或缩小导出范围。") % {"error": exc.__class__.__name__},
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        _announce(job_id)
        return
    done = timezone.now()
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.DONE,
        file=name,
        rows_done=rows,
        rows_total=max(rows, job.rows_total),
        finished_at=done,
        updated_at=done,
    )
    _announce(job_id)


def _announce(job_id: int) -> None:
    """Tell the layers above that the job finished; a failing receiver never fails the job."""
    job = ExportJob.objects.select_related("plan", "scope", "period", "requested_by").get(pk=job_id)
    for receiver, result in events.export_finished.send_robust(sender=ExportJob, job=job):
        if isinstance(result, Exception):
            logger.error("export job %s: receiver %s failed", job_id, receiver, exc_info=result)


def expire_old_exports(now: datetime | None = None) -> int:
    """Delete files of jobs finished more than EXPORT_EXPIRY_HOURS ago; the rows stay as EXPIRED."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EXPORT_EXPIRY_HOURS)
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, finished_at__lt=cutoff).only(
        "pk", "file", "pdf_file"
    ):
        for stored in (job.file, job.pdf_file):  # a bulletin's PDF goes with its .docx
            if stored and default_storage.exists(stored.name):
                default_storage.delete(stored.name)
        # Conditional: a job touched meanwhile (it cannot be, but a second beat run could) is skipped.
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file="", pdf_file="", updated_at=timezone.now()
        )
    return expired


def visible_jobs(user: Any):
    """Jobs the user may see: those of units where they may export."""
    return scope.filter_by_scope(
        user, ExportJob.objects.select_related("plan", "scope", "period"), "scope", Perm.EXPORT
    )


# A pending job whose message never arrived (broker down when it was requested) is sent again after this.
REQUEUE_AFTER = timedelta(minutes=1)


def jobs_to_requeue(now: datetime | None = None) -> list[int]:
    """Pending jobs older than a minute: their message was lost; the sweep sends them again."""
    cutoff = (now or timezone.now()) - REQUEUE_AFTER
    return list(
        ExportJob.objects.filter(status=ExportStatus.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)[:100]
    )


def fail_stuck_jobs(now: datetime | None = None) -> int:
    """Running jobs past the task time limit: their worker died. Marked failed, so the page stops polling."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return ExportJob.objects.filter(status=ExportStatus.RUNNING, started_at__lt=cutoff).update(
        status=ExportStatus.FAILED,
        error=_("生成超时（后台任务已中断）。请重新导出。"),
        finished_at=now,
        updated_at=now,
    )
