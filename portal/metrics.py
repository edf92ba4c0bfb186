"""Prometheus text exposition of /metrics, written by hand (no client library needed for five series).

Request latency is a histogram kept per process. Gunicorn runs several worker processes; when METRICS_DIR
names a folder they share, each process writes its histogram there (at most every FLUSH_SECONDS, by atomic
rename) and /metrics sums every file, so any worker answers for all of them. Files of workers that exited
stay: their counts are part of the cumulative totals Prometheus expects.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings

from portal import health

BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FLUSH_SECONDS = 5.0
LATENCY = "portal_http_request_duration_seconds"
logger = logging.getLogger(__name__)


class LatencyHistogram:
    """Cumulative request durations of this process: per-bucket counts (last one is +Inf), sum and count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self._last_flush = 0.0
        self._warned = False  # an unwritable METRICS_DIR is logged once per process, not every few seconds

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self.total += seconds
        folder = settings.METRICS_DIR
        if folder and time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            try:
                self.flush(Path(folder))
            except OSError:  # an unwritable folder costs the shared numbers, never the request
                if not self._warned:
                    self._warned = True
                    logger.warning("metrics: cannot write to METRICS_DIR", exc_info=True)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"counts": list(self.counts), "sum": self.total}

    def flush(self, folder: Path) -> None:
        """Write this process's histogram to ``folder/latency-<pid>.json`` (atomically)."""
        self._last_flush = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"latency-{os.getpid()}.json"
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(self.snapshot()))
        partial.replace(target)

    def combined(self) -> dict[str, object]:
        """This process's histogram, plus every other process's file in METRICS_DIR."""
        folder = settings.METRICS_DIR
        if not folder:
            return self.snapshot()
        try:
            self.flush(Path(folder))
        except OSError:
            return self.snapshot()
        counts = [0] * (len(BUCKETS) + 1)
        total = 0.0
        for path in Path(folder).glob("latency-*.json"):
            try:
                data = json.loads(path.read_text())
                file_counts = [int(n) for n in data["counts"]]
                file_sum = float(data["sum"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a file being replaced or damaged: skip it this scrape
            if len(file_counts) != len(counts):
                continue  # written with other buckets (an older release)
            counts = [a + b for a, b in zip(counts, file_counts, strict=True)]
            total += file_sum
        return {"counts": counts, "sum": total}


LATENCY_HISTOGRAM = LatencyHistogram()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def render() -> str:
    """Every metric in the Prometheus text format (version 0.0.4)."""
    lines: list[str] = []

    latency = LATENCY_HISTOGRAM.combined()
    counts: list[int] = latency["counts"]  # type: ignore[assignment]
    lines += [f"# HELP {LATENCY} Time from request to response.", f"# TYPE {LATENCY} histogram"]
    cumulative = 0
    for bound, count in zip((*(_number(b) for b in BUCKETS), "+Inf"), counts, strict=True):
        cumulative += count
        lines.append(f'{LATENCY}_bucket{{le="{bound}"}} {cumulative}')
    lines += [f"{LATENCY}_sum {_number(latency['sum'])}", f"{LATENCY}_count {cumulative}"]  # type: ignore[arg-type]

    depths = health.queue_depths()
    lines += [
        "# HELP portal_celery_queue_length Messages waiting in a Celery queue.",
        "# TYPE portal_celery_queue_length gauge",
    ]
    lines += [f'portal_celery_queue_length{{queue="{_label(queue)}"}} {n}' for queue, n in depths.items()]

    backlog = health.recompute_backlog()
    if backlog is not None:
        lines += [
            "# HELP portal_recompute_backlog Stale (unit, period) pairs waiting for a recompute.",
            "# TYPE portal_recompute_backlog gauge",
            f"portal_recompute_backlog {backlog.count}",
            "# HELP portal_recompute_oldest_pending_seconds Age of the oldest waiting recompute (0 if none).",
            "# TYPE portal_recompute_oldest_pending_seconds gauge",
            f"portal_recompute_oldest_pending_seconds {backlog.oldest_age_seconds or 0}",
        ]

    lines += ["# HELP portal_submissions Submissions by status.", "# TYPE portal_submissions gauge"]
    lines += [
        f'portal_submissions{{status="{_label(s)}"}} {n}' for s, n in sorted(health.submissions_by_status().items())
    ]
    return "\n".join(lines) + "\n"
