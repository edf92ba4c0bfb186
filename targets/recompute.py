"""Recording, dispatching and running recomputes (the contract used by submissions.workflow).

``request_recompute`` is called inside the approving transaction: it records the stale
(unit, period) as a PendingRecompute row and, after commit, enqueues the task. If the broker
is down the row stays open and the periodic sweep picks it up, so numbers are delayed, never lost.

``process_pending`` claims a row with a conditional update (two workers never both run it),
recomputes, and marks it done; ``sweep`` re-runs rows whose message was lost and claims whose worker
died; ``run`` is what ``manage.py recompute`` and ``POST /api/v1/recompute/`` do.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from schools.models import OrgUnit
from submissions.models import Period
from targets.models import Indicator, PendingRecompute

if TYPE_CHECKING:
    from portal.scope import AnyUser

logger = logging.getLogger(__name__)


def request_recompute(org_unit_id: int, period_id: int, reason: str = "") -> PendingRecompute:
    pending = PendingRecompute.objects.create(org_unit_id=org_unit_id, period_id=period_id, reason=reason[:100])
    transaction.on_commit(lambda: _enqueue(pending.pk))
    return pending


def _enqueue(pending_id: int) -> None:
    from targets.tasks import process_pending_recompute_task

    try:
        process_pending_recompute_task.delay(pending_id)
    except Exception:  # noqa: BLE001  (any broker failure: the sweep will retry; never fail the request)
        logger.warning("broker unavailable; pending recompute %s left for the sweep", pending_id, exc_info=True)


def _engine():  # type: ignore[no-untyped-def]
    # Imported lazily: submissions.workflow imports this module, the engine imports submissions.
    from targets import engine

    return engine


OPEN_GRACE = datetime.timedelta(minutes=1)  # give the after-commit message time to arrive first
STUCK_AFTER = datetime.timedelta(minutes=10)  # a claim this old means the worker died


def _is_designation(pending: PendingRecompute) -> bool:
    """A designation change (targets.signals) recomputes count-of-designation indicators, not figures."""
    from targets.signals import DESIGNATION_REASON

    return pending.reason == DESIGNATION_REASON


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
    written = _engine().recompute_for(pending.org_unit_id, pending.period_id, designations=_is_designation(pending))
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
        rows += _engine().full_recompute(period_ids=period_ids, root_unit_ids=[root])
    periods = [period.code] if period else list(Period.objects.values_list("code", flat=True))
    return RecomputeResult(rows=rows, periods=periods, units=len(roots))


# --- Indicator definitions ---

# Fields whose change alters computed values (a name or definition text change does not).
COMPUTED_FIELDS = (
    "numerator",
    "denominator",
    "factor",
    "aggregation",
    "condition",
    "designation_kind_id",
    "unit_filter_levels",
    "unit_filter_school_types",
    "unit_filter_ownership",
    "unit_filter_central_only",
    "is_active",
)


def save_indicator(indicator: Indicator, user: AnyUser) -> bool:
    """Validate and save an indicator (bureau admin only); a definition change recomputes its values
    after commit. Returns whether a recompute was requested."""
    from portal import scope
    from portal.errors import ServiceError

    scope.require(user, scope.Perm.ADMIN)
    errors = _engine().validate_definition(indicator)
    if errors:
        raise ServiceError(errors)
    with transaction.atomic():
        before = Indicator.objects.filter(pk=indicator.pk).values(*COMPUTED_FIELDS).first() if indicator.pk else None
        indicator.save()
        changed = before is None or any(before[name] != getattr(indicator, name) for name in COMPUTED_FIELDS)
        if changed:
            transaction.on_commit(lambda: _enqueue_indicator(indicator.pk))
    return changed


def _enqueue_indicator(indicator_id: int) -> None:
    from targets.tasks import recompute_indicator_task

    try:
        recompute_indicator_task.delay(indicator_id)
    except Exception:  # noqa: BLE001  (broker down: the nightly full recompute catches up)
        logger.warning("broker unavailable; indicator %s recomputes at the nightly run", indicator_id, exc_info=True)
