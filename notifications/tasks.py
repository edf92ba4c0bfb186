"""Celery tasks of the notifications app: thin wrappers around the service."""

from __future__ import annotations

import datetime
from typing import Any

from celery import shared_task
from celery.utils.log import get_task_logger

from notifications import chase, milestones, services

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


@shared_task(bind=True)
def chase_all_task(self: Any, requester_id: int, period_id: int, on: str) -> dict[str, int]:
    """全部催报 in the background (enqueued by the completeness board's button; ``on`` is the day it was asked,
    ISO). Idempotent: units already chased that day are skipped, the result notice is keyed by the task id."""
    day = datetime.date.fromisoformat(on)
    result = chase.chase_all(requester_id, period_id, day, key=f"chase-all:{self.request.id}")
    if result is None:
        return {}
    return {"sent": len(result.sent), "already": len(result.already), "nobody": len(result.nobody)}
