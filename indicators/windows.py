"""Stored year and half-year values (issue 17): ``IndicatorWindowValue`` rows, written by the engine.

A window's value for a unit's subtree is a combination of its open members' own sums over the window (the
rule of ``engine._computed_window_values``): sums of numerators, denominators, counts and second moments, the
maximum or minimum of a max/min indicator. So a unit's window row is its own sums combined with its children's
window rows, exactly as a quarter row is combined from its children's rows — which lets the engine store them:

- after a full or nightly recompute, ``rebuild`` (its own task, ``tasks.rebuild_window_rows_task``) writes every
  row of the subtrees bottom-up: one statement per window for every unit's own sums, then each level from its
  children's rows, then the roots' ancestors;
- after an approval batch, ``recompute_units`` (``tasks.update_window_rows_task``, queued after the values'
  commit) rewrites the changed units' and their ancestors' rows only: each unit's own sums (one small statement
  per window) plus its children's stored rows.

Neither runs inside the engine's value transactions (an approval's task and the full recompute stay as fast as
without these rows): the rows lag the values by the window task's few seconds, and a unit without a row is
computed on request.

Only the windows no quarter row answers are stored (``needs_row``): every H2, and the year and H1 of an
indicator whose year is not its Q4 row (an offset that is not whole years, a figure with 不适用 answers).
``engine.window_values`` reads them and computes only for a unit without a row.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from indicators import engine
from indicators.models import Aggregation, IndicatorWindowValue
from indicators.unit_filter import UnitFilter
from schools.models import OrgUnit
from submissions.models import Period

Sums = tuple[object, ...]  # num, den, cnt, m2, left out
Key = tuple[int, int]  # (indicator id, unit id)
WRITE_BATCH = 2000


def windows_of_years(years: Iterable[int]) -> list[engine.Window]:
    found = []
    for year in sorted(set(years)):
        for code in (f"{year}", f"{year}H1", f"{year}H2"):
            window = engine.parse_window(code)
            assert window is not None
            found.append(window)
    return found


def _wanted(
    plan: engine._Plan, indicators: Sequence[engine.CompiledIndicator], window: engine.Window
) -> list[engine.CompiledIndicator]:
    return [c for c in indicators if engine.window_row_stored(plan, c, window) and plan._own_sql(c) is not None]


def _objects(
    compiled: Sequence[engine.CompiledIndicator],
    rows: dict[Key, Sums],
    window: engine.Window,
    now: datetime.datetime,
) -> list[IndicatorWindowValue]:
    """The rows to write (every key given: a row without sums is written empty, so it reads as computed)."""
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
                half=engine.window_half(window),
                numerator=num,
                denominator=den,
                value=engine.value_from_sums(indicator, num, den, m2, _count(cnt)),
                unit_count=_count(cnt),
                moment2=m2,
                left_out_count=_count(left_out),
                computed_at=now,
            )
        )
    return objects


def _save(objects: list[IndicatorWindowValue]) -> int:
    """Upsert ``objects``."""
    IndicatorWindowValue.objects.bulk_create(
        objects,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["indicator", "year", "half", "org_unit"],
        update_fields=["numerator", "denominator", "value", "unit_count", "moment2", "left_out_count", "computed_at"],
    )
    return len(objects)


COPY_COLUMNS = (
    "indicator_id",
    "org_unit_id",
    "year",
    "half",
    "numerator",
    "denominator",
    "value",
    "unit_count",
    "moment2",
    "left_out_count",
    "computed_at",
)


def _replace(objects: list[IndicatorWindowValue], stale: QuerySet[IndicatorWindowValue]) -> int:
    """Delete ``stale`` and write ``objects`` (a rebuild, in the caller's transaction: readers see the old rows
    until it commits). On PostgreSQL one COPY: 40,000 upserted rows took most of a rebuild's time."""
    stale.delete()
    if connection.vendor != "postgresql":
        IndicatorWindowValue.objects.bulk_create(objects, batch_size=WRITE_BATCH)
        return len(objects)
    buffer = io.StringIO()
    for obj in objects:
        buffer.write("\t".join(r"\N" if (v := getattr(obj, c)) is None else str(v) for c in COPY_COLUMNS) + "\n")
    buffer.seek(0)
    table = IndicatorWindowValue._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN", buffer)
        if len(objects) > WRITE_BATCH:
            cursor.execute(f"ANALYZE {table}")  # fresh statistics for the readers' index plans
    return len(objects)


EMPTY: Sums = (None, None, 0, None, 0)


