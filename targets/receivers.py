"""The targets' progress follows the indicator engine's values (``indicators.events.values_changed``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.dispatch import receiver

from indicators import events
from indicators.models import Indicator
from targets.progress import recompute_progress


@receiver(events.values_changed, sender=Indicator, dispatch_uid="targets_follow_values")
def follow_values(
    sender: type[Indicator],
    period_ids: Iterable[int] | None = None,
    indicator_ids: Iterable[int] | None = None,
    **kwargs: Any,
) -> None:
    """Recompute the progress of the targets those values feed (every target when ``indicator_ids`` is None)."""
    recompute_progress(period_ids=period_ids, indicator_ids=indicator_ids)
