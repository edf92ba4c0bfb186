"""Export jobs: small workbooks are written in the request, big ones by a Celery task.

``request_export`` is the single entry point of the web page and the API; ``run_export_job`` is
what the task calls (claims the job by a conditional update, so running it twice is harmless);
``expire_old_exports`` is the hourly clean-up.
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from plans.models import Plan
from portal import scope
from portal.scope import Perm
from reports.models import ExportJob, ExportStatus
from reports.xlsx import build_workbook, count_rows
from schools.models import OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Write progress to the job row at most every this many rows: the status page reads it, the
# writer should not spend its time updating it.
PROGRESS_EVERY = 1000


@dataclass
class ExportResult:
    """Either the finished workbook (small export) or the job that will produce it."""

    content: bytes | None = None
    filename: str = ""
    job: ExportJob | None = None


def export_filename(plan: Plan, unit: OrgUnit, period: Period | None) -> str:
    return f"{plan.code}-{unit.code}-{period.code if period else 'latest'}.xlsx"


def request_export(user: Any, plan: Plan, unit: OrgUnit, period: Period | None) -> ExportResult:
    """Export the plan's workbook for ``unit``: now if small, else as a background job.

    The caller has already found ``unit`` in the user's view scope (404 otherwise); exporting
    needs Perm.EXPORT on it (403): principals read pages but do not export.
    """
    scope.require(user, Perm.EXPORT, unit)
    rows = count_rows(plan, unit, period)
    if rows <= settings.EXPORT_ASYNC_THRESHOLD_ROWS:
        buffer = io.BytesIO()
        build_workbook(plan, unit, period, buffer)
        return ExportResult(content=buffer.getvalue(), filename=export_filename(plan, unit, period))
    from reports.tasks import export_plan_workbook_task

    with transaction.atomic():
        job = ExportJob.objects.create(
            plan=plan,
            scope=unit,
            period=period,
            requested_by=user if user.is_authenticated else None,
            rows_total=rows,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        # After commit: a worker must never look for a row that is not there yet.
        transaction.on_commit(lambda: export_plan_workbook_task.delay(job.pk))
    return ExportResult(job=job)


def run_export_job(job_id: int) -> bool:
    """Produce the workbook of a pending job; returns False when another run already claimed it."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING, started_at=now, updated_at=now, rows_done=0
    )
    if claimed != 1:
        return False
    job = ExportJob.objects.select_related("plan", "scope", "period").get(pk=job_id)
    with translation.override(job.language):
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
            rows = build_workbook(job.plan, job.scope, job.period, handle, on_progress=progress)
            handle.seek(0)
            name = default_storage.save(
                f"exports/{job.pk}-{export_filename(job.plan, job.scope, job.period)}", File(handle)
            )
    except Exception as exc:  # noqa: BLE001  (any failure must end as a visible FAILED job, not a stuck one)
        logger.exception("export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=_("生成失败：%(error)s。请稍后重试，或缩小导出范围。") % {"error": exc.__class__.__name__},
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
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


def expire_old_exports(now: datetime | None = None) -> int:
    """Delete files of jobs finished more than EXPORT_EXPIRY_HOURS ago; the rows stay as EXPIRED."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EXPORT_EXPIRY_HOURS)
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, finished_at__lt=cutoff).only("pk", "file"):
        if job.file and default_storage.exists(job.file.name):
            default_storage.delete(job.file.name)
        # Conditional: a job touched meanwhile (it cannot be, but a second beat run could) is skipped.
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file="", updated_at=timezone.now()
        )
    return expired


def visible_jobs(user: Any):
    """Jobs the user may see: those of units where they may export."""
    return scope.filter_by_scope(
        user, ExportJob.objects.select_related("plan", "scope", "period"), "scope", Perm.EXPORT
    )
