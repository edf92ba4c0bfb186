"""Benchmark: the whole approval task (indicator values, then target progress), on PostgreSQL.

What a Celery worker runs after an approval, eager: a ``PendingRecompute`` row for one primary school and
2023Q2 is claimed by ``indicators.recompute.process_pending``, which recomputes the school's and its
ancestors' indicator values (``engine.recompute_for``) and, after commit, the targets' progress
(``indicators.events.values_changed`` → ``targets.receivers``). Before each run the school's Q2 figures
move by ±1 (alternating), so every run has real changes to carry.

World: ``bench/dataset.py`` at ``BENCH_APPROVAL_UNITS`` units (default 2000; database
``bench_approval_<units>``, built once), the engine's full recompute, the benchmark plan of
``bench_progress`` (46 targets over the whole tree) and a full progress recompute (the nightly run).

    BENCH_APPROVAL_UNITS=2000 .venv/bin/python bench/bench_approval.py
    BENCH_APPROVAL_UNITS=20000 .venv/bin/python bench/bench_approval.py

Reported: median and p90 of 15 runs after 2 warm-ups, and the Progress rows written per approval.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UNITS = int(os.environ.get("BENCH_APPROVAL_UNITS", "2000"))
DB_NAME = f"bench_approval_{UNITS}"
RUNS = 15


def run() -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from benchdb import setup_django

    setup_django("approval", DB_NAME, units=UNITS)
    import bench_progress
    import dataset
    from django.db import connection
    from django.utils import timezone

    from indicators import engine
    from indicators.models import IndicatorValue, PendingRecompute
    from indicators.recompute import process_pending
    from schools.models import OrgUnit
    from submissions.models import Period, Submission
    from targets.models import Progress
    from targets.progress import recompute_progress

    started = time.perf_counter()
    dataset.build()
    if not IndicatorValue.objects.exists():
        engine.full_recompute()
    targets = bench_progress._plan()
    recompute_progress()  # the nightly run: every row as this code writes it
    setup = time.perf_counter() - started

    q2 = Period.objects.get(year=2023, quarter=2)
    school = OrgUnit.objects.filter(school_type="primary", is_active=True).order_by("pk").first()
    assert school is not None
    submission = Submission.objects.get(org_unit=school, period=q2)
    timings: list[float] = []
    written: list[int] = []
    for i in range(RUNS + 2):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE submissions_value SET value = value + %s WHERE submission_id = %s",
                [1 if i % 2 == 0 else -1, submission.pk],
            )
        pending = PendingRecompute.objects.create(org_unit=school, period=q2, reason="bench")
        before = timezone.now()
        t0 = time.perf_counter()
        process_pending(pending.pk)
        elapsed = time.perf_counter() - t0
        if i >= 2:
            timings.append(elapsed)
            written.append(Progress.objects.filter(computed_at__gte=before).count())
    timings.sort()
    return [
        {"name": f"approval task (values + progress), {UNITS} units, median of {RUNS}",
         "value": round(statistics.median(timings) * 1000, 1), "unit": "ms",
         "note": f"p90 {timings[int(RUNS * 0.9) - 1] * 1000:.1f} ms; {targets} targets; "
                 f"progress rows written per approval {min(written)}–{max(written)} "
                 f"of {Progress.objects.count()}; set-up {setup:.0f} s"},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']}  {row.get('note', '')}\n")
