"""Celery tasks of the portal itself: the worker heartbeat that /healthz reads."""

from __future__ import annotations

from celery import shared_task

from portal import health


@shared_task(ignore_result=True)
def worker_heartbeat_task(queue: str) -> None:
    """Beat sends one to each queue every WORKER_HEARTBEAT_SECONDS; the worker that takes it records the time."""
    health.record_heartbeat(queue)
