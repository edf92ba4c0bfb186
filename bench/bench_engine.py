"""Benchmark: the indicator engine at 20,000 units, on PostgreSQL (see bench/README.md).

Database ``bench_engine`` (created if missing): ``generate_dataset --units 20000 --seed 1`` plus
``bench/dataset.py`` (30 figures, 2023Q1–Q4 approved values, designations, the demo's indicators of every kind:
ratios, sums, max, count-where, the three cv indicators, four designation counts — one of them provincial grants
only). Measures

(a) ``engine.full_recompute()`` — every indicator × unit (all levels) × quarter, written (best of 2, as (b));
(b) the floor: the same work in the fewest plain statements — YTD/latest of every figure, every indicator's
    numerator and denominator (sums of the figures each side reads; designation counts), every level of the tree
    (one statement for the reporting units, then one per level summing the children's rows), written to an
    indexed table;
(c) a straightforward per-unit ORM implementation (kept below as the reference) on a sample of
    units per level, extrapolated to the whole tree (it would take far more than 3 minutes);
(d) ``engine.recompute_for`` after one approval (one value changed), median of 20.

It also checks the engine's rows against the reference on the sample (max absolute difference).

    .venv/bin/python bench/bench_engine.py
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchdb import bench_units, db_name

ROOT = Path(__file__).resolve().parent.parent
UNITS = bench_units("BENCH_ENGINE_UNITS")  # a smaller tree for a quick trial run, or --units 100000
DB_NAME = db_name("bench_engine", UNITS)
INCREMENTAL_RUNS = 20
ROUNDS = 2  # (a) and (b): best of ROUNDS each
# Reference sample: units per level (the bureau itself is measured on one period only).
SAMPLE = {"school": 40, "township": 4, "district": 2, "bureau": 1}


def _setup_django() -> None:
    from benchdb import setup_django

    setup_django("engine", DB_NAME, units=UNITS, world=True)


# --- (b) the floor: the same work as the engine in the fewest plain statements ---

# Effective values of every reporting unit: YTD sums of flow figures, the latest value of stock figures, for every
# quarter of the year (what the engine's ``eff`` computes).
_EFF = """
tp AS (SELECT id, year, quarter FROM submissions_period),
eff AS (
  SELECT s.org_unit_id AS unit_id, tp.id AS period_id, v.figure_id, SUM(v.value) AS value
  FROM submissions_value v JOIN submissions_submission s ON s.id = v.submission_id
  JOIN submissions_period p ON p.id = s.period_id JOIN submissions_figure f ON f.id = v.figure_id
  JOIN tp ON p.year = tp.year AND p.quarter <= tp.quarter
  WHERE s.status = 'approved' AND f.time_aggregation = 'flow'
  GROUP BY s.org_unit_id, tp.id, v.figure_id
  UNION ALL
  SELECT * FROM (
  SELECT DISTINCT ON (s.org_unit_id, tp.id, v.figure_id) s.org_unit_id, tp.id, v.figure_id, v.value
  FROM submissions_value v JOIN submissions_submission s ON s.id = v.submission_id
  JOIN submissions_period p ON p.id = s.period_id JOIN submissions_figure f ON f.id = v.figure_id
  JOIN tp ON p.year = tp.year AND p.quarter <= tp.quarter
  WHERE s.status = 'approved' AND f.time_aggregation = 'stock' AND v.value IS NOT NULL
  ORDER BY s.org_unit_id, tp.id, v.figure_id, p.quarter DESC) latest
)"""

# Statement 1: every reporting unit's own numerator and denominator of every indicator — the sum of the figures its
# numerator (or condition) and its denominator (or weight) read — and every designation-count indicator's count of
# grants held at each quarter's end, into an indexed table.
FLOOR_OWN_SQL = (
    "INSERT INTO bench_floor (org_unit_id, indicator_id, period_id, numerator, denominator) WITH"
    + _EFF
    + """
