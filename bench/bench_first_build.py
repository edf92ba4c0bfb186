"""Benchmark (issue 17): the first build (empty indicator-value table) and the dashboard reads made meanwhile.

``engine.full_recompute()`` runs in one process; another reads the bureau's indicator values every 100 ms as a
dashboard does (one indexed query), a third reads the bureau's org-unit row as often (every page reads org units;
dropping or adding a foreign key locks that table too), and each records how long its reads took. Reported: the
build's time, the longest read of each and how many reads took over a second. The table is emptied first
(``TRUNCATE``): run it on a copy.

    .venv/bin/python bench/bench_first_build.py                        # this code
    BENCH_ROOT=/work/main .venv/bin/python bench/bench_first_build.py  # another checkout's (before)
    BENCH_STAGING_UNLOGGED=1 .venv/bin/python bench/bench_first_build.py  # the staging table UNLOGGED, then LOGGED

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


IV_READ = "SELECT indicator_id, period_id, value FROM targets_indicatorvalue WHERE org_unit_id = %s"
UNIT_READ = "SELECT id, name, path FROM schools_orgunit WHERE id = %s"


def _reader(sql: str, bureau_id: int, stop: Any, results: Any) -> None:
    from django.db import connection

    connection.close()
    timings: list[float] = []
    while not stop.is_set():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, [bureau_id])
            cursor.fetchall()
            timings.append(time.perf_counter() - started)
        time.sleep(0.1)
    connection.close()
    results.put((sql, timings))


def main() -> dict[str, Any]:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.chdir(ROOT)
    from benchdb import setup_django

    setup_django("workers", f"bench_first_build_{UNITS}", units=UNITS, world=True)
    from django.db import connection

    from indicators import engine
    from schools.models import OrgUnit

    if os.environ.get("BENCH_STAGING_UNLOGGED"):
        engine.STAGING_UNLOGGED = True
    bureau = OrgUnit.objects.get(depth=0, code="GEN")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE targets_indicatorvalue")
    connection.close()
    ctx = mp.get_context("fork")
    stop, results = ctx.Event(), ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(sql, bureau.pk, stop, results)) for sql in (IV_READ, UNIT_READ)]
    for reader in readers:
        reader.start()
    time.sleep(0.5)
    started = time.perf_counter()
    rows = engine.full_recompute()
    build = time.perf_counter() - started
    stop.set()
    by_sql = dict(results.get() for _reader in readers)
    for reader in readers:
        reader.join()
    timings, unit_timings = by_sql[IV_READ], by_sql[UNIT_READ]
    measured = {
        "root": str(ROOT),
        "rows": rows,
        "build_s": round(build, 2),
        "reads": len(timings),
        "staging_unlogged": bool(getattr(engine, "STAGING_UNLOGGED", False)),
        "longest_read_s": round(max(timings), 3),
        "reads_over_1s": sum(1 for t in timings if t > 1),
        "longest_unit_read_s": round(max(unit_timings), 3),
        "unit_reads_over_1s": sum(1 for t in unit_timings if t > 1),
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
        {"name": "first build: longest org-unit read meanwhile", "value": m["longest_unit_read_s"], "unit": "s",
         "note": f"{m['unit_reads_over_1s']} reads over 1 s"},
    ]  # fmt: skip


if __name__ == "__main__":
    main()
