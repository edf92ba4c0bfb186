"""Celery tasks of the submissions app: thin wrappers around plain service functions."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from submissions import reminders

logger = get_task_logger(__name__)


@shared_task
def send_reminders_task() -> int:
    """Due-date reminders and overdue escalations (beat: "send-submission-reminders", hourly; idempotent)."""
    sent = reminders.send_reminders()
    logger.info("sent %s submission reminders", sent)
    return sent
