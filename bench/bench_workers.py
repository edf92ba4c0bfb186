"""Benchmark (issue 17): approvals per second with 1, 2 and 4 recompute workers, approvals spread over districts.

Each worker is a process (as Celery's prefork workers are) with its own database connection, taking pending-row ids
from a shared queue and calling ``indicators.recompute.process_pending`` — what ``process_pending_recompute_task``
runs. Before a round, one primary school per district (42 at 20,000 units) has its 2023Q2 figures moved by ±1 and a
``PendingRecompute`` row recorded: every run has real changes, and no two approvals of a round share a district.

Two workloads:

* ``cpu``: the engine as it is. On this 2-core machine (shared) the database and the workers compete for the same
  two cores, so throughput cannot grow much past 2× whatever the locks do;
* ``wait``: every level statement first sleeps ``BENCH_WORKERS_SLEEP_MS`` (default 40 ms) inside the transaction,
  under the locks (``pg_sleep``): a database that waits on disk or network instead of computing. There the locks,
  not the cores, decide whether more workers help.

The values part of the task only (``values_changed`` receivers disconnected): the targets' progress that follows
runs one approval at a time under its own global lock (``targets/progress.py`` ``PROGRESS_LOCK``), outside the
engine; ``BENCH_WORKERS_PROGRESS=1`` keeps it.

Lock wait = the time spent in ``engine._lock`` (``pg_advisory_xact_lock``), summed over workers; its share is that
sum over (workers × wall time). A merged run (``burst``): ``BENCH_WORKERS_BURST`` approvals per district recorded
together, one worker: engine runs and approvals/s.

    .venv/bin/python bench/bench_workers.py                 # this code
    BENCH_ROOT=/work/main .venv/bin/python bench/bench_workers.py   # another checkout's code (e.g. main, before)

Database ``bench_workers_<units>`` (``BENCH_WORKERS_UNITS``, else ``BENCH_UNITS``, default 20000): a fresh copy of
``bench_world_<units>`` (``bench/world.py``) made by the parent process at each run; the worker processes only
connect to it. ``BENCH_WORKERS_DATABASE_URL`` uses a database as it is instead.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchdb import bench_units

ROOT = Path(os.environ.get("BENCH_ROOT", Path(__file__).resolve().parent.parent))
BENCH = Path(__file__).resolve().parent
UNITS = bench_units("BENCH_WORKERS_UNITS")
DB_NAME = f"bench_workers_{UNITS}"
ROUNDS = int(os.environ.get("BENCH_WORKERS_ROUNDS", "2"))
SLEEP_MS = int(os.environ.get("BENCH_WORKERS_SLEEP_MS", "40"))
BURST = int(os.environ.get("BENCH_WORKERS_BURST", "4"))
PROGRESS = os.environ.get("BENCH_WORKERS_PROGRESS") == "1"
WORKER_COUNTS = [int(n) for n in os.environ.get("BENCH_WORKERS_COUNTS", "1,2,4").split(",")]


def _setup(copy: bool = False) -> None:
    """``copy``: make the database a fresh copy of the world first (the parent, once; never a worker)."""
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.chdir(ROOT)
    from benchdb import setup_django

    setup_django("workers", DB_NAME, units=UNITS, world=copy)


def _instrument(mode: str) -> None:
    """Time the engine's lock waits; in ``wait`` mode make each level statement wait under the locks."""
    from django.db import connection

    from indicators import engine

    real_lock, real_level = engine._lock, engine._run_level

    def timed_lock(keys: Any) -> None:
        started = time.perf_counter()
        real_lock(keys)
        _STATS["lock_wait"] += time.perf_counter() - started

    def sleepy_level(*args: Any, **kwargs: Any) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [SLEEP_MS / 1000])
        return real_level(*args, **kwargs)

    engine._lock = timed_lock
    if mode == "wait":
        engine._run_level = sleepy_level
    runs = engine.recompute_units if hasattr(engine, "recompute_units") else engine.recompute_for

    def counted(*args: Any, **kwargs: Any) -> int:
        _STATS["engine_runs"] += 1
        return runs(*args, **kwargs)

    if hasattr(engine, "recompute_units"):
        engine.recompute_units = counted
    else:
        engine.recompute_for = counted


_STATS: dict[str, float] = {"lock_wait": 0.0, "engine_runs": 0}


def _worker(mode: str, ids: mp.Queue, results: mp.Queue) -> None:
    from django.db import connection

    from indicators import events
    from indicators.recompute import process_pending

    connection.close()  # never share the parent's socket
    _instrument(mode)
    if not PROGRESS:
        # The values only: targets' progress has a global lock of its own (targets/progress.py PROGRESS_LOCK,
        # one approval's progress at a time), not the engine's, and is measured by bench_approval.py.
        events.values_changed.receivers = []
        events.values_changed.sender_receivers_cache.clear()
    while True:
        pending_id = ids.get()
        if pending_id is None:
            break
        process_pending(pending_id)
    results.put(dict(_STATS))
    connection.close()


