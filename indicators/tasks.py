"""Celery tasks of the indicator engine: thin, take ids, safe to run twice (claims by conditional update)."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from indicators import engine, events, windows
from indicators import recompute as pipeline
from indicators.models import Indicator
from schools.models import OrgUnit
from submissions.models import Period

logger = get_task_logger(__name__)


@shared_task
def process_pending_recompute_task(pending_id: int) -> int:
    """Recompute what one PendingRecompute row names; a row already claimed or done is left alone."""
    return pipeline.process_pending(pending_id) or 0


@shared_task
def sweep_pending_recomputes_task() -> int:
    """Re-run open rows older than a minute (lost messages) and claims stuck for ten minutes; run the API's
    recompute jobs that were never started and fail the ones whose worker died."""
    return pipeline.sweep() + pipeline.sweep_jobs()


@shared_task
def full_recompute_task(period_ids: list[int] | None = None) -> int:
    """Nightly full recompute, fanned out as one task per district (``fan_out_unit_ids``: the tree is split down to
    the counties), then the bureaus from their rows."""
    district_ids = pipeline.fan_out_unit_ids()
    run = pipeline.start_nightly_run(len(district_ids), period_ids)
    for unit_id in district_ids:
        full_recompute_district_task.delay(unit_id, period_ids, run.pk)
    logger.info("full recompute fanned out to %d units", len(district_ids))
    return len(district_ids)


@shared_task
def full_recompute_district_task(unit_id: int, period_ids: list[int] | None = None, run_id: int | None = None) -> int:
    """Recompute one district's subtree and, from the districts' rows, its ancestors. Within a nightly run the
    district neither writes the rows above it nor announces its values: the run's last district writes those rows
    once and announces every period once."""
    try:
        return engine.full_recompute(
            period_ids=period_ids, root_unit_ids=[unit_id], announce=run_id is None, ancestors=run_id is None
        )
    finally:
        if run_id is not None and pipeline.finish_district(run_id):
            # The rows above the districts once, from every district's committed rows (not once per district).
            engine.recompute_ancestors(pipeline.fan_out_unit_ids(), period_ids)
            # Milestones and narratives have no indicator: announcing every period lets every target's
            # progress (an overdue milestone too) follow, exactly once per nightly run.
            events.values_changed.send(sender=Indicator, period_ids=period_ids, indicator_ids=None)
            # The stored window rows (issue 17): one rebuild of the whole tree, after the last district.
            events.levels_written.send(sender=Indicator, period_ids=period_ids, root_unit_ids=None)


@shared_task
def recompute_indicator_task(indicator_id: int) -> int:
    """After an indicator's definition changed: all its values."""
    return engine.recompute_indicator(indicator_id)


@shared_task
def recompute_scope_task(period_id: int | None = None, unit_id: int | None = None, job_id: int | None = None) -> int:
    """What POST /api/v1/recompute/ queues when tasks are not eager: its recorded job (``job_id``), or one period
    and/or one subtree (a message without a job: sent by an older release or by hand)."""
    if job_id is not None:
        job = pipeline.run_job(job_id)
        return (job.rows or 0) if job is not None else 0
    period = Period.objects.filter(pk=period_id).first() if period_id else None
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None
    return pipeline.run(period=period, unit=unit).rows


@shared_task
def update_window_rows_task(changes: list[list[int]]) -> int:
    """After an approval batch's values committed: the stored window rows of its units and their ancestors
    (``changes``: [unit id, period id] pairs). Safe to run twice: the rows are recomputed, not incremented."""
    return windows.recompute_units([(int(u), int(p)) for u, p in changes])


@shared_task
def rebuild_window_rows_task(period_ids: list[int] | None = None, root_unit_ids: list[int] | None = None) -> int:
    """After a full (or nightly) recompute: every stored window row of the roots' subtrees (None: the whole
    tree) and their ancestors, bottom-up."""
    return windows.rebuild(period_ids, root_unit_ids)
