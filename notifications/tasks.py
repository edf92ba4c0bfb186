"""Celery tasks of the notifications app: thin wrappers around the service."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from notifications import milestones, services

logger = get_task_logger(__name__)


@shared_task
def send_digests_task() -> int:
    """The daily digest e-mails (beat: "send-notification-digest"; idempotent)."""
    sent = services.send_digests()
    logger.info("sent %s notification digests", sent)
    return sent


@shared_task
def send_milestone_reminders_task() -> int:
    """Milestones due soon or overdue, to their owners (beat: "send-milestone-reminders", hourly; idempotent)."""
    sent = milestones.send_milestone_reminders()
    logger.info("sent %s milestone reminders", sent)
    return sent