SELECT eff.unit_id, m.indicator_id, eff.period_id,
       SUM(CASE WHEN m.role = 0 THEN eff.value END), SUM(CASE WHEN m.role = 1 THEN eff.value END)
FROM eff JOIN bench_floor_map m ON m.figure_id = eff.figure_id
GROUP BY eff.unit_id, m.indicator_id, eff.period_id
UNION ALL
SELECT d.org_unit_id, k.indicator_id, p.id, COUNT(*), NULL
FROM schools_designation d JOIN bench_floor_kind k ON k.kind_id = d.kind_id AND (k.level = '' OR k.level = d.level)
JOIN submissions_period p ON d.granted_on >= make_date(p.year, 1, 1)
  AND d.granted_on <= make_date(p.year, 3 * p.quarter, 1) + interval '1 month - 1 day'
  AND (d.revoked_on IS NULL OR d.revoked_on > make_date(p.year, 3 * p.quarter, 1) + interval '1 month - 1 day')
GROUP BY d.org_unit_id, k.indicator_id, p.id
"""
)

# Then one statement per tree level, deepest first: each parent's rows are the sums of its children's rows, added to
# its own (districts report population figures themselves).
FLOOR_LEVEL_SQL = """
INSERT INTO bench_floor (org_unit_id, indicator_id, period_id, numerator, denominator)
SELECT u.parent_id, f.indicator_id, f.period_id, SUM(f.numerator), SUM(f.denominator)
FROM bench_floor f JOIN schools_orgunit u ON u.id = f.org_unit_id
WHERE u.depth = %s AND u.parent_id IS NOT NULL
GROUP BY u.parent_id, f.indicator_id, f.period_id
ON CONFLICT (org_unit_id, indicator_id, period_id) DO UPDATE SET
  numerator = COALESCE(bench_floor.numerator + EXCLUDED.numerator, bench_floor.numerator, EXCLUDED.numerator),
  denominator = COALESCE(bench_floor.denominator + EXCLUDED.denominator, bench_floor.denominator,
                         EXCLUDED.denominator)
"""


def _floor_inputs(cursor: Any) -> None:
    """The indicators' definitions as two small tables (which figures feed which side; which grants count)."""
    from indicators import engine
    from indicators.models import Aggregation
    from portal import expressions
    from submissions.models import Figure

    figure_ids = dict(Figure.objects.values_list("code", "pk"))
    sides: set[tuple[int, int, int]] = set()
    kinds: list[tuple[int, int, str]] = []
    for compiled in engine.load_indicators():
        indicator = compiled.indicator
        if indicator.aggregation == Aggregation.COUNT_DESIGNATIONS:
            kinds.append((indicator.pk, int(indicator.designation_kind_id or 0), indicator.designation_level or ""))
            continue
        sided = ((0, (compiled.numerator, compiled.condition)), (1, (compiled.denominator, compiled.weight)))
        for role, nodes in sided:
            for node in nodes:
                if node is not None:
                    for code, _offset in expressions.references(node):
                        if code in figure_ids:
                            sides.add((indicator.pk, figure_ids[code], role))
    cursor.execute("CREATE TEMP TABLE bench_floor_map (indicator_id integer, figure_id integer, role integer)")
    cursor.executemany("INSERT INTO bench_floor_map VALUES (%s, %s, %s)", sorted(sides))
    cursor.execute("CREATE TEMP TABLE bench_floor_kind (indicator_id integer, kind_id integer, level text)")
    cursor.executemany("INSERT INTO bench_floor_kind VALUES (%s, %s, %s)", kinds)
    cursor.execute("ANALYZE bench_floor_map")
    cursor.execute("ANALYZE bench_floor_kind")


