"""What the indicator engine announces to the layers above it.

The engine sits below plans and targets and must not import them; a target's progress follows its indicator's
values through this signal instead. ``targets`` connects its receiver in ``TargetsConfig.ready``. The signal is
sent after the values' transaction commits, in the same process (a Celery task's "values, then progress"), and
is sent with ``send`` — a failing receiver fails the task, it is never swallowed.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``period_ids: list[int]`` and ``indicator_ids: list[int]`` (the values that were rewritten).
values_changed = Signal()
