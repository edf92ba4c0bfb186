"""What the indicator engine announces to the layers above it.

The engine sits below plans and targets and must not import them; a target's progress follows its indicator's
values through this signal instead. ``targets`` connects its receiver in ``TargetsConfig.ready``. The signal is
sent after the values' transaction commits, in the same process (a Celery task's "values, then progress"), and
is sent with ``send`` — a failing receiver fails the task, it is never swallowed.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``period_ids: list[int]`` and ``indicator_ids: list[int]`` (the values that were rewritten; None: all).
# After one unit's recompute (an approval: ``engine.recompute_for``) also with ``unit_ids`` (that unit and its
# ancestors: the only units whose values changed), ``changed_unit_id`` (that unit), ``previous`` — the unit's own
# values before the recompute, ``{(indicator_id, period_id): value}`` over ``indicator_ids`` × ``period_ids`` (a
# missing key: no value) —, ``after`` (the same keys as the recompute wrote them) and ``since`` (when that
# recompute began). Without ``unit_ids`` every unit may have
# changed (the full and nightly runs).
values_changed = Signal()

# Sent after the engine's values committed, for the stored year / half-year rows (issue 17, ``indicators.windows``),
# which are their own Celery task (``indicators.receivers`` queues it): after an approval batch
# (``engine.recompute_units``) with ``changes``: [(unit id, period id)]; after a full recompute (announced), the
# nightly run's last district or a definition change with ``period_ids`` and ``root_unit_ids`` (None: every unit).
levels_written = Signal()