def floor_seconds() -> tuple[float, int]:
    """Time the floor (one statement for the reporting units, one per level above them); returns (s, rows)."""
    from django.db import connection, transaction

    from schools.models import OrgUnit

    max_depth = OrgUnit.objects.order_by("-depth").values_list("depth", flat=True).first() or 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '128MB'")  # the same memory the engine gets
        cursor.execute("SET LOCAL jit = off")  # as the engine (engine._no_jit)
        for table in ("bench_floor", "bench_floor_map", "bench_floor_kind"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        _floor_inputs(cursor)
        started = time.perf_counter()
        cursor.execute(
            "CREATE TEMP TABLE bench_floor (org_unit_id integer, indicator_id integer, period_id integer, "
            "numerator numeric, denominator numeric, PRIMARY KEY (org_unit_id, indicator_id, period_id))"
        )
        cursor.execute(FLOOR_OWN_SQL)
        cursor.execute("ANALYZE bench_floor")
        for depth in range(max_depth, 0, -1):
            cursor.execute(FLOOR_LEVEL_SQL, [depth])
            cursor.execute("ANALYZE bench_floor")
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT COUNT(*) FROM bench_floor")
        rows = cursor.fetchone()[0]
        for table in ("bench_floor", "bench_floor_map", "bench_floor_kind"):
            cursor.execute(f"DROP TABLE {table}")
    return elapsed, rows


# --- (c) the reference: a straightforward per-unit ORM implementation ---


def reference_value(compiled: Any, unit: Any, period: Any) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """Value of one indicator for one unit and period the obvious way: load the subtree's values, loop."""
    from indicators.explain import eligible_units
    from indicators.models import Aggregation
    from portal import expressions
    from schools.models import OrgUnit
    from submissions.models import Value

    indicator = compiled.indicator
    units = eligible_units(indicator, unit)
    by_unit: dict[int, dict[tuple[str, int], Decimal | None]] = {u.pk: {} for u in units}
    for code, offset in compiled.refs:
        idx = period.index - offset
        year, quarter = idx // 4, idx % 4 + 1
        rows = Value.objects.filter(
            submission__org_unit__in=OrgUnit.objects.filter(pk__in=list(by_unit)),
            submission__status="approved",
            submission__period__year=year,
            submission__period__quarter__lte=quarter,
            figure__code=code,
        ).values_list("submission__org_unit_id", "figure__time_aggregation", "submission__period__quarter", "value")
        for unit_id, agg, _quarter, value in sorted(rows, key=lambda r: r[2]):
            if value is None:
                continue
            current = by_unit[unit_id].get((code, offset))
            by_unit[unit_id][(code, offset)] = value if agg == "stock" or current is None else current + value
    nums, dens = [], []
    for values in by_unit.values():
        if indicator.aggregation == Aggregation.COUNT_UNITS_WHERE:
            holds = expressions.evaluate_condition(compiled.condition, values)
            if holds is not None:
                nums.append(Decimal(int(holds)))
            continue
        num = expressions.evaluate(compiled.numerator, values)
        den = expressions.evaluate(compiled.denominator, values) if compiled.denominator is not None else None
        if num is not None:
            nums.append(num)
        if den is not None:
            dens.append(den)
    if indicator.aggregation == Aggregation.MAX:
        num_total = max(nums) if nums else None
    elif indicator.aggregation == Aggregation.MIN:
        num_total = min(nums) if nums else None
    else:
        num_total = sum(nums, Decimal(0)) if nums else None
    den_total = sum(dens, Decimal(0)) if dens else None
    if indicator.aggregation == "ratio":
        value = None if num_total is None or not den_total else num_total * indicator.factor / den_total
    else:
        value = num_total
    return num_total, den_total, value


def reference_run(periods: list[Any]) -> dict[str, Any]:
    """Time the reference on a sample per level; extrapolate to every unit × period × indicator."""
    from indicators.engine import load_indicators
    from indicators.models import DISPERSION_AGGREGATIONS, IndicatorValue
    from schools.models import OrgUnit

    # Designation counts and the spreads across units (mean / stddev / cv: bench_dispersion.py) have no
    # per-unit reference here.
    skipped = {"count_designations", *DISPERSION_AGGREGATIONS}
    compiled = [c for c in load_indicators() if c.indicator.aggregation not in skipped]
    rng = random.Random(7)
    per_level: dict[str, float] = {}
    counts: dict[str, int] = {}
    max_diff = Decimal(0)
    compared = 0
    for level, size in SAMPLE.items():
        ids = list(OrgUnit.objects.filter(level=level, path__startswith=OrgUnit.objects.get(code="GEN").path)
                   .values_list("pk", flat=True))  # fmt: skip
        counts[level] = len(ids)
        sample = OrgUnit.objects.filter(pk__in=rng.sample(ids, min(size, len(ids))))
        sample_periods = periods[-1:] if level == "bureau" else periods
        started = time.perf_counter()
        triples = 0
        for unit in sample:
            for period in sample_periods:
                for c in compiled:
                    num, den, value = reference_value(c, unit, period)
                    # The reference writes its row like any implementation would.
                    stored = IndicatorValue.objects.filter(indicator=c.indicator, org_unit=unit, period=period).first()
                    triples += 1
                    if stored is not None and value is not None and stored.value is not None:
                        max_diff = max(max_diff, abs(stored.value - value.quantize(Decimal("0.000001"))))
                        compared += 1
        per_level[level] = (time.perf_counter() - started) / triples
    total = sum(per_level[level] * counts[level] * len(periods) * len(compiled) for level in SAMPLE)
    return {
        "seconds": total,
        "indicators": len(compiled),
        "per_level": per_level,
        "counts": counts,
        "max_diff": max_diff,
        "compared": compared,
    }


# --- (d) incremental after one approval ---


@contextmanager
def engine_alone() -> Iterator[None]:
    """Nothing follows the engine's writes: the ``values_changed`` / ``levels_written`` receivers (the targets'
    progress, notifications, the stored window rows: their own Celery tasks in production, run inline here by the
    eager setting) are disconnected while the engine is timed. Since the bench worlds hold the benchmark plan
    (2026-12-04), rows (a) and (d) had included a full progress recompute per run; the whole approval task is
    bench_approval's measure."""
    from indicators import events

    saved = [(signal, signal.receivers) for signal in (events.values_changed, events.levels_written)]
    try:
        for signal, _receivers in saved:
            signal.receivers = []
            signal.sender_receivers_cache.clear()
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


def incremental(periods: list[Any]) -> list[float]:
    from indicators import engine
    from schools.models import OrgUnit
    from submissions.models import Value

    rng = random.Random(11)
    schools = list(OrgUnit.objects.filter(level="school", school_type="primary").values_list("pk", flat=True))
    q2 = periods[1]
    timings = []
    for unit_id in rng.sample(schools, INCREMENTAL_RUNS):
        value = Value.objects.filter(submission__org_unit_id=unit_id, submission__period=q2).first()
        if value is not None:
            Value.objects.filter(pk=value.pk).update(value=value.value + 1)  # the approved figure changed
        started = time.perf_counter()
        engine.recompute_for(unit_id, q2.pk)
        timings.append(time.perf_counter() - started)
    return timings


def run() -> list[dict[str, Any]]:
    _setup_django()
    import dataset

    from indicators import engine
    from indicators.models import IndicatorValue
    from schools.models import Designation
    from submissions.models import Period

    counts = dataset.build()
    periods = list(Period.objects.filter(year=dataset.YEAR).order_by("quarter"))
    loaded = engine.load_indicators()
    indicators = len(loaded)
    kinds = Counter(str(c.indicator.aggregation) for c in loaded)
    levels = sorted(c.indicator.designation_level for c in loaded if c.indicator.designation_level)
    note_kinds = (
        ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        + f"; designation counts with a level: {', '.join(levels) or 'none'}; {Designation.objects.count()} grants"
    )

    # Engine and floor measured alike, best of ROUNDS each, alternated: the first statement after a fresh copy of
    # the world reads a cold cache, whichever runs first (until 2026-12-05 the engine ran once, first, and the
    # floor twice, after it).
    empty_runs: list[float] = []
    nightly_runs: list[float] = []
    floor_runs: list[tuple[float, int]] = []
    rows = 0
    with engine_alone():
        for _ in range(ROUNDS):
            IndicatorValue.objects.all().delete()
            started = time.perf_counter()
            rows = engine.full_recompute()  # from an empty table: every row inserted
            empty_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.full_recompute()  # the nightly case: every value confirmed, nothing rewritten
            nightly_runs.append(time.perf_counter() - started)
            floor_runs.append(floor_seconds())
    full_empty, full = min(empty_runs), min(nightly_runs)
    floor = min(seconds for seconds, _rows in floor_runs)
    floor_rows = floor_runs[0][1]

    with engine_alone():
        timings = incremental(periods)
    reference = reference_run(periods)
    note_ref = (
        f"sampled {SAMPLE} units (bureau on one quarter), "
        f"per-call s {', '.join(f'{k} {v:.4f}' for k, v in reference['per_level'].items())}, extrapolated "
        f"to {reference['counts']} × {len(periods)} quarters × {reference['indicators']} indicators "
        f"(designation counts and cv have no per-unit reference); "
        f"max |engine − reference| = {reference['max_diff']} over {reference['compared']} values"
    )
    return [
        {"name": "dataset: approved values", "value": counts["values"], "unit": "rows"},
        {"name": "dataset: indicators (every kind the engine computes)", "value": indicators, "unit": "indicators",
         "note": note_kinds},
        {"name": "(a) full recompute (engine), empty table", "value": round(full_empty, 2), "unit": "s",
         "note": f"{rows} indicator values inserted ({indicators} indicators × all units × 4 quarters); best of "
                 f"{ROUNDS} ({', '.join(f'{t:.2f}' for t in empty_runs)} s)"},
        {"name": "(a) full recompute (engine), unchanged data (nightly)", "value": round(full, 2), "unit": "s",
         "note": f"{IndicatorValue.objects.count()} rows confirmed, none rewritten nor locked; best of {ROUNDS} "
                 f"({', '.join(f'{t:.2f}' for t in nightly_runs)} s)"},
        {"name": "(b) floor: YTD/latest, every indicator's numerator and denominator, every level, indexed table",
         "value": round(floor, 2), "unit": "s",
         "note": f"{floor_rows} (unit, indicator, quarter) rows; best of {ROUNDS} "
                 f"({', '.join(f'{t:.2f}' for t, _r in floor_runs)} s); one statement for the reporting units, "
                 f"one per level above; each side the plain sum of the figures it reads"},
        {"name": "(a)/(b) engine (empty table) vs floor", "value": round(full_empty / floor, 2), "unit": "×",
         "goal": "≤ 2"},
        {"name": "(a)/(b) engine (nightly) vs floor", "value": round(full / floor, 2), "unit": "×", "goal": "≤ 2"},
        {"name": "(c) per-unit ORM reference (extrapolated)", "value": round(reference["seconds"], 1), "unit": "s",
         "note": note_ref},
        {"name": "(c)/(a) speed-up over the reference", "value": round(reference["seconds"] / full_empty, 1),
         "unit": "×", "goal": "≥ 20"},
        {"name": "(d) incremental recompute after one approval, median", "value":
            round(statistics.median(timings) * 1000, 1), "unit": "ms", "goal": "≤ 50",
         "note": f"{INCREMENTAL_RUNS} runs, p90 {sorted(timings)[int(0.9 * len(timings))] * 1000:.1f} ms"},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}  {row.get('note', '')}")