def _count(value: object) -> int:
    """A count column as read back (an int, or a float / Decimal from a computed SUM); 0 when null."""
    return int(value) if isinstance(value, (int, float, Decimal)) else 0


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
        sum(_count(p[2]) for p in parts),
        sum(m2s, Decimal(0)) if m2s else None,
        sum(_count(p[4]) for p in parts),
    )


def _own_sums(
    plan: engine._Plan,
    windows: Sequence[tuple[engine.Window, list[engine.CompiledIndicator]]],
    units: Sequence[OrgUnit],
) -> list[dict[Key, tuple[object, ...]]]:
    """Each unit's own sums per window (its subtree's other members left out): one statement per window."""
    return [engine._computed_window_values(plan, compiled, units, w, scope="own") for w, compiled in windows]


def _combine_up(
    plan: engine._Plan,
    windows: Sequence[tuple[engine.Window, list[engine.CompiledIndicator]]],
    units: Sequence[OrgUnit],
    now: datetime.datetime,
    *,
    compute_missing: bool,
) -> int:
    """Rewrite ``units``' rows (a unit and its ancestors) of every window, deepest first: own sums plus the
    children's rows. Whatever the number of windows and levels: one statement per window for the own sums,
    one read of the children, one of their rows, one write (an approval's cost, issue 17).

    A child without a row (a unit added since the last full recompute) is computed from its subtree when
    ``compute_missing``; otherwise (a district's full recompute, the other districts not built yet) its parent
    and that parent's ancestors are left as they are — the last district's run completes them.
    """
    if not windows or not units:
        return 0
    own = _own_sums(plan, windows, units)
    ids = {u.pk for u in units}
    children = list(OrgUnit.objects.filter(parent_id__in=ids).only("pk", "parent_id", "path", "depth"))
    outside = [c for c in children if c.pk not in ids]
    stored = _stored_sums(windows, outside)
    kids: dict[int, list[int]] = {}
    for child in children:
        kids.setdefault(child.parent_id or 0, []).append(child.pk)
    objects: list[IndicatorWindowValue] = []
    for n, (window, compiled) in enumerate(windows):
        rows = stored[n]
        skipped: set[int] = set()
        missing = [c for c in outside if any((ci.indicator.pk, c.pk) not in rows for ci in compiled)]
        if missing and compute_missing:
            rows.update(engine._computed_window_values(plan, compiled, missing, window))
            for child in missing:
                for ci in compiled:
                    rows.setdefault((ci.indicator.pk, child.pk), EMPTY)
        elif missing:
            skipped.update(c.parent_id for c in missing if c.parent_id is not None)
        out: dict[Key, Sums] = {}
        for unit in sorted(units, key=lambda u: -u.depth):  # deepest first: a parent reads its fresh children
            if unit.pk in skipped:
                if unit.parent_id is not None:
                    skipped.add(unit.parent_id)
                continue
            for ci in compiled:
                pk = ci.indicator.pk
                parts = [own[n].get((pk, unit.pk), EMPTY)] + [
                    rows.get((pk, kid), EMPTY) for kid in kids.get(unit.pk, [])
                ]
                rows[(pk, unit.pk)] = out[(pk, unit.pk)] = _combine(ci.indicator.aggregation, parts)
        objects += _objects(compiled, out, window, now)
    return _save(objects)


def _rows_of(windows: Sequence[tuple[engine.Window, list[engine.CompiledIndicator]]]) -> Q:
    """The stored window rows of these windows' indicators (any unit)."""
    which = Q(pk__in=[])
    for window, compiled in windows:
        which |= Q(
            year=window.year, half=engine.window_half(window), indicator_id__in=[c.indicator.pk for c in compiled]
        )
    return which


def _stored_sums(
    windows: Sequence[tuple[engine.Window, list[engine.CompiledIndicator]]], units: Sequence[OrgUnit]
) -> list[dict[Key, Sums]]:
    """The stored sums of ``units`` for each window (one query for them all)."""
    found: list[dict[Key, Sums]] = [{} for _w in windows]
    if not units:
        return found
    position = {(w.year, engine.window_half(w)): n for n, (w, _c) in enumerate(windows)}
    rows = IndicatorWindowValue.objects.filter(_rows_of(windows), org_unit_id__in=[u.pk for u in units]).values_list(
        "year", "half", "indicator_id", "org_unit_id", *engine.WINDOW_SUM_FIELDS
    )
    for year, half, indicator_id, unit_id, *sums in rows:
        found[position[(year, half)]][(indicator_id, unit_id)] = tuple(sums)
    return found


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
    # Only the indicators these units feed (the unit filter), as the engine's own step.
    fed = [c for c in indicators if any(UnitFilter.of(c.indicator).covers(u) for u in units.values())]
    windows = [(w, compiled) for w in windows_of_years(years) if (compiled := _wanted(plan, fed, w))]
    # Rows exist only after a full recompute wrote them: before that, window_values computes on request.
    windows = _built(windows, chain_ids)
    if not windows:
        return 0
    for part, keys in ((inside, district_keys), (top, [engine.TOP_KEY])):
        if not part:
            continue
        with transaction.atomic():
            engine._lock(keys)  # own sums read under the keys too: a later approval of the same unit waits
            written += _combine_up(plan, windows, part, now, compute_missing=True)
    return written


