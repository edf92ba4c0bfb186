"""Benchmark (issue 17): the last page of every API list whose rows grow with the units, walked by ``?cursor=``.

For each list (org units, submissions, indicator values, designations, users, memberships) the bench starts at
``?cursor=&limit=1000``, follows ``next`` to the end (checking that every row comes exactly once; a list of more
than WALK_PAGES pages, the indicator values at 20,000 units, over its last WALK_PAGES pages), then times the
last page it reached (``limit=100``, the default page size) and, for comparison, the same rows by
``limit/offset`` (COUNT(*) + OFFSET). It also records the dashboard's HTML size (the scope picker must not list
every unit). Median of RUNS requests after a warm-up, Django test Client in-process, as a bureau admin of the root.

Database ``bench_api_pages_<units>``: a fresh copy of ``bench_world_<units>`` (``bench/world.py``: the tree,
``bench/dataset.py``'s submissions, values and designations, a full recompute of the standard indicators) plus one
principal user per school (set-based inserts); ``BENCH_API_PAGES_DATABASE_URL`` uses a database as it is instead.
Run it at two sizes; the cursor columns must stay flat:

    .venv/bin/python bench/bench_api_pages.py 20000        # default: BENCH_UNITS, else 20,000 (run_all.py)
    .venv/bin/python bench/bench_api_pages.py 100000
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlencode

from benchdb import bench_units

RUNS = 5
# A list longer than this many pages of 1000 is walked over its last WALK_PAGES pages (BENCH_API_WALK_PAGES).
WALK_PAGES = int(os.environ.get("BENCH_API_WALK_PAGES", "200"))
LISTS = [
    "/api/v1/org-units/",
    "/api/v1/submissions/",
    "/api/v1/indicator-values/",
    "/api/v1/designations/",
    "/api/v1/users/",
    "/api/v1/memberships/",
]


def _median_ms(client: Any, url: str, params: dict[str, str] | None = None, runs: int = RUNS) -> float:
    response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url, params or {})
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _arrange(units: int) -> dict[str, Any]:
    from benchdb import setup_django

    setup_django("api_pages", f"bench_api_pages_{units}", units=units, world=True)
    import dataset
    from django.contrib.auth import get_user_model
    from django.db import connection

    from indicators import engine
    from indicators.models import IndicatorValue
    from plans.models import Plan
    from schools.models import Level, Membership, OrgUnit, Role

    root = OrgUnit.objects.get(code="GEN")
    dataset.build()
    if not IndicatorValue.objects.exists():
        engine.full_recompute()
    user_model = get_user_model()
    if not Membership.objects.filter(role=Role.PRINCIPAL).exists():
        schools = list(OrgUnit.objects.filter(level=Level.SCHOOL).values_list("pk", "code"))
        user_model.objects.bulk_create(
            [user_model(username=f"p-{code}", password="!") for _, code in schools], batch_size=5000
        )
        ids = dict(user_model.objects.filter(username__startswith="p-").values_list("username", "pk"))
        Membership.objects.bulk_create(
            [Membership(user_id=ids[f"p-{code}"], org_unit_id=pk, role=Role.PRINCIPAL) for pk, code in schools],
            batch_size=5000,
        )
    admin, _ = user_model.objects.get_or_create(username="bench-admin")
    Membership.objects.get_or_create(user=admin, org_unit=root, role=Role.BUREAU_ADMIN)
    plan, _ = Plan.objects.get_or_create(code="bench-api", defaults={"title": "2023", "year": 2023, "owner_unit": root})
    with connection.cursor() as cursor:
        # Bulk-loaded tables have no statistics yet. Only this database's tables: a bare ANALYZE also takes the
        # shared catalogs and waits behind other databases' transactions on a shared server.
        for table in ("schools_orgunit", "schools_membership", "schools_designation", "auth_user",
                      "submissions_submission", "submissions_value", "targets_indicatorvalue"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    return {"user": admin, "root": root, "plan": plan}


def _cursor_at(pk: int) -> str:
    """The cursor DRF's CursorPagination puts in ``next`` after the row ``pk`` (keyset on the primary key)."""
    return base64.b64encode(urlencode({"p": str(pk)}).encode("ascii")).decode("ascii")


