"""Recording and dispatching recomputes (contract used by submissions.workflow).

``request_recompute`` is called inside the approving transaction: it records the stale
(unit, period) as a PendingRecompute row and, after commit, enqueues the task. If the broker
is down the row stays open and the periodic sweep picks it up, so numbers are delayed, never lost.
"""

from __future__ import annotations

import logging

from django.db import transaction

from targets.models import PendingRecompute

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
