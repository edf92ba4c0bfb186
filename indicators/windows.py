"""Stored year and half-year values (issue 17): ``IndicatorWindowValue`` rows, written by the engine.

A window's value for a unit's subtree is a combination of its open members' own sums over the window (the
rule of ``engine._computed_window_values``): sums of numerators, denominators, counts and second moments, the
maximum or minimum of a max/min indicator. So a unit's window row is its own sums combined with its children's
window rows, exactly as a quarter row is combined from its children's rows — which lets the engine store them:

- the full recompute writes every row of the roots' subtrees in one linear statement per window
  (``scope="subtrees"``), then the roots' ancestors from their children's rows;
- an approval rewrites the changed units' and their ancestors' rows only, bottom-up: each unit's own sums (one
  small statement per window) plus its children's stored rows.

Only the windows no quarter row answers are stored (``needs_row``): every H2, and the year and H1 of an
indicator whose year is not its Q4 row (an offset that is not whole years, a figure with 不适用 answers).
``engine.window_values`` reads them and computes only for a unit without a row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from indicators import engine
from indicators.models import Aggregation, IndicatorWindowValue
from schools.models import OrgUnit
from submissions.models import Period

Sums = tuple[object, ...]  # num, den, cnt, m2, left out
Key = tuple[int, int]  # (indicator id, unit id)
CHUNK = 5000
WRITE_BATCH = 2000


def half_of(window: engine.Window) -> int:
    """0 for the whole year, 1 for H1, 2 for H2."""
    if window.kind == "year":
        return 0
    return 1 if window.first_quarter == 1 else 2


def windows_of_years(years: Iterable[int]) -> list[engine.Window]:
    found = []
    for year in sorted(set(years)):
        for code in (f"{year}", f"{year}H1", f"{year}H2"):
            window = engine.parse_window(code)
            assert window is not None
            found.append(window)
    return found


def needs_row(plan: engine._Plan, compiled: engine.CompiledIndicator, window: engine.Window) -> bool:
    """Is ``compiled``'s value over ``window`` stored here (no quarter row is it)?"""
    if not engine.window_allowed(compiled.indicator, window):
        return False
    if window.first_quarter != 1:
        return True  # H2 does not start the year: no year-to-date quarter row is its value
    return not engine._window_is_stored_row(plan, compiled)


def _wanted(
    plan: engine._Plan, indicators: Sequence[engine.CompiledIndicator], window: engine.Window
) -> list[engine.CompiledIndicator]:
    return [c for c in indicators if needs_row(plan, c, window) and plan._own_sql(c) is not None]


def stored_rows(
    compiled: Sequence[engine.CompiledIndicator], units: Sequence[OrgUnit], window: engine.Window
) -> dict[Key, tuple[object, ...]]:
    """The stored rows (num, den, cnt, m2, left out, value, computed at) keyed (indicator id, unit id)."""
    found: dict[Key, tuple[object, ...]] = {}
    by_id = {c.indicator.pk: c.indicator for c in compiled}
    unit_ids = [u.pk for u in units]
    for start in range(0, len(unit_ids), CHUNK):
        rows = IndicatorWindowValue.objects.filter(
            indicator_id__in=[c.indicator.pk for c in compiled],
            org_unit_id__in=unit_ids[start : start + CHUNK],
            year=window.year,
            half=half_of(window),
        ).values_list(
            "indicator_id",
            "org_unit_id",
            "numerator",
            "denominator",
            "unit_count",
            "moment2",
            "left_out_count",
            "value",
            "computed_at",
        )
        for row in rows:
            num, den, cnt, m2, left_out, value, computed_at = row[2:]
            indicator = by_id[row[0]]
            if indicator.aggregation == Aggregation.RATIO:
                # From the exact sums, not the stored value: rounded to 6 places, it would round again on a page.
                value = engine.value_from_sums(indicator, num, den, m2, int(cnt or 0))
            found[(row[0], row[1])] = (num, den, cnt, m2, left_out, value, computed_at)
    return found


