"""Benchmark (issue 17): year and half-year values at the root and at a ~2,000-unit subtree, on PostgreSQL.

Database ``bench_windows`` (``bench_windows_<N>`` with ``--units N``; created and filled once): the engine bench's
data (``generate_dataset --units N --seed 1`` + ``bench/dataset.py``: 30 figures, 2023Q1–Q4 approved values, the
demo's indicators of every kind) and one full recompute. Measured, median of RUNS calls after a warm-up:

- ``engine.window_values(every indicator, [unit], 2023)`` — what the API and the indicator page call: the year
  is the stored Q4 row wherever it is the year's value (one read of ``IndicatorValue``);
- the statement that computes a window when it is not stored (H2, an offset by a quarter, 不适用 answers, a unit
  with no stored row): ``engine._computed_window_values`` over the year, for the same units;
- the definition before issue 17 (``tests/indicators/window_reference.py``, members joined to their unit), once;

at the root and at whole districts holding 2,000 units (a district of the synthetic tree holds ~480). The
three must agree (max |difference| of the values, rounded to the stored 6 places, in the note).

    .venv/bin/python bench/bench_windows.py
    BENCH_UNITS=100000 .venv/bin/python bench/bench_windows.py     # = make bench UNITS=100000
"""

from __future__ import annotations

import os
import statistics
import time
from decimal import Decimal
from typing import Any

from benchdb import bench_units, db_name

UNITS = bench_units("BENCH_WINDOWS_UNITS")
# BENCH_WINDOWS_DB: a copy of another bench world (e.g. ``createdb -T bench_world_100000 windows_world_100000``).
DB_NAME = os.environ.get("BENCH_WINDOWS_DB") or db_name("bench_windows", UNITS)
RUNS = 10
SUBTREE = 2000


