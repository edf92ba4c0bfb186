"""Running a claimed bulletin job (``reports.exports.run_export_job`` hands it here): the four steps
收集数据 / 绘制图表 / 生成 Word / 转换 PDF, each written to the job row as it starts so its page can show it.

A failure before the .docx is stored fails the job (logged, its page and notification say so). A PDF that
cannot be made does not: the job is DONE with its .docx and ``note`` says "PDF 未生成：<reason>".
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from plans.models import Plan
from portal.db_router import use_replica
from reports.bulletin import content as bulletin_content
from reports.bulletin import docx_writer, pdf
from reports.models import BulletinStep, ExportJob, ExportKind, ExportStatus
from schools.models import OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

STEPS = [BulletinStep.COLLECT, BulletinStep.CHARTS, BulletinStep.DOCX, BulletinStep.PDF]


def new_job(
    plan: Plan,
    scope: OrgUnit,
    period: Period | None,
    *,
    language: str,
    requested_by: Any = None,
    scheduled: bool = False,
) -> ExportJob:
    """Record a pending bulletin job (on demand or scheduled): what both ways of asking for one store."""
    return ExportJob.objects.create(
        kind=ExportKind.BULLETIN,
        plan=plan,
        scope=scope,
        period=period,
        requested_by=requested_by,
        scheduled=scheduled,
        rows_total=len(STEPS),
        language=language,
    )


def filename(job: ExportJob, extension: str) -> str:
    period = job.period.code if job.period else "latest"
    return f"{job.plan.code}-{job.scope.code}-{period}-bulletin.{extension}"


def _step(job_id: int, step: BulletinStep) -> None:
    ExportJob.objects.filter(pk=job_id).update(
        step=step, rows_done=STEPS.index(step), rows_total=len(STEPS), updated_at=timezone.now()
    )


def build(job: ExportJob) -> None:
    """Produce a claimed bulletin job's .docx (and PDF) and record DONE or FAILED; never raises."""
    job_id = job.pk
    try:
        _step(job_id, BulletinStep.COLLECT)
        with use_replica():
            content = bulletin_content.gather(job.plan, job.scope, job.period)
        _step(job_id, BulletinStep.CHARTS)
        drawn = docx_writer.draw_charts(content)
        _step(job_id, BulletinStep.DOCX)
        buffer = io.BytesIO()
        docx_writer.write_docx(content, buffer, drawn)
        docx = buffer.getvalue()
        name = default_storage.save(f"exports/{job_id}-{filename(job, 'docx')}", ContentFile(docx))
    except Exception as exc:  # noqa: BLE001  (any failure must end as a visible FAILED job, not a stuck one)
        logger.exception("bulletin job %s failed", job_id)
        now = timezone.now()
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=_("进展通报生成失败：%(error)s。请稍后重试。") % {"error": exc.__class__.__name__},
            finished_at=now,
            updated_at=now,
        )
        return
    ExportJob.objects.filter(pk=job_id).update(file=name)
    _step(job_id, BulletinStep.PDF)
    pdf_name, note = "", ""
    try:
        pdf_name = default_storage.save(f"exports/{job_id}-{filename(job, 'pdf')}", ContentFile(pdf.convert(docx)))
    except pdf.PdfError as exc:
        logger.warning("bulletin job %s: no PDF: %s", job_id, exc)
        note = _("PDF 未生成：%(reason)s") % {"reason": exc}
    done = timezone.now()
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.DONE,
        pdf_file=pdf_name,
        note=note,
        step="",
        rows_done=len(STEPS),
        rows_total=len(STEPS),
        finished_at=done,
        updated_at=done,
    )
