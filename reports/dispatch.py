"""Requesting an export: small workbooks are written in the request, big ones become a job for a Celery task.

``request_export`` is the single entry point of the web page and the API. A job is recorded first and enqueued
after commit; when the broker is down the job stays pending and the sweep (``reports.tasks``) sends it again, so
the request never fails for it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation

from plans.models import Plan
from portal import scope
from portal.db_router import use_replica
from portal.scope import Perm
from reports import drilldown, exports
from reports.bulletin import job as bulletin_job
from reports.models import ExportJob, ExportKind
from reports.tasks import export_plan_workbook_task
from reports.xlsx import build_workbook, count_rows
from schools.models import OrgUnit
from submissions.models import Period
from targets.models import Target

logger = logging.getLogger(__name__)


@dataclass
class ExportResult:
    """Either the finished workbook (small export) or the job that will produce it."""

    content: bytes | None = None
    filename: str = ""
    job: ExportJob | None = None


def request_export(user: Any, plan: Plan, unit: OrgUnit, period: Period | None) -> ExportResult:
    """Export the plan's workbook for ``unit``: now if small, else as a background job.

    The caller has already found ``unit`` in the user's view scope (404 otherwise); exporting
    needs Perm.EXPORT on it (403): principals read pages but do not export.
    """
    scope.require(user, Perm.EXPORT, unit)
    rows = count_rows(plan, unit, period)
    if rows <= settings.EXPORT_ASYNC_THRESHOLD_ROWS:
        buffer = io.BytesIO()
        with use_replica():
            build_workbook(plan, unit, period, buffer)
        return ExportResult(content=buffer.getvalue(), filename=exports.export_filename(plan, unit, period))
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
        transaction.on_commit(lambda: _enqueue(job.pk))
    return ExportResult(job=job)


def request_drilldown_export(
    user: Any, target: Target, unit: OrgUnit, period: Period | None, params: dict[str, str], export_format: str
) -> ExportResult:
    """A target page's drill-down table as CSV/.xlsx: written now up to DRILLDOWN_EXPORT_ASYNC_ROWS rows, else
    an export job (the same job page as the workbook's). Both paths write through ``reports.drilldown``.

    The caller has found ``unit`` in the user's view scope; a background job also needs Perm.EXPORT on it
    (its page and file are shown to those who may export there).
    """
    table = drilldown.drilldown_table(user, target, unit, period, params)
    rows = table.data.data.count()
    if rows <= settings.DRILLDOWN_EXPORT_ASYNC_ROWS:
        buffer = io.BytesIO()
        drilldown.write(table, export_format, buffer)
        return ExportResult(content=buffer.getvalue(), filename=drilldown.filename(target, unit, export_format))
    scope.require(user, Perm.EXPORT, unit)
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=ExportKind.DRILLDOWN,
            plan=target.plan,
            target=target,
            scope=unit,
            period=period,
            params={**params, "format": export_format},
            requested_by=user if user.is_authenticated else None,
            rows_total=rows,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return ExportResult(job=job)


def request_bulletin(user: Any, plan: Plan, unit: OrgUnit, period: Period | None) -> ExportJob:
    """The quarterly bulletin (进展通报) of ``plan`` for ``unit`` as of ``period``: always a background job.

    The caller has found ``unit`` in the user's view scope (404 otherwise); a bulletin needs Perm.EXPORT on it
    (403), like the workbook.
    """
    scope.require(user, Perm.EXPORT, unit)
    with transaction.atomic():
        job = bulletin_job.new_job(
            plan,
            unit,
            period,
            requested_by=user if user.is_authenticated else None,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    try:
        export_plan_workbook_task.delay(job_id)
    except Exception:  # noqa: BLE001  (any broker failure: the job stays pending for the sweep; never a 500)
        logger.warning("broker unavailable; export job %s left for the sweep", job_id, exc_info=True)