def _walk(client: Any, path: str, start: str = "") -> tuple[int, int, str]:
    """Follow ``next`` from ``start`` (empty: the first page) to the end: (rows, pages, the last page's URL)."""
    url: str | None = path
    params: dict[str, str] | None = {"cursor": start, "limit": "1000"}
    seen: set[str] = set()
    rows = pages = 0
    last = ""
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, (url, response.status_code)
        body = response.json()
        assert "count" not in body, path
        for item in body["results"]:
            key = repr(sorted(item.items()))
            assert key not in seen, (path, item)
            seen.add(key)
        rows += len(body["results"])
        pages += 1
        last = response.request["PATH_INFO"] + "?" + response.request["QUERY_STRING"]
        url, params = body["next"], None
    return rows, pages, last


def run(units: int | None = None) -> list[dict[str, object]]:
    """``run_all.py`` rows: per list its last page of 100 by cursor (goal ≤ 200 ms) and by offset; the dashboard's
    HTML size (goal under 100 KB) and time at the root and at a district."""
    return [_as_row(units or bench_units(), row) for row in measure(units or bench_units())]


def _as_row(units: int, row: dict[str, object]) -> dict[str, object]:
    if "html bytes" in row:
        scope = str(row["list"]).removeprefix("dashboard scope=")
        return {
            "name": f"api pages: dashboard HTML, scope {scope}, {units} units",
            "value": row["html bytes"],
            "unit": "bytes",
            "goal": "< 100 KB",
            "note": f"{row['ms']} ms (median of {RUNS})",
        }
    name = f"api pages: {row['list']} last page of 100 ({row['rows']} rows, {units} units)"
    return {"name": f"{name}, by cursor", "value": row["cursor last page ms"], "unit": "ms", "goal": "≤ 200 ms",
            "note": f"by offset (COUNT + OFFSET) {row['offset last page ms']} ms; walked {row['rows walked']} rows "
                    f"in {row['pages of 1000']} pages of 1000"}  # fmt: skip


def measure(units: int) -> list[dict[str, object]]:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    ctx = _arrange(units)
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(ctx["user"])
    results: list[dict[str, object]] = []
    from indicators.models import IndicatorValue
    from submissions.models import Submission

    long_lists = {"/api/v1/indicator-values/": IndicatorValue, "/api/v1/submissions/": Submission}
    for path in LISTS:
        total = rows = 0
        start = ""
        if path in long_lists:
            # A million indicator values at 20,000 units (390,000 submissions at 100,000): the walk follows
            # ``next`` over the last WALK_PAGES pages only, starting from the cursor a client would have reached
            # there (same keyset, same queries).
            model = long_lists[path]
            total = model.objects.count()
            if total > WALK_PAGES * 1000:
                start = _cursor_at(model.objects.order_by("-pk").values_list("pk", flat=True)[WALK_PAGES * 1000])
        rows, pages, last = _walk(client, path, start)
        total = total or rows
        # The last page at the default size: the cursor of the walk's last page, limit 100 instead of 1000.
        last_100 = last.replace("limit=1000", "limit=100")
        cursor_ms = _median_ms(client, last_100)
        offset_ms = _median_ms(
            client,
            path,
            {"limit": "100", "offset": str(max(total - 100, 0))},
            runs=1 if total > WALK_PAGES * 1000 else RUNS,  # seconds per request: one after the warm-up
        )
        results.append(
            {
                "list": path,
                "rows": total,
                "rows walked": rows,
                "pages of 1000": pages,
                "cursor last page ms": cursor_ms,
                "offset last page ms": offset_ms,
            }
        )
    dashboard = reverse("reports:dashboard")
    for scope in (ctx["root"].code, ctx["root"].children.order_by("code").first().code):
        params = {"plan": ctx["plan"].code, "scope": scope}
        size = len(client.get(dashboard, params).content)
        results.append(
            {"list": f"dashboard scope={scope}", "html bytes": size, "ms": _median_ms(client, dashboard, params)}
        )
    return results


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else bench_units()
    for row in run(n):
        print(f"{row['name']}: {row['value']} {row['unit']}  {row.get('note', '')}")