def _built(
    windows: list[tuple[engine.Window, list[engine.CompiledIndicator]]], unit_ids: Iterable[int]
) -> list[tuple[engine.Window, list[engine.CompiledIndicator]]]:
    """The windows (and their indicators) a full recompute has written rows of for any of ``unit_ids`` (an
    approval's units and ancestors): one query over their few rows."""
    if not windows:
        return []
    # Every row of the few units, filtered here: an index range on org_unit, where the windows' OR'ed
    # conditions made the planner scan (0.13 s at 20,000 units).
    years = {w.year for w, _c in windows}
    have = {
        row
        for row in IndicatorWindowValue.objects.filter(org_unit_id__in=list(unit_ids)).values_list(
            "year", "half", "indicator_id"
        )
        if row[0] in years
    }
    kept = []
    for window, compiled in windows:
        half = engine.window_half(window)
        built = [c for c in compiled if (window.year, half, c.indicator.pk) in have]
        if built:
            kept.append((window, built))
    return kept


def rebuild(period_ids: Iterable[int] | None = None, root_unit_ids: Iterable[int] | None = None) -> int:
    """Every stored window row the periods feed, in the roots' subtrees (None: the whole tree), then the roots'
    ancestors — the window task after a full or nightly recompute (``tasks.rebuild_window_rows_task``).

    Bottom-up like the quarter rows: one statement per window for every unit's own sums (no subtree join), then
    each level from its children's rows plus its own sums, in memory, deepest first; one write. Under the
    subtrees' keys (read and write): an approval's window update of the same units waits, so it never writes
    before this rebuild overwrites it with older sums.
    """
    indicators = engine.load_indicators()
    periods = Period.objects.all()
    if period_ids is not None:
        periods = periods.filter(pk__in=list(period_ids))
    if not indicators:
        return 0
    plan = engine._Plan(indicators, [])
    # The years the periods feed (``[-k]`` readers k quarters on) that have periods: no rows for a year to come.
    have = set(Period.objects.values_list("year", flat=True).distinct())
    years = {(p.index + k) // 4 for p in periods for k in plan.offsets} & have
    if not years:
        return 0
    windows = [(w, compiled) for w in windows_of_years(years) if (compiled := _wanted(plan, indicators, w))]
    if not windows:
        return 0
    if root_unit_ids is None:
        roots = list(OrgUnit.objects.filter(parent__isnull=True))
    else:
        roots = list(OrgUnit.objects.filter(pk__in=list(root_unit_ids)))
    if not roots:
        return 0
    condition = Q(pk__in=[])
    for root in roots:
        condition |= Q(path__startswith=root.path)
    now = timezone.now()
    with transaction.atomic():
        engine._lock(key for root in roots for key in engine._subtree_keys(root))
        members = list(OrgUnit.objects.filter(condition).values_list("pk", "parent_id", "depth"))
        kids: dict[int, list[int]] = {}
        for pk, parent_id, _depth in members:
            kids.setdefault(parent_id or 0, []).append(pk)
        order = [pk for pk, _p, _d in sorted(members, key=lambda m: -m[2])]  # deepest first
        objects: list[IndicatorWindowValue] = []
        for window, compiled in windows:
            own = engine._computed_window_values(plan, compiled, roots, window, scope="own_subtrees")
            rows: dict[Key, Sums] = {}
            for ci in compiled:
                pk, aggregation = ci.indicator.pk, ci.indicator.aggregation
                for unit_id in order:
                    parts = [own.get((pk, unit_id), EMPTY)] + [rows[(pk, kid)] for kid in kids.get(unit_id, [])]
                    rows[(pk, unit_id)] = parts[0] if len(parts) == 1 else _combine(aggregation, parts)
            objects += _objects(compiled, rows, window, now)
        stale = _rows_of(windows)
        if any(root.parent_id is not None for root in roots):
            stale &= Q(org_unit__in=OrgUnit.objects.filter(condition))
        written = _replace(objects, IndicatorWindowValue.objects.filter(stale))
        ancestors = {pk for root in roots for pk in root.ancestor_ids[:-1]}
        above = list(OrgUnit.objects.filter(pk__in=ancestors))
        written += _combine_up(plan, windows, above, now, compute_missing=True)
    return written
