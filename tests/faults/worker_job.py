"""Subprocess side of the worker-kill test: data set-up, digests and a Celery worker, all against DATABASE_URL.

Run from the project root with the test's environment (DATABASE_URL of a throw-away PostgreSQL database,
REDIS_URL of the test's redis-server):

    python -m tests.faults.worker_job setup UNITS   # migrate, synthetic tree + a year of approved figures
    python -m tests.faults.worker_job recompute     # a clean full recompute, in-process (the reference)
    python -m tests.faults.worker_job clear         # empty the computed tables
    python -m tests.faults.worker_job digest        # JSON: row counts and md5 of the computed tables
    python -m tests.faults.worker_job worker NAME   # a real Celery worker (what `celery -A portal worker` runs)

The worker is started through ``app.worker_main`` rather than the ``celery`` script only so that the test
can shorten the broker's ``visibility_timeout`` (FAULTS_VISIBILITY_TIMEOUT): a message whose worker died
unacknowledged is redelivered after that long, in production after an hour.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Columns that define the computed result (ids of the same natural rows are compared through the
# natural keys; timestamps and surrogate ids differ between runs by design).
DIGESTS = {
    "targets_indicatorvalue": (
        "indicator_id, org_unit_id, period_id",
        "indicator_id, org_unit_id, period_id, numerator, denominator, value, unit_count",
    ),
    "targets_progress": (
        "target_id, period_id, org_unit_id",
        "target_id, period_id, org_unit_id, actual, expected, projection, status, detail",
    ),
}


def _django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def setup(units: int) -> None:
    _django()
    from django.core.management import call_command

    from bench import dataset  # a year of approved figures for every school, with set-based inserts

    call_command("migrate", verbosity=0)
    call_command("generate_dataset", units=units, seed=1, verbosity=0)
    dataset.build()


def recompute() -> None:
    _django()
    from indicators import recompute as pipeline

    pipeline.run()


def clear() -> None:
    _django()
    from indicators.models import IndicatorValue
    from targets.models import Progress

    IndicatorValue.objects.all().delete()
    Progress.objects.all().delete()


def digest() -> dict[str, list[object]]:
    _django()
    from django.db import connection

    result: dict[str, list[object]] = {}
    with connection.cursor() as cursor:
        for table, (order, columns) in DIGESTS.items():
            cursor.execute(
                f"SELECT count(*), coalesce(md5(string_agg(row({columns})::text, '|' ORDER BY {order})), '') "  # noqa: S608  (constants)
                f"FROM {table}"
            )
            count, md5 = cursor.fetchone()
            result[table] = [count, md5]
    return result


def worker(name: str) -> None:
    from portal.celery import app

    timeout = os.environ.get("FAULTS_VISIBILITY_TIMEOUT")
    if timeout:
        options = dict(app.conf.broker_transport_options or {})
        options["visibility_timeout"] = float(timeout)
        app.conf.broker_transport_options = options
    app.worker_main(
        ["worker", "-l", "info", "-c", "1", "-P", "prefork", "-n", f"{name}@%h", "--without-gossip", "--without-mingle"]
    )


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "setup":
        setup(int(argv[1]))
    elif command == "recompute":
        recompute()
    elif command == "clear":
        clear()
    elif command == "digest":
        print(json.dumps(digest()))  # noqa: T201  (read by the test)
    elif command == "worker":
        worker(argv[1])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
