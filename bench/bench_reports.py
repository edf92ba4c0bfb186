"""Benchmark: report pages and the Excel progress workbook at 20,000 units, on PostgreSQL.

Database ``bench_reports`` (created if missing) holds ``generate_dataset --units 20000 --seed 1``
plus, written here with bulk inserts (the engine is not what is measured), a 2023 plan with four
targets and their inputs:

- kindergarten enrolment rate (ratio, kindergartens only; one target on the aggregate, one that
  applies to each unit → a drill-down sheet of ~9,600 kindergartens),
- primary retention rate (ratio, primary schools),
- schools with classes over 55 (limit ≤ 0, every school → a drill-down sheet of ~19,500 rows),

indicator values for every unit of the tree and each quarter (subtree sums, so aggregates are
exact), Progress rows at the scope and its districts.

Measured (Django test Client, server time = the request's wall time, median of 20 after a warm-up):
the dashboard at the root, the drill-down at the root (children = districts) and the league table
of all kindergartens sorted by gap. Then the full workbook for the root scope (time without
tracemalloc, peak Python memory in a second run with it) and the same data rows exported through
django-import-export (bench-only dependency) in the same process, its querysets given ``select_related`` so it
runs a fixed number of queries (counted in a third run), not one per row.

    .venv/bin/python bench/bench_reports.py
"""

from __future__ import annotations

import io
import random
import statistics
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchdb import bench_units, db_name

ROOT = Path(__file__).resolve().parent.parent
UNITS = bench_units()
DB_NAME = db_name("bench_reports", UNITS)
RUNS = 20
PLAN = "bench-2023"


def _setup_django() -> None:
    from benchdb import setup_django

    setup_django("reports", DB_NAME, units=UNITS, world=True)


