"""Shared set-up of the benchmarks: each gets its own PostgreSQL database, migrated, optionally with a tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(name: str, db_name: str, *, units: int | None = None, world: bool = False) -> None:
    """Point Django at ``db_name`` (override with BENCH_<NAME>_DATABASE_URL), create and migrate it.

    With ``units``, the synthetic tree of ``generate_dataset --units N --seed 1`` is created once. With ``world``
    (and ``units``), ``db_name`` is first made a fresh copy of ``bench_world_<units>`` (``bench/world.py``: tree,
    values, indicator values, the benchmark plan and its progress; built once per size, copied in seconds), so the
    benchmark's own idempotent set-up finds everything built. BENCH_<NAME>_DATABASE_URL skips the copy: that
    database is used as it is (and built in place when empty, as before).
    """
    for path in (str(ROOT), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    override = os.environ.get(f"BENCH_{name.upper()}_DATABASE_URL")
    if world and units is not None and not override:
        import world as worlds

        worlds.copy_world(units, db_name)
    os.environ["DATABASE_URL"] = override or f"postgres://postgres@127.0.0.1:5432/{db_name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "1")
    # An existing database is fine: createdb then fails and the data built earlier is reused.
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], capture_output=True, check=False)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if units is not None:
        from schools.models import OrgUnit

        if not OrgUnit.objects.filter(code="GEN").exists():
            call_command("generate_dataset", units=units, seed=1, verbosity=0)


DEFAULT_UNITS = 20000


def bench_units(specific_env: str | None = None, default: int = DEFAULT_UNITS) -> int:
    """The tree size of this run: the benchmark's own variable (e.g. ``BENCH_ENGINE_UNITS``) if set, else
    ``BENCH_UNITS`` (``run_all.py --units N`` / ``make bench UNITS=N``), else ``default``."""
    for name in (specific_env, "BENCH_UNITS"):
        if name and os.environ.get(name):
            return int(os.environ[name])
    return default


def db_name(base: str, units: int) -> str:
    """``base`` for the default 20,000-unit tree, ``base_<units>`` for any other size (built once each)."""
    return base if units == DEFAULT_UNITS else f"{base}_{units}"
