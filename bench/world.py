"""One benchmark world per tree size, built once: ``bench_world_<N>``; each benchmark works on a copy of it.

A world holds, for ``N`` units:

- the synthetic tree of ``generate_dataset --units N --seed 1``;
- ``bench/dataset.py``'s figures, periods, approved submissions and values, designations and every indicator kind;
- the indicator values of the engine's full recompute;
- the benchmark plan of ``bench_progress`` (46 targets) and a full progress recompute.

Building a 100,000-unit world takes ~15–18 min of both cores; copying it with
``CREATE DATABASE x TEMPLATE bench_world_<N>`` takes seconds, so every tree-size benchmark starts from its own copy
(``copy_world``) instead of building its own tree. A benchmark that needs another state (e.g. the engine's first
build into an empty table) truncates what it must in its copy.

    .venv/bin/python bench/world.py --units 100000          # build bench_world_100000 (idempotent)
    .venv/bin/python bench/world.py --units 100000 --rebuild  # drop and build it again (after a schema change)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]
# Written last: a world without this marker is an interrupted build, rebuilt from scratch.
READY_TABLE = "bench_world_ready"


def world_name(units: int) -> str:
    return f"bench_world_{units}"


def _psql(sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", *PG, "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"psql failed: {sql}: {result.stderr.strip()}")
    return result.stdout.strip()


def exists(database: str) -> bool:
    return _psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"


def is_ready(units: int) -> bool:
    name = world_name(units)
    return exists(name) and _psql(f"SELECT to_regclass('{READY_TABLE}') IS NOT NULL", name) == "t"


def _build_in_process(units: int) -> None:
    """Runs in a child process whose Django points at the world (see ``ensure_world``)."""
    for path in (str(ROOT), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{world_name(units)}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    steps: list[tuple[str, float]] = []
    started = time.perf_counter()

    def step(label: str) -> None:
        nonlocal started
        now = time.perf_counter()
        steps.append((label, now - started))
        sys.stdout.write(f"  {label}: {now - started:.0f} s\n")
        sys.stdout.flush()
        started = now

    call_command("migrate", verbosity=0)
    step("migrate")
    call_command("generate_dataset", units=units, seed=1, verbosity=0)
    step(f"tree of {units} units")
    import dataset

    dataset.build()
    step("submissions, values, designations, indicators")
    from indicators import engine

    engine.full_recompute()
    step("engine full recompute")
    import bench_progress

    bench_progress._plan()
    from targets.progress import recompute_progress

    recompute_progress()
    step("benchmark plan and full progress recompute")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(f"CREATE TABLE {READY_TABLE} (built_at timestamptz DEFAULT now(), units int)")
        cursor.execute(f"INSERT INTO {READY_TABLE} (units) VALUES (%s)", [units])


def _connections(database: str) -> int:
    return int(_psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"))


def ensure_world(units: int, *, rebuild: bool = False, wait_s: float = 45 * 60) -> str:
    """Build ``bench_world_<units>`` unless a complete one exists; returns its name.

    A world without the ready marker that has sessions on it is being built by another process: wait for it
    (up to ``wait_s``) rather than drop it. Without sessions it is an interrupted build: dropped and built again.
    """
    name = world_name(units)
    if not rebuild:
        deadline = time.monotonic() + wait_s
        while exists(name) and not is_ready(units) and _connections(name) and time.monotonic() < deadline:
            time.sleep(10)
        if is_ready(units):
            return name
    if exists(name):
        _psql(f'DROP DATABASE "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    sys.stdout.write(f"building {name} (once; ~15–18 min at 100,000 units on 2 cores) …\n")
    sys.stdout.flush()
    started = time.perf_counter()
    # A child process: the caller may already have Django set up on another database.
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import world; world._build_in_process({units})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "DEBUG": "1"})
    if result.returncode:
        raise RuntimeError(f"building {name} failed (exit {result.returncode})")
    sys.stdout.write(f"{name} built in {time.perf_counter() - started:.0f} s\n")
    return name


def copy_world(units: int, database: str) -> None:
    """``database`` becomes a fresh copy of the world (dropped first if it exists): seconds, not minutes."""
    template = ensure_world(units)
    if exists(database):
        _psql(f'DROP DATABASE "{database}" WITH (FORCE)')
    # CREATE DATABASE … TEMPLATE refuses while another session is connected to the template (someone reading the
    # world, a pg_dump of it, autovacuum): retry for up to 15 minutes rather than terminate other people's sessions.
    for attempt in range(450):
        try:
            _psql(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
            return
        except RuntimeError as error:
            if "being accessed by other users" not in str(error) or attempt == 449:
                raise
            if attempt % 30 == 0:
                sys.stderr.write(f"{template} is in use by {_connections(template)} session(s): waiting to copy it\n")
            time.sleep(2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    print(ensure_world(args.units, rebuild=args.rebuild), f"ready ({time.perf_counter() - started:.0f} s)")
