"""Benchmark: target progress recompute at 20,000 units, on PostgreSQL.

Database ``bench_progress`` (created if missing) holds ``generate_dataset --units 20000 --seed 1`` plus
the engine benchmark's figures and approved values (``bench/dataset.py``), the indicator values of a
full engine recompute, and a 2023 plan over the whole tree with one target per indicator of
``demo.indicators`` (thresholds on the aggregate and per unit, quantities with a sub-target, limits,
per-unit frequencies, designation counts over ~100 designations) plus 10 milestones and 10
narratives with notes.

Measured: the full ``recompute_progress()`` (what the nightly job runs; median of 3 after a warm-up)
with its row and query counts, and the recompute after one quarter's values of one indicator change
(what follows an approval; median of 10) — the indicator is fixed and named: the first by code that has values.

    .venv/bin/python bench/bench_progress.py
"""

from __future__ import annotations

import datetime
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchdb import bench_units, db_name

ROOT = Path(__file__).resolve().parent.parent
UNITS = bench_units("BENCH_PROGRESS_UNITS")
DB_NAME = db_name("bench_progress", UNITS)
PLAN = "bench-progress-2023"


def _setup_django() -> None:
    from benchdb import setup_django

    setup_django("progress", DB_NAME, units=UNITS, world=True)


def _plan() -> int:
    """The plan and its targets (idempotent); returns the number of targets."""
    from indicators.models import Aggregation, Indicator
    from plans.models import Plan, PlanStatus, Section
    from schools.models import Designation, DesignationKind, OrgUnit
    from targets.models import NoteReview, Target, TargetKind, TargetNote

    root = OrgUnit.objects.get(code="GEN")
    plan, _ = Plan.objects.get_or_create(
        code=PLAN,
        defaults={"title": "基准测试工作要点", "year": 2023, "owner_unit": root, "status": PlanStatus.PUBLISHED},
    )
    if plan.targets.exists():
        return plan.targets.count()
    section, _ = Section.objects.get_or_create(plan=plan, code="goals", defaults={"title": "主要目标"})
    kind, _ = DesignationKind.objects.get_or_create(code="bench_standard_kg", defaults={"name": "标准化幼儿园"})
    kgs = list(OrgUnit.objects.filter(school_type="kindergarten").order_by("pk").values_list("pk", flat=True)[:100])
    Designation.objects.bulk_create(
        [
            Designation(org_unit_id=pk, kind=kind, granted_on=datetime.date(2023, 1 + i % 12, 1))
            for i, pk in enumerate(kgs)
        ],
        ignore_conflicts=True,
    )
    count_indicator, _ = Indicator.objects.get_or_create(
        code="bench_designations", defaults={"name": "认定数", "aggregation": Aggregation.COUNT_DESIGNATIONS,
                                             "designation_kind": kind},
    )  # fmt: skip
    targets = []

    def add(code: str, kind_: str, **fields: Any) -> None:
        targets.append(Target(plan=plan, section=section, code=code, text=code, kind=kind_, scope=root, **fields))

    for indicator in Indicator.objects.exclude(pk=count_indicator.pk):
        code = indicator.code
        if indicator.aggregation == Aggregation.RATIO:
            add(f"{code}-agg", TargetKind.THRESHOLD, indicator=indicator, comparator="gte", target_value=Decimal(95))
            add(f"{code}-each", TargetKind.THRESHOLD, indicator=indicator, comparator="gte", target_value=Decimal(90),
                applies_to_each_unit=True, path_mode="flat")  # fmt: skip
        elif code.startswith("central_"):
            add(code, TargetKind.FREQUENCY, indicator=indicator, comparator="gte", per_unit_minimum=Decimal(3))
        elif indicator.aggregation in (Aggregation.MAX, Aggregation.COUNT_UNITS_WHERE) or "over" in code:
            add(code, TargetKind.LIMIT, indicator=indicator, comparator="lte", target_value=Decimal(0))
        elif indicator.aggregation == Aggregation.SUM:
            add(code, TargetKind.QUANTITY, indicator=indicator, comparator="gte", target_value=Decimal(100000))
    add("designations", TargetKind.COUNT_UNITS, indicator=count_indicator, comparator="gte", target_value=Decimal(80))
    for i in range(10):
        add(f"M{i}", TargetKind.MILESTONE, due_date=datetime.date(2023, 9, 30), milestone_status="in_progress")
        add(f"N{i}", TargetKind.NARRATIVE)
    Target.objects.bulk_create(targets)
    by_code = {t.code: t for t in Target.objects.filter(plan=plan)}
    if "kg_new_entrants" in by_code and "kg_new_entrants_migrant" in by_code:
        Target.objects.filter(pk=by_code["kg_new_entrants_migrant"].pk).update(part_of=by_code["kg_new_entrants"])
    TargetNote.objects.bulk_create(
        [TargetNote(target=by_code[f"N{i}"], text="进展", review_status=NoteReview.ACCEPTED) for i in range(10)]
    )
    return len(by_code)


def run() -> list[dict[str, Any]]:
    _setup_django()
    import dataset
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from indicators import engine
    from indicators.models import IndicatorValue
    from submissions.models import Period
    from targets.models import Progress, Target
    from targets.progress import recompute_progress

    dataset.build()
    if not IndicatorValue.objects.exists():
        engine.full_recompute()
    target_count = _plan()

    recompute_progress()  # warm-up
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        rows = recompute_progress()
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as ctx:
        recompute_progress()
    queries = len(ctx.captured_queries)

    q2 = Period.objects.get(year=2023, quarter=2)
    # A fixed, named indicator: the first by code among those with values (not whichever the heap returns first).
    first = (
        IndicatorValue.objects.filter(period=q2)
        .order_by("indicator__code")
        .values_list("indicator_id", "indicator__code")
        .first()
    )
    assert first is not None, "no indicator values for 2023Q2"
    indicator_id, indicator_code = first
    targets_fed = Target.objects.filter(plan__code=PLAN, indicator_id=indicator_id).count()
    incremental = []
    for _ in range(10):
        started = time.perf_counter()
        written = recompute_progress(period_ids=[q2.pk], indicator_ids=[indicator_id])
        incremental.append(time.perf_counter() - started)
    return [
        {"name": "progress: full recompute, median of 3", "value": round(statistics.median(timings), 2), "unit": "s",
         "note": f"{target_count} targets, {rows} progress rows written (unchanged data: a row is rewritten only "
                 f"when it changes), "
                 f"{queries} queries, {Progress.objects.count()} rows in table, {UNITS} units"},
        {"name": f"progress: one indicator ({indicator_code}), one quarter changed (after an approval), median of 10",
         "value": round(statistics.median(incremental) * 1000, 1), "unit": "ms",
         "note": f"indicator {indicator_code} (first by code), {targets_fed} targets fed; {written} rows rewritten "
                 f"(that quarter and the later ones of the year; the values did not change)"},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']}  {row.get('note', '')}\n")