def _write(
    compiled: Sequence[engine.CompiledIndicator],
    rows: dict[Key, Sums],
    window: engine.Window,
    now: datetime.datetime,
) -> int:
    """Upsert ``rows`` (every key given: a row without sums is written empty, so it reads as computed)."""
    by_id = {c.indicator.pk: c.indicator for c in compiled}
    objects = []
    for (indicator_id, unit_id), (num, den, cnt, m2, left_out) in rows.items():
        indicator = by_id[indicator_id]
        num, den, m2 = engine._decimal(num), engine._decimal(den), engine._decimal(m2)
        objects.append(
            IndicatorWindowValue(
                indicator_id=indicator_id,
                org_unit_id=unit_id,
                year=window.year,
                half=half_of(window),
                numerator=num,
                denominator=den,
                value=engine.value_from_sums(indicator, num, den, m2, int(cnt or 0)),  # type: ignore[arg-type]
                unit_count=int(cnt or 0),
                moment2=m2,
                left_out_count=int(left_out or 0),
                computed_at=now,
            )
        )
    IndicatorWindowValue.objects.bulk_create(
        objects,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["indicator", "year", "half", "org_unit"],
        update_fields=["numerator", "denominator", "value", "unit_count", "moment2", "left_out_count", "computed_at"],
    )
    return len(objects)


EMPTY: Sums = (None, None, 0, None, 0)


def _combine(aggregation: str, parts: Sequence[Sums]) -> Sums:
    """Sums of a subtree from its parts (the unit's own, its children's rows), as the statements combine them:
    SQL's SUM/MAX/MIN (nulls ignored; null when every part is null)."""

    def present(i: int) -> list[Decimal]:
        return [d for p in parts if (d := engine._decimal(p[i])) is not None]

    nums = present(0)
    if aggregation == Aggregation.MAX:
        num: Decimal | None = max(nums) if nums else None
    elif aggregation == Aggregation.MIN:
        num = min(nums) if nums else None
    else:
        num = sum(nums, Decimal(0)) if nums else None
    dens, m2s = present(1), present(3)
    return (
        num,
        sum(dens, Decimal(0)) if dens else None,
        sum(int(p[2] or 0) for p in parts),
        sum(m2s, Decimal(0)) if m2s else None,
        sum(int(p[4] or 0) for p in parts),
    )


def _combine_up(
    plan: engine._Plan,
    compiled: Sequence[engine.CompiledIndicator],
    units: Sequence[OrgUnit],
    window: engine.Window,
    now: datetime.datetime,
    *,
    compute_missing: bool,
) -> int:
    """Rewrite ``units``' rows (a unit and its ancestors), deepest first: own sums plus the children's rows.

    A child without a row (a unit added since the last full recompute) is computed from its subtree when
    ``compute_missing``; otherwise (a district's full recompute, the other districts not built yet) its parent
    and that parent's ancestors are left as they are — the last district's run completes them.
    """
    if not compiled or not units:
        return 0
    own = engine._computed_window_values(plan, compiled, units, window, scope="own")
    fresh: dict[Key, Sums] = {}
    skipped: set[int] = set()
    written = 0
    for depth in sorted({u.depth for u in units}, reverse=True):
        level = [u for u in units if u.depth == depth]
        ids = {u.pk for u in level}
        children = list(OrgUnit.objects.filter(parent_id__in=ids).only("pk", "parent_id", "path", "depth"))
        outside = [c for c in children if not any((ci.indicator.pk, c.pk) in fresh for ci in compiled)]
        rows: dict[Key, Sums] = {key: row[:5] for key, row in stored_rows(compiled, outside, window).items()}
        rows.update(fresh)
        missing = [c for c in outside if any((ci.indicator.pk, c.pk) not in rows for ci in compiled)]
        if missing and compute_missing:
            rows.update(engine._computed_window_values(plan, compiled, missing, window))
            for child in missing:
                for ci in compiled:
                    rows.setdefault((ci.indicator.pk, child.pk), EMPTY)
        elif missing:
            skipped.update(c.parent_id for c in missing if c.parent_id is not None)
        skipped.update(c.parent_id for c in children if c.pk in skipped and c.parent_id is not None)
        out: dict[Key, Sums] = {}
        for unit in level:
            if unit.pk in skipped:
                continue
            kids = [c.pk for c in children if c.parent_id == unit.pk]
            for ci in compiled:
                pk = ci.indicator.pk
                parts = [own.get((pk, unit.pk), EMPTY)] + [rows.get((pk, kid), EMPTY) for kid in kids]
                out[(pk, unit.pk)] = _combine(ci.indicator.aggregation, parts)
        fresh.update(out)
        written += _write(compiled, out, window, now)
    return written


