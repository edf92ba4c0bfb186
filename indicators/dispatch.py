"""Recording and enqueueing recomputes: the one place that hands work to the Celery tasks.

``request_recompute`` runs inside the transaction that made the numbers stale (an approval, a designation
change): it records a PendingRecompute row — the outbox — and, after commit, enqueues the task. If the broker is
down the row stays open and the periodic sweep picks it up, so numbers are delayed, never lost.
``enqueue_indicator`` does the same for an indicator whose definition changed (the nightly run catches up).
``request_scope_recompute`` records the API's ``RecomputeJob`` and enqueues it after commit (broker down: the job
stays queued and the sweep runs it).
Services never enqueue; their callers (pages, API, receivers) call these.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from indicators.models import PendingRecompute, RecomputeJob, RecomputeKind
from indicators.tasks import (
    process_pending_recompute_task,
    rebuild_window_rows_task,
    recompute_indicator_task,
    recompute_scope_task,
    update_window_rows_task,
)
from schools.models import OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)


def request_recompute(
    org_unit_id: int, period_id: int, kind: RecomputeKind = RecomputeKind.FIGURES, reason: str = ""
) -> PendingRecompute:
    """Record that ``org_unit_id``'s numbers for ``period_id`` are stale; enqueue their recompute after commit."""
    pending = PendingRecompute.objects.create(
        org_unit_id=org_unit_id, period_id=period_id, kind=kind, reason=reason[:100]
    )
    transaction.on_commit(lambda: _enqueue(pending.pk))
    return pending


def _enqueue(pending_id: int) -> None:
    try:
        process_pending_recompute_task.delay(pending_id)
    except Exception:  # noqa: BLE001  (any broker failure: the sweep will retry; never fail the request)
        logger.warning("broker unavailable; pending recompute %s left for the sweep", pending_id, exc_info=True)


def enqueue_indicator(indicator_id: int) -> None:
    """After commit, recompute every value of an indicator whose definition changed."""
    transaction.on_commit(lambda: _enqueue_indicator(indicator_id))


def _enqueue_indicator(indicator_id: int) -> None:
    try:
        recompute_indicator_task.delay(indicator_id)
    except Exception:  # noqa: BLE001  (broker down: the nightly full recompute catches up)
        logger.warning("broker unavailable; indicator %s recomputes at the nightly run", indicator_id, exc_info=True)


def record_scope_recompute(user: Any, period: Period | None, unit: OrgUnit | None) -> RecomputeJob:
    """Record a recompute of ``unit``'s subtree (None: everything) for ``period`` (None: every period)."""
    return RecomputeJob.objects.create(
        requested_by=user if getattr(user, "is_authenticated", False) else None, period=period, org_unit=unit
    )


def request_scope_recompute(user: Any, period: Period | None, unit: OrgUnit | None) -> RecomputeJob:
    """Record the job durably first, then enqueue it after commit; a broker that is down leaves it queued."""
    job = record_scope_recompute(user, period, unit)
    transaction.on_commit(lambda: _enqueue_job(job.pk))
    return job


def _enqueue_job(job_id: int) -> None:
    try:
        recompute_scope_task.delay(job_id=job_id)
    except Exception:  # noqa: BLE001  (any broker failure: the sweep runs the queued job; never fail the request)
        logger.warning("broker unavailable; recompute job %s left for the sweep", job_id, exc_info=True)


def enqueue_window_rows(changes: list[tuple[int, int]]) -> None:
    """After commit, the stored window rows of an approval batch's (unit, period) changes: one task per batch."""
    pairs = [[unit_id, period_id] for unit_id, period_id in changes]
    transaction.on_commit(lambda: _enqueue_windows(update_window_rows_task, pairs))


def enqueue_window_rebuild(period_ids: list[int] | None, root_unit_ids: list[int] | None) -> None:
    """After commit, rebuild the stored window rows of the roots' subtrees (None: the whole tree)."""
    transaction.on_commit(lambda: _enqueue_windows(rebuild_window_rows_task, period_ids, root_unit_ids))


def _enqueue_windows(task: Any, *args: object) -> None:
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001  (broker down: readers compute a unit without a fresh row; nightly catches up)
        logger.warning("broker unavailable; window rows left to the next rebuild", exc_info=True)
