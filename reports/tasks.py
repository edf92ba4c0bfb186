"""Celery tasks of the reports app: thin wrappers taking ids around reports.exports."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from reports import exports
from reports.bulletin import schedule

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


@shared_task
def sweep_export_jobs_task() -> int:
    """Send again the pending jobs whose message was lost, and fail the running ones whose worker died
    (beat: "sweep-export-jobs", every minute). Returns how many jobs were sent again."""
    exports.fail_stuck_jobs()
    job_ids = exports.jobs_to_requeue()
    for job_id in job_ids:
        try:
            export_plan_workbook_task.delay(job_id)
        except Exception:  # noqa: BLE001  (broker still down: the next sweep tries again)
            logger.warning("broker unavailable; export job %s waits for the next sweep", job_id, exc_info=True)
            break
    return len(job_ids)


@shared_task
def scheduled_bulletins_task() -> int:
    """Record and send the bulletins owed after a quarter's deadline, once per (plan, scope, quarter)
    (beat: "generate-scheduled-bulletins", hourly). Returns how many were recorded."""
    job_ids = schedule.due_bulletins()
    for job_id in job_ids:
        try:
            export_plan_workbook_task.delay(job_id)
        except Exception:  # noqa: BLE001  (broker down: the export sweep sends the pending job later)
            logger.warning("broker unavailable; bulletin job %s waits for the sweep", job_id, exc_info=True)
            break
    return len(job_ids)
