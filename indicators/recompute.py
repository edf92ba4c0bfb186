"""Running recomputes: the plain functions the Celery tasks, the command and the API call.

Recording and enqueueing a recompute is ``indicators.dispatch``'s job (the outbox); this module never enqueues.
``process_pending`` claims a row with a conditional update (two workers never both run it),
recomputes, and marks it done; ``sweep`` re-runs rows whose message was lost and claims whose worker
died; ``run`` is what ``manage.py recompute`` and ``POST /api/v1/recompute/`` do. ``run_job`` runs a recorded
``RecomputeJob`` (the API's request) once; ``sweep_jobs`` runs the queued jobs whose message never arrived and
fails the running ones whose worker died (the export jobs' rule).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from indicators import engine
from indicators.models import NightlyRun, PendingRecompute, RecomputeJob, RecomputeJobStatus, RecomputeKind
from schools.models import Level, OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

OPEN_GRACE = datetime.timedelta(minutes=1)  # give the after-commit message time to arrive first
STUCK_AFTER = datetime.timedelta(minutes=10)  # a claim this old means the worker died


def _is_designation(pending: PendingRecompute) -> bool:
    """A designation change (indicators.receivers) recomputes count-of-designation indicators, not figures."""
    return pending.kind == RecomputeKind.DESIGNATIONS


def process_pending(pending_id: int, now: datetime.datetime | None = None) -> int | None:
    """Claim one pending row, recompute its unit and period, mark it done.

    Returns the rows written, or None when the row was not ours to run (done, or claimed by a live worker).
    """
    now = now or timezone.now()
    claimed = PendingRecompute.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STUCK_AFTER), pk=pending_id, done_at__isnull=True
    ).update(claimed_at=now)
    if claimed != 1:
        return None  # another worker has it, or it already ran
    pending = PendingRecompute.objects.get(pk=pending_id)
    written = engine.recompute_for(pending.org_unit_id, pending.period_id, designations=_is_designation(pending))
    # Only our claim may close it: a sweep that re-claimed a stuck row owns it now.
    PendingRecompute.objects.filter(pk=pending_id, claimed_at=now).update(done_at=timezone.now())
    return written


def sweep(now: datetime.datetime | None = None) -> int:
    """Run every open row older than a minute and every claim older than ten; returns how many ran."""
    now = now or timezone.now()
    due = PendingRecompute.objects.filter(done_at__isnull=True).filter(
        Q(claimed_at__isnull=True, requested_at__lt=now - OPEN_GRACE) | Q(claimed_at__lt=now - STUCK_AFTER)
    )
    ran = 0
    # Many rows for the same (unit, period) collapse into one recompute; the rest are closed with it.
    seen: set[tuple[int, int, bool]] = set()
    for pending in due.order_by("requested_at", "pk")[:500]:
        key = (pending.org_unit_id, pending.period_id, _is_designation(pending))
        if key in seen:
            PendingRecompute.objects.filter(pk=pending.pk, done_at__isnull=True).update(done_at=timezone.now())
            continue
        if process_pending(pending.pk, now=now) is not None:
            seen.add(key)
            ran += 1
    return ran


def fan_out_unit_ids() -> list[int]:
    """The units a full recompute is split into, following the tree's real shape.

    From each root, a unit is split into its children while it is a bureau (a province's or a city's bureau is
    above county level: its children are the next bureaus or the districts) or has exactly one child (a chain
    that does not divide the work); the units where real work splits — the districts (counties), and any
    school directly under a bureau — are the ones returned, in tree order. A root without children is
    returned itself. One small query per unit split (bureaus and single-child chains: a handful).

    The engine's locks still order writers by top-level subtree (``indicators.engine._subtree_keys``): the
    counties of one city run one after another, different cities in parallel.
    """
    ids: list[int] = []
    stack = list(reversed(OrgUnit.objects.filter(parent__isnull=True).order_by("pk").values_list("pk", "level")))
    while stack:
        pk, level = stack.pop()
        children = list(OrgUnit.objects.filter(parent_id=pk).order_by("pk").values_list("pk", "level"))
        if children and (level == Level.BUREAU or len(children) == 1):
            stack.extend(reversed(children))
        else:
            ids.append(pk)
    return ids


def backlog() -> tuple[int, datetime.datetime | None]:
    """Open recompute requests and when the oldest was made (for /healthz and /metrics)."""
    summary = PendingRecompute.objects.filter(done_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("requested_at")
    )
    return summary["count"], summary["oldest"]


def start_nightly_run(districts: int, period_ids: list[int] | None) -> NightlyRun:
    """Record a nightly run that waits for ``districts`` district recomputes (at least one)."""
    return NightlyRun.objects.create(remaining=max(districts, 1), period_ids=period_ids)


def finish_district(run_id: int) -> bool:
    """Count one district of a nightly run as done; True for exactly one caller: the run's last district.

    Two conditional updates, so that concurrent workers never both see the run finish.
    """
    NightlyRun.objects.filter(pk=run_id, remaining__gt=0).update(remaining=F("remaining") - 1)
    return (
        NightlyRun.objects.filter(pk=run_id, remaining=0, finished_at__isnull=True).update(finished_at=timezone.now())
        == 1
    )


@dataclass
class RecomputeResult:
    rows: int
    periods: list[str]
    units: int


def run(period: Period | None = None, unit: OrgUnit | None = None) -> RecomputeResult:
    """What the command and the API do: recompute a unit's subtree (default everything) for a period."""
    period_ids = [period.pk] if period is not None else None
    if unit is None:
        roots = fan_out_unit_ids()
    else:
        roots = [unit.pk]
    rows = 0
    for root in roots:
        rows += engine.full_recompute(period_ids=period_ids, root_unit_ids=[root])
    periods = [period.code] if period else list(Period.objects.values_list("code", flat=True))
    return RecomputeResult(rows=rows, periods=periods, units=len(roots))


