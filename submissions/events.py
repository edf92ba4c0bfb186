"""What the submission workflow announces to the layers above it.

submissions/ sits below the indicator engine and must not import it; the engine records its recompute
request through a receiver of this signal (``indicators.receivers``), inside the approving transaction, so the
request commits or rolls back with the approval.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction with ``org_unit_id: int``, ``period_id: int`` and ``action: str`` (the history
# action: approve or reopen) whenever a unit's counted figures for a period may have changed.
figures_changed = Signal()

# Sent inside the transaction after every workflow step (submit, approve, return, reopen) with
# ``submission: Submission`` (as saved), ``action: str`` (the history action), ``note: str`` (the reason of a
# return or reopen, else "") and ``user`` (who did it; None for an anonymous channel). Receivers that act outside
# the database (e-mail) should defer with ``transaction.on_commit``.
submission_transitioned = Signal()

# Sent by the hourly reminder run (``submissions.reminders``) inside the transaction that claims the reminder,
# with ``user_ids: list[int]``, ``stage: str`` (ReminderStage), ``title``, ``body``, ``url`` and ``key: str``.
# A receiver that raises rolls the claim back, so the next run retries.
reminder_due = Signal()
