"""Benchmark (issue 17): no request walks the whole tree — API list pages and the drill-down export.

Database ``bench_lists`` (``bench_lists_<units>`` for another ``BENCH_UNITS``): a fresh copy of ``bench_world_<units>``
(``bench/world.py``) with ``bench_reports.py``'s plan added (targets, indicator values for every unit and quarter;
``BENCH_REPORTS_DATABASE_URL`` uses a database as it is instead). Above 20,000 units the old django-tables2 export
(minutes) is skipped unless ``BENCH_LISTS_OLD_EXPORT=1``, and so are the offset pages (``BENCH_LISTS_OFFSET=1``).
Measured, median of RUNS requests after a warm-up (Django test Client in-process, server wall time):

- the last page of ``/api/v1/indicator-values/`` (limit 100) by ``offset`` (COUNT(*) + OFFSET) and the same
  rows by ``cursor`` (keyset on the primary key, no COUNT), and the same for ``/api/v1/org-units/``;
- the league-table drill-down of every school (the "classes over 55" target: ~19,500 rows) exported as
  .xlsx the old way (django-tables2 ``as_values`` into ``portal.xlsx.table_workbook``), and through
  ``reports.drilldown`` (the writer shared by the request and the export job) as .xlsx and CSV, and as a
  whole export job (``exports.run_export_job``: claim, write, store).

    .venv/bin/python bench/bench_lists.py
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import time
from typing import Any
from urllib.parse import urlencode

from benchdb import DEFAULT_UNITS, bench_units, db_name

RUNS = 5
UNITS = bench_units()
DB_NAME = db_name("bench_lists", UNITS)
OLD_EXPORT = os.environ.get("BENCH_LISTS_OLD_EXPORT", "1" if UNITS <= DEFAULT_UNITS else "0") == "1"
# The offset page of millions of indicator values takes minutes a request above 20,000 units (bench_api_pages
# measures it once): skipped there unless BENCH_LISTS_OFFSET=1.
OFFSET = os.environ.get("BENCH_LISTS_OFFSET", "1" if UNITS <= DEFAULT_UNITS else "0") == "1"


def _median_ms(client: Any, url: str, params: dict[str, str]) -> float:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _seconds(func: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return round(time.perf_counter() - start, 2), result


def _cursor_at(pk: int) -> str:
    """The cursor DRF's CursorPagination would put in ``next`` after the row ``pk``."""
    return base64.b64encode(urlencode({"p": str(pk)}).encode("ascii")).decode("ascii")


def _last_pages(client: Any, path: str, model: Any) -> tuple[int, float | None, float, float]:
    """(rows, last page by offset ms or None when skipped, first page by cursor ms, last page by cursor ms)."""
    total = model.objects.count()
    offset = _median_ms(client, path, {"limit": "100", "offset": str(total - 100)}) if OFFSET else None
    first = _median_ms(client, path, {"limit": "100", "cursor": ""})
    before_last = model.objects.order_by("-pk").values_list("pk", flat=True)[100]
    cursor = _median_ms(client, path, {"limit": "100", "cursor": _cursor_at(before_last)})
    return total, offset, first, cursor


def run() -> list[dict[str, object]]:
    import bench_reports
    from benchdb import setup_django

    setup_django("reports", DB_NAME, units=UNITS, world=True)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from indicators.models import IndicatorValue
    from portal.tables import export_table
    from reports import dispatch, drilldown, exports
    from reports.models import ExportJob
    from schools.models import OrgUnit
    from submissions.models import Period
    from targets.models import Target

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    ctx = bench_reports._arrange()
    user, root = ctx["user"], ctx["root"]
    client = Client()
    client.force_login(user)
    # Fresh bulk-loaded tables have no statistics yet (autovacuum would analyse them later): without them the
    # planner takes the scope's path LIKE for ~15 units and sorts the whole join for the first cursor page.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rows: list[dict[str, object]] = []
    for path, model in (("/api/v1/indicator-values/", IndicatorValue), ("/api/v1/org-units/", OrgUnit)):
        total, offset, first, last = _last_pages(client, path, model)
        name = f"lists: {path} page of 100 ({total} rows)"
        if offset is not None:
            rows.append({"name": f"{name}, last page by offset", "value": offset, "unit": "ms"})
        rows.append({"name": f"{name}, first page by cursor", "value": first, "unit": "ms", "goal": "≤ 200 ms"})
        rows.append({"name": f"{name}, last page by cursor", "value": last, "unit": "ms", "goal": "≤ 200 ms"})

    target = Target.objects.select_related("plan", "indicator").get(plan__code=bench_reports.PLAN, code="big-class")
    period = Period.objects.get(code="2023Q4")
    params = {"rows": "schools", "sort": "gap"}

    def table() -> Any:
        return drilldown.drilldown_table(user, target, root, period, params)

    count = table().data.data.count()
    old_s = _seconds(lambda: export_table(table(), "xlsx", "x.xlsx"))[0] if OLD_EXPORT else None
    new_xlsx_s, _ = _seconds(lambda: drilldown.write(table(), "xlsx", io.BytesIO()))
    new_csv_s, _ = _seconds(lambda: drilldown.write(table(), "csv", io.BytesIO()))
    # Production's threshold; below it (a small trial tree) half the rows, so the export still is a job.
    settings.DRILLDOWN_EXPORT_ASYNC_ROWS = min(5000, count // 2)
    # In the request: count the rows, record the job (enqueued after commit; with eager Celery it runs here).
    request_s, result = _seconds(lambda: dispatch.request_drilldown_export(user, target, root, period, params, "xlsx"))
    assert result.job is not None
    exports.run_export_job(result.job.pk)  # no-op when eager Celery already ran it
    job = ExportJob.objects.get(pk=result.job.pk)
    assert job.status == "done", job.error
    assert job.started_at is not None
    assert job.finished_at is not None
    job_s = round((job.finished_at - job.started_at).total_seconds(), 2)
    name = f"lists: drill-down export of {count} rows"
    if old_s is not None:
        rows.append({"name": f"{name}, .xlsx via django-tables2 as_values (before)", "value": old_s, "unit": "s"})
    rows += [
        {"name": f"{name}, .xlsx via reports.drilldown", "value": new_xlsx_s, "unit": "s"},
        {"name": f"{name}, CSV via reports.drilldown", "value": new_csv_s, "unit": "s"},
        {
            "name": f"{name}, .xlsx as a background export job (started → finished)",
            "value": job_s,
            "unit": "s",
            "goal": "≤ 3 s",
        },
        {
            "name": f"{name}, the request that records the job (eager Celery: includes the job)",
            "value": request_s,
            "unit": "s",
        },
    ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row.get("goal") else ""))