def recompute_full(
    indicators: Sequence[engine.CompiledIndicator], years: Iterable[int], roots: Sequence[OrgUnit]
) -> int:
    """Every stored window row of ``years`` in the roots' subtrees, then the roots' ancestors (inside the full
    recompute's transaction and locks)."""
    if not indicators or not roots:
        return 0
    plan = engine._Plan(list(indicators), [])
    now = timezone.now()
    condition = Q(pk__in=[])
    for root in roots:
        condition |= Q(path__startswith=root.path)
    scope_ids: list[int] | None = None
    ancestors = {pk for root in roots for pk in root.ancestor_ids[:-1]}
    above = list(OrgUnit.objects.filter(pk__in=ancestors))
    written = 0
    for window in windows_of_years(years):
        compiled = _wanted(plan, indicators, window)
        if not compiled:
            continue
        if scope_ids is None:
            scope_ids = list(OrgUnit.objects.filter(condition).values_list("pk", flat=True))
        found = engine._computed_window_values(plan, compiled, roots, window, scope="subtrees")
        rows = {(c.indicator.pk, u): found.get((c.indicator.pk, u), EMPTY) for c in compiled for u in scope_ids}
        written += _write(compiled, rows, window, now)
        written += _combine_up(plan, compiled, above, window, now, compute_missing=False)
    return written


def recompute_units(changes: Sequence[tuple[int, int]]) -> int:
    """After an approval (or several of one district): the changed units' and their ancestors' rows of every
    window the changed quarters feed (their years, and the years their ``[-k]`` readers fall in).

    Two short transactions, as the engine's quarter rows: the rows inside the districts under the districts'
    keys, then the rows above them under TOP_KEY.
    """
    if not changes:
        return 0
    units = OrgUnit.objects.in_bulk({unit_id for unit_id, _period in changes})
    periods = Period.objects.in_bulk({period_id for _unit, period_id in changes})
    indicators = engine.load_indicators()
    if not units or not periods or not indicators:
        return 0
    plan = engine._Plan(indicators, [])
    years = {(periods[p].index + k) // 4 for _u, p in changes if p in periods for k in plan.offsets}
    chain_ids = {pk for u in units.values() for pk in u.ancestor_ids}
    chain = list(OrgUnit.objects.filter(pk__in=chain_ids))
    inside = [u for u in chain if u.depth >= 1]
    top = [u for u in chain if u.depth < 1]
    district_keys = sorted({engine.district_key(u) for u in units.values()} - {engine.TOP_KEY})
    now = timezone.now()
    written = 0
    windows = [(w, compiled) for w in windows_of_years(years) if (compiled := _wanted(plan, indicators, w))]
    # Rows exist only after a full recompute wrote them: before that, window_values computes on request.
    windows = [(w, c) for w, c in windows if _has_rows(c, w)]
    for part, keys in ((inside, district_keys), (top, [engine.TOP_KEY])):
        if not part or not windows:
            continue
        with transaction.atomic():
            engine._lock(keys)
            for window, compiled in windows:
                written += _combine_up(plan, compiled, part, window, now, compute_missing=True)
    return written


def _has_rows(compiled: Sequence[engine.CompiledIndicator], window: engine.Window) -> bool:
    return IndicatorWindowValue.objects.filter(
        indicator_id__in=[c.indicator.pk for c in compiled], year=window.year, half=half_of(window)
    ).exists()