def run_job(job_id: int) -> RecomputeJob | None:
    """Claim a queued job, run it and record done with its counts, or failed with the error (then re-raise).

    Returns None when the job was not ours to run (already claimed, done or failed): a message delivered twice,
    or the sweep and the task racing, runs it once.
    """
    now = timezone.now()
    claimed = RecomputeJob.objects.filter(pk=job_id, status=RecomputeJobStatus.QUEUED).update(
        status=RecomputeJobStatus.RUNNING, started_at=now
    )
    if claimed != 1:
        return None
    job = RecomputeJob.objects.select_related("period", "org_unit").get(pk=job_id)
    try:
        result = run(period=job.period, unit=job.org_unit)
    except Exception as exc:
        RecomputeJob.objects.filter(pk=job_id, status=RecomputeJobStatus.RUNNING).update(
            status=RecomputeJobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:1000], finished_at=timezone.now()
        )
        raise
    job.status, job.rows, job.units, job.periods = RecomputeJobStatus.DONE, result.rows, result.units, result.periods
    job.finished_at = timezone.now()
    # Only a job still running is closed: one the sweep already marked failed (timed out) keeps that verdict.
    RecomputeJob.objects.filter(pk=job_id, status=RecomputeJobStatus.RUNNING).update(
        status=job.status, rows=job.rows, units=job.units, periods=job.periods, finished_at=job.finished_at
    )
    return job


def fail_stuck_jobs(now: datetime.datetime | None = None) -> int:
    """Running jobs past the task time limit: their worker died. Marked failed, so a client stops polling."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return RecomputeJob.objects.filter(status=RecomputeJobStatus.RUNNING, started_at__lt=cutoff).update(
        status=RecomputeJobStatus.FAILED, error=_("重算超时（后台任务已中断），请重新提交。"), finished_at=now
    )


def sweep_jobs(now: datetime.datetime | None = None, limit: int = 5) -> int:
    """Fail stuck jobs, then run queued jobs older than OPEN_GRACE that never started; returns how many ran.

    Run here rather than re-enqueued (this module never enqueues); a few per sweep, so one sweep stays short.
    A job that fails is recorded failed and the sweep goes on with the next.
    """
    now = now or timezone.now()
    fail_stuck_jobs(now)
    due = RecomputeJob.objects.filter(
        status=RecomputeJobStatus.QUEUED, started_at__isnull=True, created_at__lt=now - OPEN_GRACE
    ).order_by("created_at", "pk")
    ran = 0
    for job_id in list(due.values_list("pk", flat=True)[:limit]):
        try:
            if run_job(job_id) is not None:
                ran += 1
        except Exception:  # noqa: BLE001  (recorded on the job; the other jobs still run)
            logger.exception("recompute job %s failed", job_id)
    return ran
