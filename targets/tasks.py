"""Celery tasks of the indicator engine: thin wrappers around targets.engine (filled by the engine issue)."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

logger = get_task_logger(__name__)


@shared_task
def process_pending_recompute_task(pending_id: int) -> None:
    """Recompute what one PendingRecompute row names (no-op until the engine lands)."""
    logger.info("pending recompute %s recorded", pending_id)


@shared_task
def sweep_pending_recomputes_task() -> None:
    """Pick up pending recomputes whose message was lost (no-op until the engine lands)."""


@shared_task
def full_recompute_task() -> None:
    """Nightly full recompute (no-op until the engine lands)."""
