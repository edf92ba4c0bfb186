"""Running recomputes: the plain functions the Celery tasks, the command and the API call.

Recording and enqueueing a recompute is ``indicators.dispatch``'s job (the outbox); this module never enqueues.
``process_pending`` claims a row with a conditional update (two workers never both run it),
recomputes, and marks it done; ``sweep`` re-runs rows whose message was lost and claims whose worker
died; ``run`` is what ``manage.py recompute`` and ``POST /api/v1/recompute/`` do.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Min, Q
from django.utils import timezone

from indicators import engine
from indicators.models import NightlyRun, PendingRecompute, RecomputeKind
from schools.models import OrgUnit
from submissions.models import Period

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
    """The units a full recompute is split into: the roots' children (the districts, and any school
    directly under the bureau), or a root itself when it has none."""
    ids: list[int] = []
    for root in OrgUnit.objects.filter(parent__isnull=True).order_by("pk"):
        children = list(OrgUnit.objects.filter(parent=root).order_by("pk").values_list("pk", flat=True))
        ids.extend(children or [root.pk])
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