def _round(schools: list[Any], q2: Any, step: int) -> list[int]:
    """Move each school's Q2 figures by ±1 and record its pending row."""
    from django.db import connection

    from indicators.models import PendingRecompute

    ids = []
    with connection.cursor() as cursor:
        for school in schools:
            cursor.execute(
                "UPDATE submissions_value SET value = value + %s WHERE submission_id IN "
                "(SELECT id FROM submissions_submission WHERE org_unit_id = %s AND period_id = %s)",
                [1 if step % 2 == 0 else -1, school.pk, q2.pk],
            )
    for school in schools:
        ids.append(PendingRecompute.objects.create(org_unit=school, period=q2, reason="bench").pk)
    return ids


def _measure(mode: str, workers: int, schools: list[Any], q2: Any) -> dict[str, Any]:
    from django.db import connection

    ctx = mp.get_context("fork")
    approvals, wall, lock_wait, runs = 0, 0.0, 0.0, 0
    for step in range(ROUNDS):
        pending_ids = _round(schools, q2, step)
        connection.close()
        ids: mp.Queue = ctx.Queue()
        results: mp.Queue = ctx.Queue()
        for pending_id in pending_ids:
            ids.put(pending_id)
        for _ in range(workers):
            ids.put(None)
        procs = [ctx.Process(target=_worker, args=(mode, ids, results)) for _ in range(workers)]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        stats = [results.get() for _ in procs]
        for proc in procs:
            proc.join()
        wall += time.perf_counter() - started
        approvals += len(pending_ids)
        lock_wait += sum(s["lock_wait"] for s in stats)
        runs += int(sum(s["engine_runs"] for s in stats))
    return {
        "mode": mode,
        "workers": workers,
        "approvals": approvals,
        "engine_runs": runs,
        "wall_s": round(wall, 2),
        "approvals_per_s": round(approvals / wall, 2),
        "lock_wait_s": round(lock_wait, 2),
        "lock_wait_share": round(lock_wait / (workers * wall), 3),
    }


def main() -> list[dict[str, Any]]:
    _setup(copy=True)
    from django.db.models import Min

    from indicators import engine
    from indicators.models import IndicatorValue
    from schools.models import OrgUnit
    from submissions.models import Period

    if not IndicatorValue.objects.exists():
        import dataset

        dataset.build()
        engine.full_recompute()
    q2 = Period.objects.get(year=2023, quarter=2)
    districts = list(OrgUnit.objects.filter(depth=1).order_by("pk"))
    schools: list[Any] = []
    for district in districts:
        first = (
            OrgUnit.objects.filter(path__startswith=district.path, school_type="primary", is_active=True)
            .filter(submissions__period=q2)
            .aggregate(pk=Min("pk"))["pk"]
        )
        if first is not None:
            schools.append(OrgUnit.objects.get(pk=first))
    print(f"{ROOT}: {len(districts)} districts, {len(schools)} approvals a round, {ROUNDS} rounds", flush=True)
    rows = []
    for mode in ("cpu", "wait"):
        for workers in WORKER_COUNTS:
            row = _measure(mode, workers, schools, q2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    # Approvals arriving together, BURST per district, one worker: merged runs.
    by_district: list[Any] = []
    for district in districts:
        by_district.extend(
            OrgUnit.objects.filter(path__startswith=district.path, school_type="primary", is_active=True)
            .filter(submissions__period=q2)
            .order_by("pk")[:BURST]
        )
    row = _measure("cpu", 1, by_district, q2)
    row["mode"] = f"burst of {BURST} per district"
    rows.append(row)
    print(json.dumps(row), flush=True)
    return rows


def run() -> list[dict[str, Any]]:
    """``main``'s measurements as ``run_all.py`` rows: approvals/s per workload and worker count, the ratio of the
    most workers to one (goal ≥ 2.5 for 4 workers, issue 17) and the merged burst."""
    measured = main()
    rows: list[dict[str, Any]] = []
    per_s: dict[tuple[str, int], float] = {}
    for row in measured:
        mode, workers = str(row["mode"]), int(row["workers"])
        per_s[(mode, workers)] = float(row["approvals_per_s"])
        rows.append(
            {
                "name": f"workers: approvals/s, {mode} workload, {workers} worker(s), {UNITS} units",
                "value": row["approvals_per_s"],
                "unit": "approvals/s",
                "note": f"{row['approvals']} approvals in {row['wall_s']} s, {row['engine_runs']} engine runs, "
                f"lock-wait share {row['lock_wait_share']}",
            }
        )
    most = max(WORKER_COUNTS)
    for mode in ("cpu", "wait"):
        if (mode, 1) in per_s and (mode, most) in per_s and most > 1:
            rows.append(
                {
                    "name": f"workers: {most} workers vs 1, {mode} workload, {UNITS} units",
                    "value": round(per_s[(mode, most)] / per_s[(mode, 1)], 2),
                    "unit": "×",
                    "goal": "≥ 2.5" if most == 4 else "",
                }
            )
    return rows


if __name__ == "__main__":
    main()
