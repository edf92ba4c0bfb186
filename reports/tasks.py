"""Celery tasks of the reports app: thin wrappers taking ids around reports.exports."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from reports import exports

logger = get_task_logger(__name__)


@shared_task
def export_plan_workbook_task(job_id: int) -> None:
    """Write a big progress workbook; safe to run twice (the job is claimed by a conditional update)."""
    if not exports.run_export_job(job_id):
        logger.info("export job %s already claimed", job_id)


@shared_task
def delete_old_exports_task() -> int:
    """Expire export files older than EXPORT_EXPIRY_HOURS (beat: "delete-old-exports", hourly)."""
    return exports.expire_old_exports()
