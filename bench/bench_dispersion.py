"""Benchmark: the cost of the 校际差异系数 (cv) indicators in a full recompute, at 20,000 units, on PostgreSQL.

The engine bench's database and data set (``bench/dataset.py``, which installs the demo's indicators, the
three cv ones included). One run of each:

(a) ``engine.full_recompute`` of every indicator except the cv ones — empty table, then unchanged data;
(b) the same with the three cv indicators;
(c) the floor as ``bench_engine.py`` defines it (every indicator's numerator and denominator, every level,
    into an indexed table).

Goal: (b) ≤ 2 × (c).

    .venv/bin/python bench/bench_dispersion.py
"""

from __future__ import annotations

import time
from typing import Any

from bench_engine import DB_NAME, UNITS, engine_alone, floor_seconds


def run() -> list[dict[str, Any]]:
    from benchdb import setup_django

    setup_django("engine", DB_NAME, units=UNITS, world=True)
    import dataset

    from indicators import engine
    from indicators.models import DISPERSION_AGGREGATIONS, Indicator, IndicatorValue

    dataset.build()
    active = [c.indicator for c in engine.load_indicators()]
    spreads = [i.pk for i in active if i.aggregation in DISPERSION_AGGREGATIONS]
    others = [i.pk for i in active if i.aggregation not in DISPERSION_AGGREGATIONS]
    assert len(spreads) == 3, Indicator.objects.filter(pk__in=spreads).values_list("code", flat=True)

    def timed(indicator_ids: list[int] | None) -> tuple[float, float, int]:
        IndicatorValue.objects.all().delete()
        with engine_alone():  # the engine's work only, as bench_engine's (a)
            started = time.perf_counter()
            rows = engine.full_recompute(indicator_ids=indicator_ids)
            empty = time.perf_counter() - started
            started = time.perf_counter()
            engine.full_recompute(indicator_ids=indicator_ids)
            nightly = time.perf_counter() - started
        return empty, nightly, rows

    without_empty, without_nightly, without_rows = timed(others)
    with_empty, with_nightly, with_rows = timed(None)
    floor, floor_rows = floor_seconds()
    return [
        {"name": f"(a) full recompute, {len(others)} indicators without cv, empty table", "value":
            round(without_empty, 2), "unit": "s", "note": f"{without_rows} rows"},
        {"name": "(a) the same, unchanged data (nightly)", "value": round(without_nightly, 2), "unit": "s"},
        {"name": f"(b) full recompute, with the {len(spreads)} cv indicators, empty table", "value":
            round(with_empty, 2), "unit": "s", "note": f"{with_rows} rows"},
        {"name": "(b) the same, unchanged data (nightly)", "value": round(with_nightly, 2), "unit": "s"},
        {"name": "(c) floor (bench_engine's)", "value": round(floor, 2), "unit": "s",
         "note": f"{floor_rows} sums"},
        {"name": "(b)/(c) with cv, empty table vs floor", "value": round(with_empty / floor, 2), "unit": "×",
         "goal": "≤ 2"},
        {"name": "(b)/(c) with cv, nightly vs floor", "value": round(with_nightly / floor, 2), "unit": "×",
         "goal": "≤ 2"},
        {"name": "(b)/(a) cost of the cv indicators, empty table", "value": round(with_empty / without_empty, 2),
         "unit": "×"},
        {"name": "(b)/(a) cost of the cv indicators, nightly", "value": round(with_nightly / without_nightly, 2),
         "unit": "×"},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}  {row.get('goal', '')}  {row.get('note', '')}")
