"""What the reports app announces to the layers above it (notifications)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent when an export job has finished, after its row is updated, with ``job: ExportJob`` (re-read, its
# ``status`` DONE or FAILED).
export_finished = Signal()
