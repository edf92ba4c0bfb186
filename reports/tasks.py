"""Celery tasks of the reports app."""

from __future__ import annotations

from celery import shared_task


@shared_task
def delete_old_exports_task() -> None:
    """Expire old export files (filled by the reports issue)."""
