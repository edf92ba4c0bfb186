"""Benchmark (issue 17): the first build (empty indicator-value table) and the dashboard reads made meanwhile.

``engine.full_recompute()`` runs in one process; another reads the bureau's indicator values every 100 ms as a
dashboard does (one indexed query) and records how long each read took. Reported: the build's time, the longest
read and how many reads took over a second. The table is emptied first (``TRUNCATE``): run it on a copy.

    .venv/bin/python bench/bench_first_build.py                        # this code
    BENCH_ROOT=/work/main .venv/bin/python bench/bench_first_build.py  # another checkout's (before)

Database ``bench_first_build_<units>`` (``BENCH_WORKERS_UNITS``, else ``BENCH_UNITS``, default 20000): a fresh copy of
``bench_world_<units>`` (``bench/world.py``) at each run, its indicator values then emptied;
``BENCH_WORKERS_DATABASE_URL`` uses a database as it is instead.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("BENCH_ROOT", Path(__file__).resolve().parent.parent))
BENCH = Path(__file__).resolve().parent
UNITS = int(os.environ.get("BENCH_WORKERS_UNITS") or os.environ.get("BENCH_UNITS") or "20000")


def _reader(bureau_id: int, stop: Any, results: Any) -> None:
    from django.db import connection

    connection.close()
    timings = []
    while not stop.is_set():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indicator_id, period_id, value FROM targets_indicatorvalue WHERE org_unit_id = %s", [bureau_id]
            )
            cursor.fetchall()
        timings.append(time.perf_counter() - started)
        time.sleep(0.1)
    connection.close()
    results.put(timings)


def main() -> dict[str, Any]:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.chdir(ROOT)
    from benchdb import setup_django

    setup_django("workers", f"bench_first_build_{UNITS}", units=UNITS, world=True)
    from django.db import connection

    from indicators import engine
    from schools.models import OrgUnit

    bureau = OrgUnit.objects.get(depth=0, code="GEN")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE targets_indicatorvalue")
    connection.close()
    ctx = mp.get_context("fork")
    stop, results = ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(bureau.pk, stop, results))
    reader.start()
    time.sleep(0.5)
    started = time.perf_counter()
    rows = engine.full_recompute()
    build = time.perf_counter() - started
    stop.set()
    timings = results.get()
    reader.join()
    measured = {
        "root": str(ROOT),
        "rows": rows,
        "build_s": round(build, 2),
        "reads": len(timings),
        "longest_read_s": round(max(timings), 2),
        "reads_over_1s": sum(1 for t in timings if t > 1),
    }
    print(json.dumps(measured), flush=True)
    return measured


def run() -> list[dict[str, Any]]:
    """``main``'s measurement as ``run_all.py`` rows."""
    m = main()
    return [
        {"name": f"first build: full recompute into an empty table, {UNITS} units", "value": m["build_s"],
         "unit": "s", "note": f"{m['rows']} rows"},
        {"name": f"first build: longest dashboard read meanwhile ({m['reads']} reads, every 100 ms)",
         "value": m["longest_read_s"], "unit": "s", "note": f"{m['reads_over_1s']} reads over 1 s"},
    ]  # fmt: skip


if __name__ == "__main__":
    main()