def _setup() -> None:
    from benchdb import setup_django

    setup_django("windows", DB_NAME, units=UNITS, world=True)
    import dataset
    from django.db import connection

    from indicators import engine, windows
    from indicators.models import Indicator, IndicatorValue, PeriodMode

    dataset.build()
    # Indicators whose windows no quarter row answers (issue 17): half-year ones (H2), one reading ``[-1]``
    # (its year too; a figure with 不适用 answers takes the same stored-row path).
    ratio = Indicator.objects.filter(aggregation="ratio", is_active=True).exclude(numerator="").order_by("code")[0]
    created = []
    for code, numerator, mode in (
        ("bench_half", ratio.numerator, PeriodMode.HALF),
        ("bench_shift", f"{ratio.numerator}[-1]", "year"),  # the dataset's ratios read one figure each
    ):
        added, new = Indicator.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "numerator": numerator,
                "denominator": ratio.denominator,
                "factor": ratio.factor,
                "aggregation": "ratio",
                "period_mode": mode,
            },
        )
        if new:
            created.append(added.pk)
    if not IndicatorValue.objects.exists():
        engine.full_recompute()
    # Indicators added after the data set's full recompute (ours, or a copied database's): computed once, as a
    # definition change would (their quarter rows; the window rows are rebuilt below).
    created += list(Indicator.objects.filter(is_active=True, values__isnull=True).values_list("pk", flat=True))
    if created:
        engine.full_recompute(indicator_ids=sorted(set(created)))
    start = time.perf_counter()
    # What the window task after a full / nightly recompute does (windows.rebuild: bottom-up, every year the
    # data feeds), timed against the engine's own full recompute of the same world (BENCH_WINDOWS_FULL=1).
    written = windows.rebuild()
    print(
        f"windows.rebuild (every stored window row, every unit): {written} rows in {time.perf_counter() - start:.1f} s"
    )
    if os.environ.get("BENCH_WINDOWS_FULL") == "1":
        start = time.perf_counter()
        engine.full_recompute(announce=False)  # values only (announce=False: no window task, no progress)
        print(f"engine.full_recompute (values only): {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _median_ms(func: Any, runs: int = RUNS) -> float:
    func()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _once_ms(func: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return round((time.perf_counter() - start) * 1000, 1), result


def _subtree_units() -> tuple[list[Any], int]:
    """Whole districts, in path order, until their subtrees hold SUBTREE units (a district of the synthetic tree
    holds about 480): the requested units and their member count."""
    from schools.models import OrgUnit

    chosen: list[Any] = []
    size = 0
    for unit in OrgUnit.objects.filter(level="district").order_by("path").only("pk", "path"):
        chosen.append(unit)
        size += OrgUnit.objects.filter(path__startswith=unit.path, is_active=True).count()
        if size >= SUBTREE:
            break
    return chosen, size


def _values(rows: list[Any]) -> dict[tuple[int, int], Decimal | None]:
    return {
        (v.indicator.pk, v.org_unit.pk): None if v.value is None else Decimal(str(v.value)).quantize(Decimal("1e-6"))
        for v in rows
    }


def _max_diff(a: dict[tuple[int, int], Decimal | None], b: dict[tuple[int, int], Decimal | None]) -> Decimal:
    assert a.keys() == b.keys()
    worst = Decimal(0)
    for key, left in a.items():
        right = b[key]
        if (left is None) != (right is None):
            return Decimal("Infinity")
        if left is not None and right is not None:
            worst = max(worst, abs(left - right))
    return worst


def _sums_diff(computed: dict[tuple[int, int], tuple[object, ...]], old: list[Any]) -> Decimal:
    """The computed statement's numerators and denominators against the old definition's."""
    worst = Decimal(0)
    for v in old:
        row = computed.get((v.indicator.pk, v.org_unit.pk), (None, None))
        for mine, theirs in zip(row[:2], (v.numerator, v.denominator), strict=True):
            if (mine is None) != (theirs is None):
                return Decimal("Infinity")
            if mine is not None and theirs is not None:
                worst = max(worst, abs(Decimal(str(mine)) - Decimal(str(theirs))))
    return worst


def run() -> list[dict[str, object]]:
    _setup()
    from indicators import engine
    from schools.models import OrgUnit
    from tests.indicators.window_reference import reference_window_values

    window = engine.parse_window("2023")
    assert window is not None
    compiled = engine.load_indicators()
    indicators = [c.indicator for c in compiled]
    root = OrgUnit.objects.get(parent__isnull=True)
    subtree, size = _subtree_units()
    total = OrgUnit.objects.count()
    rows: list[dict[str, object]] = []
    cases = ((f"root ({total} units)", [root]), (f"{len(subtree)} districts ({size} units)", subtree))
    for label, units in cases:
        plan = engine._Plan(compiled, [])
        new_ms = _median_ms(lambda units=units: engine.window_values(indicators, units, window))
        computed_ms = _median_ms(
            lambda units=units, plan=plan: engine._computed_window_values(plan, compiled, units, window), runs=3
        )
        old_ms, old = _once_ms(lambda units=units: reference_window_values(indicators, units, window))
        new = _values(engine.window_values(indicators, units, window))
        computed = engine._computed_window_values(plan, compiled, units, window)
        diff = _max_diff(new, _values(old))
        sums_diff = _sums_diff(computed, old)
        name = f"windows: year 2023 of {len(indicators)} indicators at the {label}"
        rows += [
            {
                "name": f"{name}, engine.window_values (stored Q4 rows), median of {RUNS}",
                "value": new_ms,
                "unit": "ms",
                "goal": "≤ 200 ms",
                "note": f"max |new − old definition| = {diff}",
            },
            {
                "name": f"{name}, the computed statement (H2 / offsets / 不适用 path), median of 3",
                "value": computed_ms,
                "unit": "ms",
                "note": f"max |numerator or denominator − old definition's| = {sums_diff}",
            },
            {"name": f"{name}, the definition before issue 17, once", "value": old_ms, "unit": "ms"},
        ]
    rows += _stored_windows(root, subtree, size, total)
    return rows


def _stored_windows(root: Any, subtree: list[Any], size: int, total: int) -> list[dict[str, object]]:
    """H1 (answered by the stored Q2 rows), H2 and a year no quarter row answers (``[-1]``), read from the stored
    rows; and the cost an approval adds to keep them (``windows.recompute_units``) next to the engine's own step."""
    from indicators import engine
    from indicators.models import Indicator
    from schools.models import OrgUnit
    from submissions.models import Period

    rows: list[dict[str, object]] = []
    half = list(Indicator.objects.filter(code="bench_half"))
    shift = list(Indicator.objects.filter(code="bench_shift"))
    cases = ((f"root ({total} units)", [root]), (f"{len(subtree)} districts ({size} units)", subtree))
    for code, indicators in (("2023H1", half), ("2023H2", half), ("2023", shift)):
        window = engine.parse_window(code)
        assert window is not None
        compiled = engine.load_indicators([i.pk for i in indicators])
        plan = engine._Plan(compiled, [])
        for label, units in cases:
            ms = _median_ms(lambda units=units, w=window, i=indicators: engine.window_values(i, units, w))
            stored = _values(engine.window_values(indicators, units, window))
            computed = engine._computed_window_values(plan, compiled, units, window)
            fresh = {
                key: engine.value_from_sums(  # type: ignore[arg-type]
                    indicators[0], engine._decimal(r[0]), engine._decimal(r[1]), engine._decimal(r[3]), int(r[2] or 0)
                )
                for key, r in computed.items()
            }
            diff = _max_diff(stored, {k: fresh.get(k) for k in stored} | {})
            kind = code[-2:] if "H" in code else "[-1] year"
            rows.append(
                {
                    "name": f"windows: {code} of {indicators[0].code} ({kind}) at the "
                    f"{label}, engine.window_values (stored window rows), median of {RUNS}",
                    "value": ms,
                    "unit": "ms",
                    "goal": "≤ 200 ms",
                    "note": f"max |stored − computed statement| = {diff}",
                }
            )
    school = OrgUnit.objects.filter(level="school", path__startswith=subtree[0].path).order_by("path").first()
    q4 = Period.objects.get(year=2023, quarter=4)
    assert school is not None
    from indicators import tasks

    queued: list[Any] = []
    real_delay = tasks.update_window_rows_task.delay
    # The approval's own task (values + progress) queues the window task after commit; here it is recorded and
    # timed apart, as a worker would run it right after.
    tasks.update_window_rows_task.delay = lambda changes: queued.append(changes)  # type: ignore[method-assign]
    try:
        approval_times, window_times = [], []
        for _ in range(RUNS + 1):
            queued.clear()
            approval_times.append(_median_ms(lambda: engine.recompute_units([(school.pk, q4.pk)]), runs=1))
            assert len(queued) >= 1
            window_times.append(_median_ms(lambda: tasks.update_window_rows_task(queued[-1]), runs=1))
    finally:
        tasks.update_window_rows_task.delay = real_delay  # type: ignore[method-assign]
    rows += [
        {
            "name": f"windows: one approval (2023Q4), engine.recompute_units (values; window task queued), "
            f"median of {RUNS}",
            "value": round(statistics.median(approval_times[1:]), 1),
            "unit": "ms",
        },
        {
            "name": f"windows: its window task (tasks.update_window_rows_task, run after), median of {RUNS}",
            "value": round(statistics.median(window_times[1:]), 1),
            "unit": "ms",
        },
    ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']}: {row['value']} {row['unit']}"
            + (f"  (goal {row['goal']})" if row.get("goal") else "")
            + (f"  [{row['note']}]" if row.get("note") else "")
        )
