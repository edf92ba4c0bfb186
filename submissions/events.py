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
