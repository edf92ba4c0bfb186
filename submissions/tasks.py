"""Celery tasks of the submissions app."""

from __future__ import annotations

from celery import shared_task


@shared_task
def send_reminders_task() -> None:
    """Due-date reminders (filled by the figures issue)."""