def _arrange() -> dict[str, Any]:
    """Plan, indicators, targets, values and progress (idempotent: skipped when the plan exists)."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from indicators.models import Aggregation, Indicator, IndicatorValue
    from plans.models import Plan, Section
    from schools.models import Level, Membership, OrgUnit, Role, SchoolType
    from submissions.models import Period
    from targets.models import Comparator, Progress, Target, TargetKind

    root = OrgUnit.objects.get(code="GEN")
    user, _ = get_user_model().objects.get_or_create(username="bench-inspector")
    Membership.objects.get_or_create(user=user, org_unit=root, role=Role.INSPECTOR)
    if Plan.objects.filter(code=PLAN).exists():
        return {"user": user, "plan": Plan.objects.get(code=PLAN), "root": root}
    with transaction.atomic():
        periods = []
        for q in range(1, 5):
            start = dt.date(2023, 3 * q - 2, 1)
            period, _ = Period.objects.get_or_create(
                code=f"2023Q{q}",
                defaults={
                    "year": 2023,
                    "quarter": q,
                    "opens_on": start,
                    "due_on": start + dt.timedelta(days=100),
                    "locks_on": start + dt.timedelta(days=120),
                },
            )
            periods.append(period)
        plan = Plan.objects.create(code=PLAN, title="2023年基准测试工作要点", year=2023, owner_unit=root)
        equity = Section.objects.create(plan=plan, code="equity", title="教育公平", order=1)
        quality = Section.objects.create(plan=plan, code="quality", title="教育质量", order=2)
        kg = Indicator.objects.create(
            code="bench_kg_rate",
            name="学前一年幼儿入园率",
            numerator="kg_in",
            denominator="kg_cohort",
            factor=Decimal(100),
            decimals=1,
            unit="%",
            aggregation=Aggregation.RATIO,
            unit_filter_school_types=[SchoolType.KINDERGARTEN],
        )
        pri = Indicator.objects.create(
            code="bench_pri_retention",
            name="小学巩固率",
            numerator="grads",
            denominator="entrants",
            factor=Decimal(100),
            decimals=1,
            unit="%",
            aggregation=Aggregation.RATIO,
            unit_filter_school_types=[SchoolType.PRIMARY],
        )
        big = Indicator.objects.create(
            code="bench_big_classes",
            name="55人以上大班额学校数",
            numerator="big",
            decimals=0,
            unit="所",
            aggregation=Aggregation.COUNT_UNITS_WHERE,
            condition="big > 0",
        )
        common = {"plan": plan, "scope": root, "kind": TargetKind.THRESHOLD, "comparator": Comparator.GTE}
        targets = [
            Target.objects.create(
                section=equity,
                code="kg-rate",
                text="学前一年幼儿入园率达 99% 以上",
                indicator=kg,
                target_value=Decimal(99),
                baseline_value=Decimal("97.5"),
                order=1,
                **common,
            ),
            Target.objects.create(
                section=equity,
                code="kg-each",
                text="每所幼儿园入园率均达 95% 以上",
                indicator=kg,
                target_value=Decimal(95),
                applies_to_each_unit=True,
                order=2,
                **common,
            ),
            Target.objects.create(
                section=quality,
                code="pri-retention",
                text="小学阶段巩固率达 100%",
                indicator=pri,
                target_value=Decimal(100),
                order=1,
                **common,
            ),
            Target.objects.create(
                section=quality,
                code="big-class",
                text="严格控制 55 人以上的大班额",
                indicator=big,
                plan=plan,
                scope=root,
                kind=TargetKind.LIMIT,
                comparator=Comparator.LTE,
                target_value=Decimal(0),
                order=2,
            ),
        ]
        rng = random.Random(7)
        units = list(OrgUnit.objects.order_by("-depth").values("pk", "parent_id", "level", "school_type"))
        now = timezone.now()
        rows: list[IndicatorValue] = []
        for period in periods:
            sums: dict[tuple[int, int], list[Decimal]] = {}
            for u in units:  # deepest first: children are summed before their parent is written
                for ind in (kg, pri, big):
                    key = (ind.pk, u["pk"])
                    if u["level"] == Level.SCHOOL:
                        if ind is kg and u["school_type"] != SchoolType.KINDERGARTEN:
                            continue
                        if ind is pri and u["school_type"] != SchoolType.PRIMARY:
                            continue
                        if ind is big:
                            num, den = Decimal(1 if rng.random() < 0.01 else 0), None
                        else:
                            den = Decimal(rng.randint(8, 400))
                            num = min(den, den - rng.randint(0, 3) + period.quarter // 4)
                        sums[key] = [num, den or Decimal(0)]
                    elif key not in sums:
                        continue
                    num, den_sum = sums[key]
                    den = None if ind is big else den_sum
                    value = num if ind is big else (num / den * 100 if den else None)
                    rows.append(
                        IndicatorValue(
                            indicator=ind,
                            org_unit_id=u["pk"],
                            period=period,
                            numerator=num,
                            denominator=den,
                            value=value,
                            unit_count=1,
                            computed_at=now,
                        )
                    )
                    if u["parent_id"]:
                        parent = sums.setdefault((ind.pk, u["parent_id"]), [Decimal(0), Decimal(0)])
                        parent[0] += num
                        parent[1] += den_sum
        IndicatorValue.objects.bulk_create(rows, batch_size=5000)
        districts = list(OrgUnit.objects.filter(parent=root).values_list("pk", flat=True))
        progress = []
        for target in targets:
            for period in periods:
                for unit_id in [root.pk, *districts]:
                    actual = (
                        IndicatorValue.objects.filter(indicator=target.indicator, org_unit_id=unit_id, period=period)
                        .values_list("value", flat=True)
                        .first()
                    )
                    met = actual is not None and (
                        actual <= target.target_value if target.comparator == "lte" else actual >= target.target_value
                    )
                    progress.append(
                        Progress(
                            target=target,
                            period=period,
                            org_unit_id=unit_id,
                            actual=actual,
                            expected=target.target_value,
                            status="met" if met else "off_track",
                            computed_at=now,
                        )
                    )
        Progress.objects.bulk_create(progress, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # freshly bulk-loaded tables have no statistics: plans would be guessed
    return {"user": user, "plan": plan, "root": root}


def _median_ms(client: Any, url: str, params: dict[str, str]) -> float:
    response = client.get(url, params)  # warm-up (and a check)
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _import_export(plan: Any, root: Any, period: Any) -> int:
    """The same data rows as our drill-down and data sheets, through django-import-export → xlsx."""
    from import_export import fields, resources
    from tablib import Databook

    from indicators.models import IndicatorValue
    from schools.models import OrgUnit
    from targets.models import Target
    from targets.queries import drilldown_queryset, is_unit_level

    class DrilldownResource(resources.ModelResource):
        parent_name = fields.Field(attribute="parent__name", column_name="上级单位")
        numerator = fields.Field(attribute="numerator")
        denominator = fields.Field(attribute="denominator")
        value = fields.Field(attribute="value")
        gap = fields.Field(attribute="gap")
        status = fields.Field(attribute="status")
        is_small = fields.Field(attribute="is_small")

        class Meta:
            model = OrgUnit
            fields = (
                "code",
                "name",
                "parent_name",
                "school_type",
                "ownership",
                "numerator",
                "denominator",
                "value",
                "gap",
                "status",
                "is_small",
            )

    class ValueResource(resources.ModelResource):
        indicator_code = fields.Field(attribute="indicator__code")
        indicator_name = fields.Field(attribute="indicator__name")
        unit_code = fields.Field(attribute="org_unit__code")
        unit_name = fields.Field(attribute="org_unit__name")
        level = fields.Field(attribute="org_unit__level")
        period_code = fields.Field(attribute="period__code")

        class Meta:
            model = IndicatorValue
            fields = (
                "indicator_code",
                "indicator_name",
                "unit_code",
                "unit_name",
                "level",
                "period_code",
                "numerator",
                "denominator",
                "value",
                "unit_count",
            )

    book = Databook()
    rows = 0
    for target in Target.objects.filter(plan=plan).select_related("indicator"):
        if is_unit_level(target):
            # The parent's name is a column: without select_related django-import-export reads it one query per row.
            qs = drilldown_queryset(target, root, period, rows="schools").select_related("parent")
            data = DrilldownResource().export(queryset=qs)
            data.title = f"明细-{target.code}"
            book.add_sheet(data)
            rows += len(data)
    indicator_ids = Target.objects.filter(plan=plan).values_list("indicator_id", flat=True)
    qs = IndicatorValue.objects.filter(
        indicator_id__in=indicator_ids, period=period, org_unit__path__startswith=root.path
    ).select_related("indicator", "org_unit", "period")
    data = ValueResource().export(queryset=qs)
    data.title = "指标数据"
    book.add_sheet(data)
    rows += len(data)
    content = book.export("xlsx")
    assert len(content) > 0
    return rows


def _measure(func: Any) -> tuple[float, float, Any]:
    """(seconds without tracemalloc, peak MiB with tracemalloc in a second run, result)."""
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    func()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(seconds, 2), round(peak / 1024 / 1024, 1), result


def run() -> list[dict[str, object]]:
    _setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from reports.xlsx import build_workbook
    from submissions.models import Period

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    ctx = _arrange()
    plan, root = ctx["plan"], ctx["root"]
    q4 = Period.objects.get(code="2023Q4")
    client = Client()
    client.force_login(ctx["user"])
    dashboard = _median_ms(client, reverse("reports:dashboard"), {"plan": PLAN, "scope": "GEN", "period": "2023Q4"})
    target_url = reverse("reports:target_detail", kwargs={"plan": PLAN, "code": "kg-rate"})
    drill = _median_ms(client, target_url, {"period": "2023Q4"})
    league = _median_ms(client, target_url, {"period": "2023Q4", "rows": "schools", "sort": "gap"})

    def ours() -> int:
        return build_workbook(plan, root, q4, io.BytesIO())

    our_s, our_mib, our_rows = _measure(ours)
    their_s, their_mib, their_rows = _measure(lambda: _import_export(plan, root, q4))
    with CaptureQueriesContext(connection) as captured:
        _import_export(plan, root, q4)
    their_queries = len(captured.captured_queries)
    units = f"{UNITS} units"
    return [
        {
            "name": f"reports: dashboard median server time ({units})",
            "value": dashboard,
            "unit": "ms",
            "goal": "≤ 100 ms",
        },
        {
            "name": f"reports: drill-down median server time ({units}, children of the root)",
            "value": drill,
            "unit": "ms",
            "goal": "≤ 150 ms",
        },
        {
            "name": f"reports: league table of all kindergartens sorted by gap ({units})",
            "value": league,
            "unit": "ms",
            "goal": "≤ 150 ms",
        },
        {"name": f"reports: full workbook time ({our_rows} data rows)", "value": our_s, "unit": "s"},
        {"name": "reports: full workbook peak Python memory (tracemalloc)", "value": our_mib, "unit": "MiB"},
        {
            "name": f"reports: django-import-export, same {their_rows} data rows, time",
            "value": their_s,
            "unit": "s",
            "note": f"{their_queries} queries (select_related on every sheet: no query per row)",
        },
        {"name": "reports: django-import-export peak Python memory (tracemalloc)", "value": their_mib, "unit": "MiB"},
        {
            "name": "reports: workbook speed-up vs django-import-export",
            "value": round(their_s / our_s, 1),
            "unit": "×",
            "goal": "≥ 3×",
        },
        {
            "name": "reports: workbook memory saving vs django-import-export",
            "value": round(their_mib / our_mib, 1),
            "unit": "×",
            "goal": "≥ 5×",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row.get("goal") else ""))
