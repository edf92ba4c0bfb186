"""The targets' progress follows the indicator engine's values (``indicators.events.values_changed``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.dispatch import receiver

from indicators import events
from indicators.models import Indicator
from targets.progress import recompute_progress, recompute_progress_for_unit


@receiver(events.values_changed, sender=Indicator, dispatch_uid="targets_follow_values")
def follow_values(
    sender: type[Indicator],
    period_ids: Iterable[int] | None = None,
    indicator_ids: Iterable[int] | None = None,
    unit_ids: Iterable[int] | None = None,
    changed_unit_id: int | None = None,
    previous: Mapping[tuple[int, int], Decimal | None] | None = None,
    after: Mapping[tuple[int, int], Decimal | None] | None = None,
    since: datetime.datetime | None = None,
    **kwargs: Any,
) -> None:
    """Recompute the progress of the targets those values feed (every target when ``indicator_ids`` is None).

    After one unit's recompute (an approval: ``unit_ids`` given), only the rows its values feed.
    """
    if unit_ids is not None and changed_unit_id is not None and period_ids is not None and indicator_ids is not None:
        recompute_progress_for_unit(
            unit_ids=unit_ids,
            changed_unit_id=changed_unit_id,
            period_ids=period_ids,
            indicator_ids=indicator_ids,
            previous=previous or {},
            after=after,
            since=since,
        )
        return
    recompute_progress(period_ids=period_ids, indicator_ids=indicator_ids)
