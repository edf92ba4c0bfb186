"""Benchmark: the whole approval task (indicator values, then target progress) and the nightly run, on PostgreSQL.

Approval — what a Celery worker runs after an approval, eager: a ``PendingRecompute`` row for one primary school
and 2023Q2 is claimed by ``indicators.recompute.process_pending``, which recomputes the school's and its
ancestors' indicator values (``engine.recompute_for``) and, after commit, the targets' progress
(``indicators.events.values_changed`` → ``targets.receivers``; the notifications' receiver too). The approvals are
spread over the districts: run i approves the first primary school of district i (cycling), whose Q2 figures
first move by +1 (by −1 on the next cycle), so every run has real changes to carry. The progress half is timed
apart (the receiver wrapped) so the values half is the rest.

Nightly — as production runs it: ``full_recompute_task``'s steps (``fan_out_unit_ids``, ``start_nightly_run``,
then ``full_recompute_district_task`` per unit on ``BENCH_APPROVAL_WORKERS`` workers, default 2 like the
Procfile's ``--concurrency 2``; the last one announces the values once and the targets' progress is computed
once), against the engine alone over the whole tree in one pass (``engine.full_recompute(root_unit_ids=[root])``:
one statement per level for every unit, nothing announced — not the per-district path that a plain
``full_recompute()`` takes on a filled table, which is itself the nightly run's work without its workers).
Alternated, on unchanged data.

World: ``bench/dataset.py`` at ``BENCH_APPROVAL_UNITS`` units (else ``BENCH_UNITS``, default 20000), the engine's
full recompute, the benchmark plan of ``bench_progress`` (46 targets over the whole tree) and a full progress
recompute: database ``bench_approval_<units>``, a fresh copy of ``bench_world_<units>`` (``bench/world.py``) at each
run (``BENCH_APPROVAL_DATABASE_URL`` uses a database as it is instead).

    BENCH_APPROVAL_UNITS=20000 .venv/bin/python bench/bench_approval.py
    BENCH_APPROVAL_UNITS=100000 BENCH_APPROVAL_NIGHTLY_RUNS=0 .venv/bin/python bench/bench_approval.py

Reported: median and p90 of ``BENCH_APPROVAL_RUNS`` approvals (default 21) after 2 warm-ups, the progress
half's median, the Progress rows written per approval; the nightly run's and the engine's median of
``BENCH_APPROVAL_NIGHTLY_RUNS`` (default 3; 0 skips them) and their ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchdb import bench_units

ROOT = Path(__file__).resolve().parent.parent
UNITS = bench_units("BENCH_APPROVAL_UNITS")
DB_NAME = f"bench_approval_{UNITS}"
RUNS = int(os.environ.get("BENCH_APPROVAL_RUNS", "21"))
NIGHTLY_RUNS = int(os.environ.get("BENCH_APPROVAL_NIGHTLY_RUNS", "3"))
# Production's worker runs ``--concurrency 2`` (Procfile, deploy/worker): the district tasks run two at a time.
WORKERS = int(os.environ.get("BENCH_APPROVAL_WORKERS", "2"))
WARM_UPS = 2


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


def run() -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from benchdb import setup_django

    setup_django("approval", DB_NAME, units=UNITS, world=True)
    import bench_progress
    import dataset
    from django.db import connection, connections
    from django.utils import timezone

    from indicators import engine, tasks
    from indicators import recompute as pipeline
    from indicators.models import IndicatorValue, PendingRecompute
    from schools.models import Level, OrgUnit
    from submissions.models import Period, Submission
    from targets import receivers
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
    # One primary school per district: the approvals touch every district's rows in turn.
    schools: list[OrgUnit] = []
    for district in OrgUnit.objects.filter(level=Level.DISTRICT).order_by("path"):
        school = (
            OrgUnit.objects.filter(path__startswith=district.path, school_type="primary", is_active=True)
            .order_by("path")
            .first()
        )
        if school is not None:
            schools.append(school)
    assert schools
    submissions = {s.pk: Submission.objects.get(org_unit=s, period=q2).pk for s in schools}

    progress_times: list[float] = []
    incremental = receivers.recompute_progress_for_unit

    def timed_progress(**kwargs: Any) -> int:
        t0 = time.perf_counter()
        try:
            return incremental(**kwargs)
        finally:
            progress_times.append(time.perf_counter() - t0)

    setattr(receivers, "recompute_progress_for_unit", timed_progress)  # noqa: B010  (wrapped for the timing)
    # The stored window rows (issue 17) are their own task, queued after the values' commit: recorded here and
    # timed apart (run right after each approval, as a worker would), not inside the approval task.
    window_task = getattr(tasks, "update_window_rows_task", None)
    queued: list[Any] = []
    window_times: list[float] = []
    if window_task is not None:
        from indicators import windows
        from indicators.models import IndicatorWindowValue

        if not IndicatorWindowValue.objects.exists():
            windows.rebuild()
        real_delay = window_task.delay
        setattr(window_task, "delay", queued.append)  # noqa: B010
    timings: list[float] = []
    written: list[int] = []
    try:
        for i in range(RUNS + WARM_UPS if RUNS > 0 else 0):
            school = schools[i % len(schools)]
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE submissions_value SET value = value + %s WHERE submission_id = %s",
                    [1 if (i // len(schools)) % 2 == 0 else -1, submissions[school.pk]],
                )
            pending = PendingRecompute.objects.create(org_unit=school, period=q2, reason="bench")
            before = timezone.now()
            t0 = time.perf_counter()
            pipeline.process_pending(pending.pk)
            elapsed = time.perf_counter() - t0
            if window_task is not None and queued:
                t1 = time.perf_counter()
                window_task(queued.pop())
                if i >= WARM_UPS:
                    window_times.append(time.perf_counter() - t1)
            if i >= WARM_UPS:
                timings.append(elapsed)
                written.append(Progress.objects.filter(computed_at__gte=before).count())
    finally:
        setattr(receivers, "recompute_progress_for_unit", incremental)  # noqa: B010
        if window_task is not None:
            setattr(window_task, "delay", real_delay)  # noqa: B010
    progress_part = progress_times[WARM_UPS:]
    results: list[dict[str, Any]] = [] if RUNS <= 0 else [
        {"name": f"approval task (values + progress), {UNITS} units, median of {RUNS}",
         "value": round(statistics.median(timings) * 1000, 1), "unit": "ms",
         "note": f"p90 {_p90(timings) * 1000:.1f} ms; progress half median "
                 f"{statistics.median(progress_part) * 1000:.1f} ms; {len({s.pk for s in schools[:RUNS]})} "
                 f"schools in as many districts; {targets} targets; progress rows written per approval "
                 f"{min(written)}–{max(written)} of {Progress.objects.count()}; set-up {setup:.0f} s"},
    ]  # fmt: skip
    if window_times:
        results.append(
            {"name": f"its window task (update_window_rows_task, after the approval task), median of {RUNS}",
             "value": round(statistics.median(window_times) * 1000, 1), "unit": "ms",
             "note": f"p90 {_p90(window_times) * 1000:.1f} ms"}
        )  # fmt: skip

    if NIGHTLY_RUNS > 0:
        nightly: list[float] = []
        engine_only: list[float] = []
        units = pipeline.fan_out_unit_ids()
        root_ids = list(OrgUnit.objects.filter(parent__isnull=True).values_list("pk", flat=True))

        def district_task(unit_id: int, run_id: int) -> None:
            try:
                tasks.full_recompute_district_task(unit_id, None, run_id)
            finally:
                connections.close_all()  # this worker thread's connection

        # The window rebuild the last district queues (issue 17): its own task, recorded and timed apart once.
        rebuild_task = getattr(tasks, "rebuild_window_rows_task", None)
        rebuilds: list[Any] = []
        if rebuild_task is not None:
            real_rebuild = rebuild_task.delay
            setattr(rebuild_task, "delay", lambda *args: rebuilds.append(args))  # noqa: B010
        for _ in range(NIGHTLY_RUNS):
            t0 = time.perf_counter()
            nightly_run = pipeline.start_nightly_run(len(units), None)
            # WORKERS worker processes take the district tasks as they come (threads here: the work is in SQL).
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                for future in [pool.submit(district_task, unit_id, nightly_run.pk) for unit_id in units]:
                    future.result()
            nightly.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.full_recompute(root_unit_ids=root_ids, announce=False)
            engine_only.append(time.perf_counter() - t0)
        ratio = statistics.median(nightly) / statistics.median(engine_only)
        if rebuild_task is not None:
            setattr(rebuild_task, "delay", real_rebuild)  # noqa: B010
            if rebuilds:
                t0 = time.perf_counter()
                rebuild_task(*rebuilds[-1])
                results.append(
                    {"name": f"the nightly run's window rebuild (rebuild_window_rows_task), {UNITS} units, once",
                     "value": round(time.perf_counter() - t0, 2), "unit": "s"}
                )  # fmt: skip
        results += [
            {"name": f"nightly run as production runs it (values per unit + progress once), {UNITS} units, "
                     f"median of {NIGHTLY_RUNS}",
             "value": round(statistics.median(nightly), 2), "unit": "s",
             "note": f"{len(units)} units of work on {WORKERS} workers; {ratio:.2f}× the engine-only full "
                     "recompute"},
            {"name": f"engine-only full recompute, {UNITS} units, median of {NIGHTLY_RUNS}",
             "value": round(statistics.median(engine_only), 2), "unit": "s"},
            {"name": f"nightly run vs engine-only full recompute, {UNITS} units", "value": round(ratio, 2),
             "unit": "×", "goal": "≤ 1.5"},
        ]  # fmt: skip
    return results


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']}  {row.get('note', '')}\n")
