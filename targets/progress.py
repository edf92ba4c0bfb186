"""Progress of every target: actual, expected, projection and status per period and org unit.

``recompute_progress`` reads precomputed IndicatorValue rows (written by ``indicators.engine``),
designations and progress notes, and bulk-upserts one Progress row per target × period × unit:
the target's scope unit and each direct child of the scope (so dashboards drill down without
computing). Milestones and narratives only get a row for the scope unit. The queries do not
depend on the number of units: a handful of bulk reads, then one upsert and one cleanup.

Status rules (also in docs/progress-rules.md — keep the two in step):

- ``no_data``: nothing measured yet for the period (no indicator value, no designation data,
  no note), or the target has no indicator / no target value to compare with (``detail.reason``),
  or the period comes before the target's ``assess_from`` quarter (the value is kept, no status).
- ``met``: the actual satisfies the target (≥ / ≤ / = / range) for the period. For cumulative
  kinds (quantity, count_units) "=" means "reached", i.e. actual ≥ target.
- otherwise the actual is compared with the *expected* value of the period:
  ``on_track`` when at least as good as expected; ``at_risk`` when behind by at most
  ``at_risk_margin`` (a share of the expected value, default 5 %); ``off_track`` when behind by more.
- ``off_track`` also when the target can no longer be met: the due period (default Q4 of the plan
  year) has come and the target is not met; a limit is breached (zero tolerance has no risk band);
  a milestone is overdue and not done.
- quantities with a linear or flat path are also judged by their year-end projection
  (YTD pace × 4 / quarters elapsed): the status is the worse of the path and the projection.

Expected path: ``flat`` — the target value in every period; ``linear`` — from the baseline (value
and period; default 0 at the end of the previous year for cumulative kinds) to the target at the
due period (a threshold without a baseline is flat); ``milestones`` — the TargetPathPoint of the
period, interpolated linearly between points.

Kinds:

- threshold: actual = the indicator value of the unit. With ``applies_to_each_unit`` every school in
  the unit's subtree must comply: detail lists ``failing_units``; met when none fails; at_risk when
  the share complying is within the margin of 100 %; off_track otherwise.
- quantity: actual = the indicator value of the period, which the engine already keeps year to date
  for flow figures (the latest value for stocks) — never a sum of quarter rows; the parent
  of sub-targets ("其中外来生…") lists them in ``detail.sub_targets``; child units' rows show their
  contribution (expected and status only make sense for the scope: child rows are ``no_data`` with
  ``detail.contribution``).
- count_units: actual = designations of the indicator's designation kind granted in the subtree
  during the plan year up to the end of the period and not revoked by then; detail lists the units.
- limit: actual = the indicator value (a count of breaches, or a max); any breach → off_track,
  detail lists the schools breaking the bound.
- frequency: every qualifying school (the indicator's unit filter, e.g. central schools) must reach
  ``per_unit_minimum`` (else ``target_value``) per semester (Q1+Q2, Q3+Q4: the year-to-date value,
  less the Q2 value in the second half). Actual = % of qualifying
  schools complying; in the first quarter of a semester a school complies when it has reached half
  the minimum (pace). Met when all comply at the end of the semester, on_track when all are on pace
  mid-semester; at_risk / off_track by the share as above. Detail lists the schools that don't.
- milestone: judged as of the end of the period (or today if earlier; the plan year's Q4 as of today, so a 12-31
  due date turns off track once it has passed), from what was known then: done by then (``completed_on``, set when
  a reviewer accepts a "done" note or staff enter it) → met; overdue (due date, else the end of the due month,
  else the due period) → off_track; before its start month with no note → no_data (``reason``
  ``before_start``); blocked (the latest dated note's state, else the target's) → at_risk; in progress, a note
  by then, or inside its start–due window → on_track; else no_data. A "done" note awaiting review is in
  progress (``awaiting_review``). Notes and evidence count in the quarter they report on.
- narrative: the latest note of the period: accepted → met, pending review → on_track,
  returned → at_risk; no note → no_data.
- comparator ``improves`` (threshold, quantity; "有一定提高"): met when the value is strictly better (higher, or
  lower by ``direction``) than the baseline: the target's baseline value (scope row), else the unit's value in
  the baseline period, else in the same quarter a year earlier; no baseline value → no_data (``no_baseline``);
  not better → at_risk within the margin before the due period, else off_track (``_improves``).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from indicators.models import Aggregation, IndicatorValue
from indicators.unit_filter import UnitFilter
from schools.models import PATH_SEGMENT_WIDTH, Designation, Level, OrgUnit
from submissions.models import Period
from targets.models import (
    Comparator,
    Direction,
    MilestoneStatus,
    NoteReview,
    PathMode,
    Progress,
    ProgressStatus,
    Rhythm,
    Target,
    TargetKind,
    TargetNote,
    TargetPathPoint,
)
from targets.progress_detail import (
    BEFORE_ASSESSMENT,
    JUDGED_BY_PROJECTION,
    NoteRef,
    ProgressDetail,
    UnitRef,
    from_json,
)

S = ProgressStatus
_RANK = {S.MET: 0, S.ON_TRACK: 1, S.AT_RISK: 2, S.OFF_TRACK: 3, S.NO_DATA: -1, S.TRACKED: -1}
CUMULATIVE = {TargetKind.QUANTITY, TargetKind.COUNT_UNITS}
HUNDRED = Decimal(100)


def worst(*statuses: str) -> str:
    """The most severe of several statuses (no_data only when nothing else is known)."""
    known = [s for s in statuses if s != S.NO_DATA]
    return max(known, key=lambda s: _RANK[s]) if known else S.NO_DATA


def num(value: Decimal | None) -> float | None:
    """A JSON-friendly number for the progress detail."""
    return None if value is None else float(round(value, 4))


# --- Comparisons ---


def satisfies(target: Target, actual: Decimal, value: Decimal | None = None) -> bool:
    """Does ``actual`` satisfy the target's comparator against ``value`` (default: the target value)?"""
    bound = target.target_value if value is None else value
    assert bound is not None
    comparator = target.comparator or Comparator.GTE
    if comparator == Comparator.LTE:
        return actual <= bound
    if comparator == Comparator.RANGE:
        # "2–3": at least 2; above 3 only fails when the plan says 3 is a ceiling.
        upper = target.target_value_max if target.target_value_max is not None else bound
        return bound <= actual and (actual <= upper or not target.range_is_ceiling)
    if comparator == Comparator.EQ and target.kind not in CUMULATIVE:
        return actual == bound
    return actual >= bound


def compare_with_expected(target: Target, actual: Decimal, expected: Decimal) -> str:
    """on_track / at_risk / off_track of ``actual`` against the period's ``expected`` value."""
    margin = target.at_risk_margin
    comparator = target.comparator or Comparator.GTE
    if comparator == Comparator.RANGE:
        lower = expected
        upper = target.target_value_max if target.target_value_max is not None else expected
        if lower <= actual and (actual <= upper or not target.range_is_ceiling):
            return S.ON_TRACK
        bound = lower if actual < lower else upper
        return S.AT_RISK if abs(actual - bound) <= abs(bound) * margin else S.OFF_TRACK
    downward = comparator == Comparator.LTE or (
        comparator == Comparator.EQ
        and target.kind not in CUMULATIVE
        and target.baseline_value is not None
        and target.target_value is not None
        and target.baseline_value > target.target_value
    )
    if downward:
        if actual <= expected:
            return S.ON_TRACK
        return S.AT_RISK if actual <= expected + abs(expected) * margin else S.OFF_TRACK
    if actual >= expected:
        return S.ON_TRACK
    return S.AT_RISK if actual >= expected - abs(expected) * margin else S.OFF_TRACK


def share_status(share: Decimal, margin: Decimal) -> str:
    """Status of "every unit must comply" from the % of units complying."""
    if share >= HUNDRED:
        return S.MET
    return S.AT_RISK if share >= HUNDRED * (1 - margin) else S.OFF_TRACK


# --- Expected path ---


def due_index(target: Target) -> int:
    """Quarter index of the due period (default: Q4 of the plan year)."""
    if target.due_period_id is not None:
        return target.due_period.index
    if target.due_date is not None:
        return target.due_date.year * 4 + (target.due_date.month - 1) // 3
    return target.plan.year * 4 + 3


def expected_value(target: Target, period: Period, points: dict[int, Decimal]) -> Decimal | None:
    """The value the target should have reached by ``period`` (see the module docstring)."""
    goal = target.target_value
    if goal is None:
        return None
    due = due_index(target)
    if target.path_mode == PathMode.FLAT or target.kind == TargetKind.LIMIT:
        return goal
    if target.baseline_value is not None:
        base_index = target.baseline_period.index if target.baseline_period_id else target.plan.year * 4 - 1
        base = target.baseline_value
    elif target.kind in CUMULATIVE:
        base_index, base = target.plan.year * 4 - 1, Decimal(0)
    else:
        base_index, base = None, None
    known: dict[int, Decimal] = {due: goal}
    if base_index is not None and base is not None:
        known[base_index] = base
    if target.path_mode == PathMode.MILESTONES:
        known.update(points)
    elif base_index is None:
        return goal  # a threshold without baseline: flat
    index = period.index
    if index in known:
        return known[index]
    before = [i for i in known if i < index]
    after = [i for i in known if i > index]
    if not before:
        return known[min(after)]
    if not after:
        return known[max(before)]
    lo, hi = max(before), min(after)
    return known[lo] + (known[hi] - known[lo]) * Decimal(index - lo) / Decimal(hi - lo)


# --- The recompute ---


@dataclass
class Result:
    actual: Decimal | None = None
    expected: Decimal | None = None
    projection: Decimal | None = None
    status: str = S.NO_DATA
    detail: ProgressDetail = field(default_factory=ProgressDetail)


@dataclass
class UnitInfo:
    id: int
    code: str
    name: str
    path: str
    school_type: str = ""
    ownership: str = ""
    is_central: bool = False
    is_active: bool = True
    level: str = Level.SCHOOL
    closed_on: datetime.date | None = None


@dataclass
class Inputs:
    """Everything read in bulk before computing (no query inside the per-target loop)."""

    periods_by_year: dict[int, list[Period]]
    agg: dict[tuple[int, int, int], Decimal | None]  # (indicator, unit, period) → value, scope + children
    unit_values: dict[tuple[int, int], list[tuple[int, Decimal | None]]]  # (indicator, period) → (school, value)
    schools: dict[int, UnitInfo]  # active schools under the scopes of per-unit targets, in path order
    # (kind id, unit, granted on, revoked on, level)
    designations: list[tuple[int, UnitInfo, datetime.date, datetime.date | None, str]]
    notes: dict[int, list[TargetNote]]
    points: dict[int, dict[int, Decimal]]
    today: datetime.date
    # Per-unit rows split by the child of a scope they fall under, built once per (key, scope): checking
    # a district then costs its own schools, not a scan of the whole tree.
    buckets: dict[tuple[Any, str], dict[str, list[Any]]] = field(default_factory=dict)
    # ``improves`` targets (``_load_improves``): each quarter's quarter a year earlier, and the indicator values of
    # the baseline quarters (indicator, unit, period) → value.
    year_ago: dict[int, Period] = field(default_factory=dict)
    baselines: dict[tuple[int, int, int], Decimal | None] = field(default_factory=dict)

    def under(self, key: Any, scope_path: str, unit_path: str, items: Callable[[], Iterable[Any]]) -> list[Any]:
        """Items (with a ``.path`` or a school id first) under ``unit_path``: the scope itself or one child."""
        cache_key = (key, scope_path)
        if cache_key not in self.buckets:
            width = len(scope_path) + PATH_SEGMENT_WIDTH + 1
            grouped: dict[str, list[Any]] = defaultdict(list)
            for item in items():
                path = item.path if isinstance(item, UnitInfo) else self.schools[item[0]].path
                if path.startswith(scope_path):
                    grouped[""].append(item)
                    grouped[path[:width]].append(item)
            self.buckets[cache_key] = grouped
        return self.buckets[cache_key].get("" if unit_path == scope_path else unit_path, [])


def _targets(
    period_ids: Iterable[int] | None,
    indicator_ids: Iterable[int] | None,
    target_ids: Iterable[int] | None,
    scope_ids: Iterable[int] | None = None,
) -> list[Target]:
    condition = Q()
    if target_ids is not None:
        condition &= Q(pk__in=list(target_ids))
    if indicator_ids is not None:
        condition &= Q(indicator_id__in=list(indicator_ids))
    if scope_ids is not None:
        condition &= Q(scope_id__in=list(scope_ids))
    base = list(Target.objects.filter(condition).values_list("pk", "part_of_id"))
    ids = {pk for pk, _ in base} | {parent for _, parent in base if parent}
    if not ids:
        return []
    # Sub-targets and parents travel together: a parent's detail lists its sub-targets' status.
    return list(
        Target.objects.filter(Q(pk__in=ids) | Q(part_of_id__in=ids))
        .select_related("plan", "indicator", "scope", "due_period", "baseline_period", "assess_from")
        .order_by("pk")
    )


# ``UnitInfo``'s fields in order, as read by ``values_list`` (``UnitInfo(*row)``).
UNIT_INFO_FIELDS = (
    "id",
    "code",
    "name",
    "path",
    "school_type",
    "ownership",
    "is_central",
    "is_active",
    "level",
    "closed_on",
)


def _unit_info(row: dict[str, Any], prefix: str = "") -> UnitInfo:
    return UnitInfo(
        id=row[f"{prefix}id"],
        code=row[f"{prefix}code"],
        name=row[f"{prefix}name"],
        path=row[f"{prefix}path"],
        school_type=row.get(f"{prefix}school_type", ""),
        ownership=row.get(f"{prefix}ownership", ""),
        is_central=row.get(f"{prefix}is_central", False),
        is_active=row.get(f"{prefix}is_active", True),
        level=row.get(f"{prefix}level", Level.SCHOOL),
        closed_on=row.get(f"{prefix}closed_on"),
    )


def _subtree_q(paths: Iterable[str], prefix: str) -> Q:
    condition = Q(pk__in=[])
    for path in set(paths):
        condition |= Q(**{f"{prefix}path__startswith": path})
    return condition


def _load_inputs(
    targets: list[Target],
    units: dict[int, list[UnitInfo]],
    per_unit_period_ids: list[int] | None = None,
    *,
    per_unit_facts: bool = True,
) -> Inputs:
    """Everything the targets need, in bulk. ``per_unit_facts=False`` (an approval's incremental run): not the
    schools and per-school values of the per-unit targets — their rows are updated from the stored ones."""
    years = sorted({t.plan.year for t in targets})
    periods = list(Period.objects.filter(year__in=years).order_by("year", "quarter"))
    periods_by_year: dict[int, list[Period]] = defaultdict(list)
    for period in periods:
        periods_by_year[period.year].append(period)
    period_ids = [p.pk for p in periods]

    # A count of designations is read from the designations themselves; a count of units opened in the year
    # ("新建幼儿园") is the engine's value like any other measure.
    measured = [
        t
        for t in targets
        if t.indicator_id
        and (t.kind != TargetKind.COUNT_UNITS or t.indicator.aggregation == Aggregation.COUNT_OPENED_UNITS)
    ]
    indicator_ids = {t.indicator_id for t in measured}
    unit_ids = {u.id for t in measured for u in units[t.pk]}
    agg: dict[tuple[int, int, int], Decimal | None] = {}
    if indicator_ids:
        for ind, unit, per, value in IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, org_unit_id__in=unit_ids, period_id__in=period_ids
        ).values_list("indicator_id", "org_unit_id", "period_id", "value"):
            agg[(ind, unit, per)] = value

    per_unit = [t for t in measured if _is_per_unit(t)] if per_unit_facts else []
    unit_values: dict[tuple[int, int], list[tuple[int, Decimal | None]]] = defaultdict(list)
    schools: dict[int, UnitInfo] = {}
    # Count targets "each district creates 2–3": their units are read always (a handful of districts or 学区).
    counted_per_unit = [t for t in targets if t.kind == TargetKind.COUNT_UNITS and t.applies_to_each_unit]
    levels = {unit_level(t) for t in [*per_unit, *counted_per_unit]}
    if per_unit or counted_per_unit:
        paths = [t.scope.path for t in [*per_unit, *counted_per_unit]]
        for row in (
            OrgUnit.objects.filter(_subtree_q(paths, ""), level__in=levels)
            .order_by("path")
            .values_list(*UNIT_INFO_FIELDS)
        ):
            schools[row[0]] = UnitInfo(*row)
    if per_unit:
        unit_period_ids = list(per_unit_period_ids or period_ids)
        if any(t.kind == TargetKind.FREQUENCY and t.rhythm in (Rhythm.QUARTER, Rhythm.MONTH) for t in per_unit):
            unit_period_ids = list(period_ids)  # a quarter's count is its value less the quarter before's
        # A second-half frequency subtracts the year-to-date value at Q2 (see _frequency): load it too.
        wanted = set(unit_period_ids)
        unit_period_ids += [
            q2.pk
            for p in periods
            if p.pk in wanted and p.quarter >= 3
            for q2 in periods_by_year[p.year]
            if q2.quarter == 2 and q2.pk not in wanted
        ]
        for ind, per, unit, value in IndicatorValue.objects.filter(
            _subtree_q(paths, "org_unit__"),
            indicator_id__in={t.indicator_id for t in per_unit},
            period_id__in=unit_period_ids,
            org_unit__level__in=levels,
            value__isnull=False,  # undefined values are skipped anyway; most schools have some (other types)
        ).values_list("indicator_id", "period_id", "org_unit_id", "value"):
            if unit in schools:
                unit_values[(ind, per)].append((unit, value))
        # In path order, as the schools are listed everywhere: ``failing_units`` is then the first
        # FAILING_LIMIT failing schools by path — a list an approval can update without reading the others.
        for entries in unit_values.values():
            entries.sort(key=lambda entry: schools[entry[0]].path)

    counting = [t for t in targets if t.kind == TargetKind.COUNT_UNITS and t.indicator_id]
    designations: list[tuple[int, UnitInfo, datetime.date, datetime.date | None, str]] = []
    kinds = {t.indicator.designation_kind_id for t in counting if t.indicator.designation_kind_id}
    if kinds:
        rows = (
            Designation.objects.filter(
                _subtree_q((t.scope.path for t in counting), "org_unit__"),
                kind_id__in=kinds,
                granted_on__gte=datetime.date(min(years), 1, 1),
                granted_on__lte=datetime.date(max(years), 12, 31),
            )
            .order_by("granted_on", "org_unit__path")
            .values(
                "kind_id",
                "level",
                "granted_on",
                "revoked_on",
                "org_unit__id",
                "org_unit__code",
                "org_unit__name",
                "org_unit__path",
                "org_unit__school_type",
                "org_unit__ownership",
                "org_unit__is_central",
                "org_unit__is_active",
                "org_unit__level",
                "org_unit__closed_on",
            )
        )
        designations = [
            (row["kind_id"], _unit_info(row, "org_unit__"), row["granted_on"], row["revoked_on"], row["level"])
            for row in rows
        ]

    noted = [t.pk for t in targets if t.kind in (TargetKind.MILESTONE, TargetKind.NARRATIVE)]
    notes: dict[int, list[TargetNote]] = defaultdict(list)
    if noted:
        for note in TargetNote.objects.filter(target_id__in=noted).order_by("-created_at", "-pk"):
            notes[note.target_id].append(note)

    points: dict[int, dict[int, Decimal]] = defaultdict(dict)
    with_points = [t.pk for t in targets if t.path_mode == PathMode.MILESTONES]
    if with_points:
        for point in TargetPathPoint.objects.filter(target_id__in=with_points).select_related("period"):
            points[point.target_id][point.period.index] = point.expected_value

    data = Inputs(
        periods_by_year=periods_by_year,
        agg=agg,
        unit_values=unit_values,
        schools=schools,
        designations=designations,
        notes=notes,
        points=points,
        today=timezone.localdate(),
    )
    _load_improves(targets, units, data)
    return data


def _is_per_unit(target: Target) -> bool:
    """Is the target checked unit by unit from indicator values (its rows list the failing units)?"""
    return target.kind in (TargetKind.LIMIT, TargetKind.FREQUENCY) or (
        target.kind in (TargetKind.THRESHOLD, TargetKind.QUANTITY) and target.applies_to_each_unit
    )


def unit_level(target: Target) -> str:
    """The level a per-unit rule checks (``each_unit_level``; schools by default)."""
    return target.each_unit_level or Level.SCHOOL


def _updated_from_one_school(target: Target) -> bool:
    """Can an approval's run update the target's per-unit rows from the one school's change? Only a check of
    schools (a district's or 学区's value is a sum of others) and, for frequencies, by semester."""
    if unit_level(target) != Level.SCHOOL or (target.kind == TargetKind.QUANTITY and target.applies_to_each_unit):
        return False
    return target.kind != TargetKind.FREQUENCY or (
        target.rhythm in ("", Rhythm.SEMESTER) and not target.range_is_ceiling
    )


def _level_values(data: Inputs, target: Target, period_id: int, unit_path: str) -> list[Any]:
    """(unit, value) of the units at the target's per-unit level under ``unit_path`` for one quarter."""
    key = (target.indicator_id, period_id)
    level = unit_level(target)
    return data.under(
        (*key, level),
        target.scope.path,
        unit_path,
        lambda: [entry for entry in data.unit_values.get(key, []) if data.schools[entry[0]].level == level],
    )


def _units_of(targets: list[Target]) -> dict[int, list[UnitInfo]]:
    """Scope unit first, then its active children (one query for all targets)."""
    scopes = {t.scope_id for t in targets}
    children: dict[int, list[UnitInfo]] = defaultdict(list)
    for row in (
        OrgUnit.objects.filter(parent_id__in=scopes, is_active=True)
        .order_by("path")
        .values("id", "code", "name", "path", "parent_id")
    ):
        children[row["parent_id"]].append(_unit_info(row))
    result = {}
    for target in targets:
        own = UnitInfo(id=target.scope.pk, code=target.scope.code, name=target.scope.name, path=target.scope.path)
        drill = [] if target.kind in (TargetKind.MILESTONE, TargetKind.NARRATIVE) else children[target.scope_id]
        result[target.pk] = [own, *drill]
    return result


def _unit_ref(unit: UnitInfo, value: Decimal | None = None, granted_on: datetime.date | None = None) -> UnitRef:
    """A school as the detail names it: a failing one with its value, or a designated one with the grant date."""
    ref: UnitRef = {"code": unit.code, "name": unit.name}
    if granted_on is not None:
        ref["granted_on"] = granted_on.isoformat()
    else:
        ref["value"] = num(value)
    return ref


def _listed_ref(unit: UnitInfo) -> UnitRef:
    """A school failing a threshold or limit as its row lists it: code and name, no value. The value is the
    school's own indicator value of the row's quarter, joined at read time (``progress_detail.fill_failing_values``),
    so an approval that moves a listed school's value without changing whether it fails rewrites no row."""
    return {"code": unit.code, "name": unit.name}


def _qualifies(target: Target, unit: UnitInfo, period: Period) -> bool:
    """Does the unit count for the target's indicator in ``period`` (open then, and passing the filter)?"""
    return UnitFilter.of(target.indicator).matches(unit, period.end_date)


def _judge_numeric(target: Target, period: Period, actual: Decimal, expected: Decimal | None) -> str:
    """Status of a numeric actual: met, the path comparison, and "due and not met" → off_track."""
    if satisfies(target, actual):
        return S.MET
    if period.index >= due_index(target):
        return S.OFF_TRACK
    if expected is None:
        return S.NO_DATA
    return compare_with_expected(target, actual, expected)


Facts = Callable[[Decimal | None], tuple[list[UnitRef], int, int]]


def _compute(
    target: Target,
    period: Period,
    unit: UnitInfo,
    is_scope: bool,
    data: Inputs,
    facts: Facts | None = None,
    frequency: Callable[[], Result] | None = None,
) -> Result:
    """One row's result. An approval's run passes ``facts`` (a threshold's or limit's per-school facts for a
    bound) or ``frequency`` (a frequency's result) made from the stored row instead of reading every school."""
    if frequency is not None:
        result = frequency()
    else:
        result = _measure(target, period, unit, is_scope, data, facts)
    if target.assess_from_id is not None and period.index < target.assess_from.index:
        # Before the target's season: the value is a fact worth showing, a status would be noise
        # (0 new entrants in spring is not "off track" for an autumn intake).
        detail = ProgressDetail(
            reason=BEFORE_ASSESSMENT, assess_from=target.assess_from.code, contribution=result.detail.contribution
        )
        return Result(actual=result.actual, detail=detail)
    return result


def _measure(
    target: Target, period: Period, unit: UnitInfo, is_scope: bool, data: Inputs, facts: Facts | None = None
) -> Result:
    kind = target.kind
    if kind == TargetKind.MILESTONE:
        return _milestone(target, period, data)
    if kind == TargetKind.NARRATIVE:
        return _narrative(target, period, data)
    if target.indicator_id is None:
        return Result(detail=ProgressDetail(reason="no_indicator"))
    if target.comparator == Comparator.IMPROVES:
        return _improves(target, period, unit, is_scope, data)
    periods = data.periods_by_year[target.plan.year]
    expected = expected_value(target, period, data.points.get(target.pk, {}))

    if kind == TargetKind.COUNT_UNITS:
        return _count_units(target, period, unit, is_scope, expected, data)
    if kind == TargetKind.FREQUENCY:
        return _frequency(target, period, unit, periods, data)

    if kind == TargetKind.QUANTITY and not target.applies_to_each_unit:
        # The engine's value already is the year to date (flow figures) or the latest (stock figures):
        # the quarter's own row — summing the quarters' rows counted Q1 four times by Q4.
        actual = data.agg.get((target.indicator_id, unit.id, period.pk))
        if actual is None:
            return Result(expected=expected if is_scope else None)
        quarters = period.quarter if period.year == target.plan.year else 4
        projection = actual * 4 / quarters
        if not is_scope:
            return Result(actual=actual, projection=projection, detail=ProgressDetail(contribution=True))
        if target.target_value is None:  # no number in the plan: tracked, not judged
            detail = ProgressDetail(reason="no_target_value")
            return Result(actual=actual, projection=projection, status=S.TRACKED, detail=detail)
        status = _judge_numeric(target, period, actual, expected)
        detail = ProgressDetail()
        if status != S.MET and target.path_mode != PathMode.MILESTONES:
            by_projection = compare_with_expected(target, projection, target.target_value)
            if _RANK[by_projection] > _RANK[status]:
                detail.judged_by = JUDGED_BY_PROJECTION
            status = worst(status, by_projection)
        return Result(actual=actual, expected=expected, projection=projection, status=status, detail=detail)

    actual = data.agg.get((target.indicator_id, unit.id, period.pk))
    # Rates: the year-end projection is the latest value known.
    if actual is None:
        return Result(expected=expected)
    if target.target_value is None:
        detail = ProgressDetail(reason="no_target_value")
        return Result(actual=actual, projection=actual, status=S.TRACKED, detail=detail)
    if facts is not None and _is_per_unit(target):
        failing, failed, checked = facts(expected)
    else:
        failing, failed, checked = _failing_units(target, period, unit, data, bound=expected)
    return _judge_per_unit(target, period, actual, expected, failing, failed, checked)


def _judge_per_unit(
    target: Target,
    period: Period,
    actual: Decimal,
    expected: Decimal | None,
    failing: list[UnitRef],
    failed: int,
    checked: int,
) -> Result:
    """A threshold or limit row from its actual and its per-school facts (full run and approvals alike)."""
    kind = target.kind
    detail = ProgressDetail()
    if kind == TargetKind.LIMIT:
        status = S.MET if satisfies(target, actual) and not failed else S.OFF_TRACK
        detail = ProgressDetail(failing_units=failing, failing_count=failed, units_checked=checked)
    elif target.applies_to_each_unit:
        complying = checked - failed
        share = HUNDRED * complying / checked if checked else None
        if share is None:
            status = _judge_numeric(target, period, actual, expected)
        elif not failed:
            status = S.MET
        elif period.index >= due_index(target):
            status = S.OFF_TRACK
        else:
            status = share_status(share, target.at_risk_margin)
        detail = ProgressDetail(
            failing_units=failing, failing_count=failed, units_checked=checked, units_complying=complying
        )
    else:
        status = _judge_numeric(target, period, actual, expected)
    return Result(actual=actual, expected=expected, projection=actual, status=status, detail=detail)


FAILING_LIMIT = 200  # units listed in the detail's ``failing_units``; the count is always complete


def _failing_units(
    target: Target, period: Period, unit: UnitInfo, data: Inputs, bound: Decimal | None
) -> tuple[list[UnitRef], int, int]:
    """Schools under ``unit`` failing the bound (first FAILING_LIMIT), how many fail, how many had a value."""
    if not (target.kind == TargetKind.LIMIT or target.applies_to_each_unit):
        return [], 0, 0
    entries = _level_values(data, target, period.pk, unit.path)
    failing: list[UnitRef] = []
    failed = checked = 0
    for school_id, value in entries:
        if value is None:
            continue
        checked += 1
        if not satisfies(target, value, bound if target.kind != TargetKind.LIMIT else None):
            failed += 1
            if len(failing) < FAILING_LIMIT:
                failing.append(_listed_ref(data.schools[school_id]))
    return failing, failed, checked


def _count_units(
    target: Target, period: Period, unit: UnitInfo, is_scope: bool, expected: Decimal | None, data: Inputs
) -> Result:
    if target.indicator.aggregation == Aggregation.COUNT_OPENED_UNITS:
        # "新建幼儿园 20 所": the engine's count of units opened since 1 January (the year to date).
        opened = data.agg.get((target.indicator_id, unit.id, period.pk))
        if opened is None:
            return Result(expected=expected if is_scope else None)
        if not is_scope:
            return Result(actual=opened, detail=ProgressDetail(contribution=True))
        if target.target_value is None:
            return Result(actual=opened, detail=ProgressDetail(reason="no_target_value"))
        return Result(actual=opened, expected=expected, status=_judge_numeric(target, period, opened, expected))
    kind_id = target.indicator.designation_kind_id
    if kind_id is None:
        return Result(detail=ProgressDetail(reason="no_designation_kind"))
    start = datetime.date(target.plan.year, 1, 1)
    wanted_level = target.indicator.designation_level  # "省优质园 20 所": only that level counts; "" any level
    counted = [
        _unit_ref(school, granted_on=granted)
        for kind, school, granted, revoked, level in data.designations
        if kind == kind_id
        and (not wanted_level or level == wanted_level)
        and school.path.startswith(unit.path)
        and start <= granted <= period.end_date
        and (revoked is None or revoked > period.end_date)
        and _qualifies(target, school, period)
    ]
    if target.applies_to_each_unit:
        return _count_per_unit(target, period, unit, expected, counted, data)
    actual = Decimal(len(counted))
    if not is_scope:
        return Result(actual=actual, detail=ProgressDetail(units=counted, contribution=True))
    if target.target_value is None:  # "开展示范园创建工作": what has been done, tracked without a quota
        detail = ProgressDetail(units=counted, reason="no_target_value")
        return Result(actual=actual, status=S.TRACKED, detail=detail)
    status = _judge_numeric(target, period, actual, expected)
    return Result(actual=actual, expected=expected, status=status, detail=ProgressDetail(units=counted))


def _count_per_unit(
    target: Target,
    period: Period,
    unit: UnitInfo,
    expected: Decimal | None,
    counted: list[UnitRef],
    data: Inputs,
) -> Result:
    """ "Every district creates 2–3 …": each unit at the target's level counts its own designations.

    Actual = % of those units meeting the rule; a unit is behind when below the expected count of the period
    (the per-unit target's path). Met when every unit meets it; on track while none is behind; after the due
    period or with units behind, by the share (as frequencies). Detail: the units behind with their count,
    and the designated schools.
    """
    level = unit_level(target)
    units = data.under(
        ("level_units", level, period.pk),
        target.scope.path,
        unit.path,
        lambda: [u for u in data.schools.values() if u.level == level and UnitFilter.is_open(u, period.end_date)],
    )
    if not units:
        return Result(detail=ProgressDetail(reason="no_qualifying_units", units=counted))
    kind_id = target.indicator.designation_kind_id
    start = datetime.date(target.plan.year, 1, 1)
    wanted_level = target.indicator.designation_level  # as for the whole scope: "" counts every level
    counts: dict[int, int] = dict.fromkeys((u.id for u in units), 0)
    for kind, school, granted, revoked, level in data.designations:
        if kind != kind_id or not (start <= granted <= period.end_date) or not _qualifies(target, school, period):
            continue
        if wanted_level and level != wanted_level:
            continue
        if revoked is not None and revoked <= period.end_date:
            continue
        for candidate in units:
            if school.path.startswith(candidate.path):
                counts[candidate.id] += 1
                break
    goal = target.target_value
    assert goal is not None  # the target service refuses a per-unit count without one
    meeting = [u for u in units if satisfies(target, Decimal(counts[u.id]))]
    pace = expected if expected is not None else goal
    behind = [u for u in units if not satisfies(target, Decimal(counts[u.id]), min(pace, goal))]
    share = HUNDRED * len(meeting) / len(units)
    if len(meeting) == len(units):
        status = S.MET
    elif period.index >= due_index(target):
        status = S.OFF_TRACK
    elif not behind:
        status = S.ON_TRACK
    else:
        status = share_status(HUNDRED * (len(units) - len(behind)) / len(units), target.at_risk_margin)
    detail = ProgressDetail(
        failing_units=[_unit_ref(u, value=Decimal(counts[u.id])) for u in behind[:FAILING_LIMIT]],
        failing_count=len(behind),
        units_checked=len(units),
        units_complying=len(meeting),
        units=counted,
    )
    return Result(actual=share, expected=HUNDRED, status=status, detail=detail)


@dataclass(frozen=True)
class Window:
    """The frequency window a quarter falls in: its count is the year-to-date value less ``prior``'s."""

    prior_quarter: int | None  # the quarter whose year-to-date value is subtracted (None: from January)
    required: Decimal  # what each unit must reach by the window's end
    pace: Decimal  # what it must have reached by this quarter
    mid_window: bool
    semester: str | None  # "H1" / "H2" for the semester rhythm


def frequency_window(rhythm: str, quarter: int, minimum: Decimal) -> Window:
    """Per month (each quarter: 3 × the monthly minimum), quarter, semester (Q1+Q2, Q3+Q4) or year."""
    if rhythm in (Rhythm.MONTH, Rhythm.QUARTER):
        required = minimum * 3 if rhythm == Rhythm.MONTH else minimum
        return Window(quarter - 1 if quarter > 1 else None, required, required, False, None)
    if rhythm == Rhythm.YEAR:
        return Window(None, minimum, minimum * quarter / 4, quarter < 4, None)
    first = 1 if quarter <= 2 else 3
    mid = quarter == first
    pace = minimum / 2 if mid else minimum
    return Window(2 if first == 3 else None, minimum, pace, mid, "H1" if first == 1 else "H2")


def _frequency(target: Target, period: Period, unit: UnitInfo, periods: list[Period], data: Inputs) -> Result:
    minimum = target.per_unit_minimum if target.per_unit_minimum is not None else target.target_value
    if minimum is None:
        return Result(detail=ProgressDetail(reason="no_target_value"))
    if not _updated_from_one_school(target):  # another rhythm or level, or a ceiling: the general count
        return _frequency_by_rhythm(target, period, unit, periods, data, minimum)
    first_quarter = 1 if period.quarter <= 2 else 3
    mid_semester = period.quarter == first_quarter
    qualifying = data.under(
        ("qualifying", target.indicator_id, period.pk),
        target.scope.path,
        unit.path,
        lambda: [s for s in data.schools.values() if s.level == Level.SCHOOL and _qualifies(target, s, period)],
    )
    if not qualifying:
        return Result(detail=ProgressDetail(reason="no_qualifying_units"))

    # Stored values of these counts (flow figures) are year to date: the semester's count is the value
    # now, less — in the second half — the value at the end of Q2.
    def school_values(period_id: int) -> dict[int, Decimal]:
        rows = _level_values(data, target, period_id, unit.path)
        return {school_id: value for school_id, value in rows if value is not None}

    totals = school_values(period.pk)
    if first_quarter == 3:
        q2 = next((p for p in periods if p.year == period.year and p.quarter == 2), None)
        before = school_values(q2.pk) if q2 is not None else {}
        totals = {school_id: value - before.get(school_id, Decimal(0)) for school_id, value in totals.items()}
    if not any(s.id in totals for s in qualifying):
        return Result(expected=HUNDRED)
    pace = minimum / 2 if mid_semester else minimum
    failing_schools = [s for s in qualifying if totals.get(s.id, Decimal(0)) < pace]
    failing = [_unit_ref(s, value=totals.get(s.id)) for s in failing_schools[:FAILING_LIMIT]]
    below_minimum = any(totals.get(s.id, Decimal(0)) < minimum for s in qualifying)
    return _judge_frequency(
        target, minimum, first_quarter, mid_semester, len(qualifying), failing, len(failing_schools), below_minimum
    )


def _frequency_by_rhythm(
    target: Target, period: Period, unit: UnitInfo, periods: list[Period], data: Inputs, minimum: Decimal
) -> Result:
    """A frequency counted per month, quarter or year, or for units above schools ("每个学区每月一次").

    The units are those of the target's level under the row's unit (schools: those the indicator covers); a
    unit's count in the window is its year-to-date value less the value at the window's start. A unit is
    behind below the pace, and over a ceiling when the plan's range has one ("2–3 次", ceiling set).
    """
    level = unit_level(target)
    window = frequency_window(target.rhythm or Rhythm.SEMESTER, period.quarter, minimum)
    qualifying = data.under(
        ("qualifying", target.indicator_id, level, period.pk),
        target.scope.path,
        unit.path,
        lambda: [
            u
            for u in data.schools.values()
            if u.level == level
            and (_qualifies(target, u, period) if level == Level.SCHOOL else UnitFilter.is_open(u, period.end_date))
        ],
    )
    if not qualifying:
        return Result(detail=ProgressDetail(reason="no_qualifying_units"))

    def values(period_id: int) -> dict[int, Decimal]:
        return {uid: value for uid, value in _level_values(data, target, period_id, unit.path) if value is not None}

    totals = values(period.pk)
    if window.prior_quarter is not None:
        prior = next((p for p in periods if p.year == period.year and p.quarter == window.prior_quarter), None)
        before = values(prior.pk) if prior is not None else {}
        totals = {uid: value - before.get(uid, Decimal(0)) for uid, value in totals.items()}
    if not any(u.id in totals for u in qualifying):
        return Result(expected=HUNDRED)
    ceiling = target.target_value_max if target.range_is_ceiling else None  # "2–3 次" with 3 as a ceiling
    if ceiling is not None and target.rhythm == Rhythm.MONTH:
        ceiling *= 3

    def count(u: UnitInfo) -> Decimal:
        return totals.get(u.id, Decimal(0))

    failing_units = [u for u in qualifying if count(u) < window.pace or (ceiling is not None and count(u) > ceiling)]
    below = any(count(u) < window.required for u in qualifying)
    complying = len(qualifying) - len(failing_units)
    actual = HUNDRED * complying / len(qualifying)
    status = share_status(actual, target.at_risk_margin)
    if status == S.MET and window.mid_window and below:
        status = S.ON_TRACK
    detail = ProgressDetail(
        failing_units=[_unit_ref(u, value=totals.get(u.id)) for u in failing_units[:FAILING_LIMIT]],
        failing_count=len(failing_units),
        units_qualifying=len(qualifying),
        units_complying=complying,
        per_unit_minimum=num(minimum),
        semester=window.semester,
    )
    return Result(actual=actual, expected=HUNDRED, status=status, detail=detail)


def _judge_frequency(
    target: Target,
    minimum: Decimal,
    first_quarter: int,
    mid_semester: bool,
    qualifying: int,
    failing: list[UnitRef],
    failed: int,
    below_minimum: bool,
) -> Result:
    """A frequency row from its per-school facts (full run and approvals alike)."""
    complying = qualifying - failed
    actual = HUNDRED * complying / qualifying
    status = share_status(actual, target.at_risk_margin)
    if status == S.MET and mid_semester and below_minimum:
        status = S.ON_TRACK  # on pace, not there yet
    detail = ProgressDetail(
        failing_units=failing,
        failing_count=failed,
        units_qualifying=qualifying,
        units_complying=complying,
        per_unit_minimum=num(minimum),
        semester="H1" if first_quarter == 1 else "H2",
    )
    return Result(actual=actual, expected=HUNDRED, status=status, detail=detail)


# --- "有一定提高": better than a baseline ---


def _with_next_year(first_index: dict[int, int]) -> dict[int, int]:
    """A changed quarter is also the baseline of the same quarter a year later (``improves``): those too."""
    shifted = dict(first_index)
    for year, index in first_index.items():
        shifted[year + 1] = min(shifted.get(year + 1, index + 4), index + 4)
    return shifted


def lower_is_better(target: Target) -> bool:
    """Does a lower value mean better for ``target``? An ``improves`` target says so in its ``direction``;
    otherwise a ≤ bound."""
    if target.comparator == Comparator.IMPROVES:
        return target.direction == Direction.LOWER
    return target.comparator == Comparator.LTE


def _load_improves(targets: list[Target], units: dict[int, list[UnitInfo]], data: Inputs) -> None:
    """The baselines of the ``improves`` targets into ``data``: the quarters a year before the plan years' and
    the explicit baseline quarters, with their indicator values for the targets' units (two queries, none
    without such a target)."""
    improving = [t for t in targets if t.comparator == Comparator.IMPROVES and t.indicator_id]
    if not improving:
        return
    years = {t.plan.year for t in improving}
    earlier = {(p.year, p.quarter): p for p in Period.objects.filter(year__in={y - 1 for y in years})}
    for year in years:
        for period in data.periods_by_year[year]:
            if (period.year - 1, period.quarter) in earlier:
                data.year_ago[period.pk] = earlier[(period.year - 1, period.quarter)]
    period_ids = {p.pk for p in data.year_ago.values()} | {
        t.baseline_period_id for t in improving if t.baseline_period_id
    }
    unit_ids = {u.id for t in improving for u in units[t.pk]}
    for ind, unit, per, value in IndicatorValue.objects.filter(
        indicator_id__in={t.indicator_id for t in improving}, org_unit_id__in=unit_ids, period_id__in=period_ids
    ).values_list("indicator_id", "org_unit_id", "period_id", "value"):
        data.baselines[(ind, unit, per)] = value


def _improves(target: Target, period: Period, unit: UnitInfo, is_scope: bool, data: Inputs) -> Result:
    """Strictly better than the baseline → met. The baseline: the target's baseline value (its scope row), else
    the unit's value in the target's baseline quarter, else in the same quarter a year earlier; none yet → no
    status (``reason: no_baseline``), never met. Not better: at risk while within ``at_risk_margin`` of the
    baseline before the due quarter, else off track. ``expected`` is the baseline; the detail names it and the
    change (actual − baseline, signed as the value moved)."""
    actual = data.agg.get((target.indicator_id, unit.id, period.pk))
    if is_scope and target.baseline_value is not None:
        baseline: Decimal | None = target.baseline_value
        base_code = target.baseline_period.code if target.baseline_period_id else ""
    else:
        base_period = target.baseline_period if target.baseline_period_id else data.year_ago.get(period.pk)
        base_code = base_period.code if base_period is not None else ""
        baseline = data.baselines.get((target.indicator_id, unit.id, base_period.pk)) if base_period else None
    if baseline is None:
        detail = ProgressDetail(reason="no_baseline", baseline_period=base_code or None)
        return Result(actual=actual, projection=actual, detail=detail)
    detail = ProgressDetail(baseline=num(baseline), baseline_period=base_code or None)
    if actual is None:
        return Result(expected=baseline, detail=detail)
    detail.change = num(actual - baseline)
    better = actual < baseline if lower_is_better(target) else actual > baseline
    if better:
        status = S.MET
    elif period.index < due_index(target) and abs(actual - baseline) <= abs(baseline) * target.at_risk_margin:
        status = S.AT_RISK
    else:
        status = S.OFF_TRACK
    return Result(actual=actual, expected=baseline, projection=actual, status=status, detail=detail)


def _note_ref(note: TargetNote) -> NoteRef:
    return {
        "id": note.pk,
        "date": note.reported_date.isoformat(),
        "text": note.text[:200],
        "review_status": note.review_status,
        "has_evidence": bool(note.evidence),
    }


def milestone_window(target: Target) -> tuple[datetime.date | None, datetime.date | None]:
    """A milestone's first day (its start month in the plan year) and due day: the due date, else the end of the
    due month in the plan year, else the end of the due period. None where the target gives none."""
    year = target.plan.year
    start = datetime.date(year, target.start_month, 1) if target.start_month else None
    due: datetime.date | None = target.due_date
    if due is None and target.due_month:
        due = datetime.date(year + target.due_month // 12, target.due_month % 12 + 1, 1) - datetime.timedelta(days=1)
    if due is None and target.due_period_id:
        due = target.due_period.end_date
    return start, due


def _note_in_quarter(note: TargetNote, period: Period) -> bool:
    """A note belongs to the quarter it reports on (its period, else the quarter of its date)."""
    if note.period_id is not None:
        return note.period_id == period.pk
    return period.start_date <= note.reported_date <= period.end_date


def _milestone(target: Target, period: Period, data: Inputs) -> Result:
    """A milestone's status in one quarter, from what was known by then (see the module docstring)."""
    start, due = milestone_window(target)
    # Judged as of the period's end (or today, if earlier); the plan year's last quarter has no later quarter to
    # turn off track in, so it is judged as of today: a milestone due on 12-31 turns off track once 12-31 passed.
    last_quarter = period.year == target.plan.year and period.quarter == 4
    as_of = data.today if last_quarter else min(data.today, period.end_date)
    notes = sorted(data.notes.get(target.pk, []), key=lambda n: (n.reported_date, n.created_at, n.pk), reverse=True)
    known = [n for n in notes if n.reported_date <= as_of]
    of_quarter = [n for n in notes if _note_in_quarter(n, period)]
    # Done from the completion date on (an undated "done" from before that field: done in every quarter).
    if target.completed_on is not None:
        done = target.completed_on <= as_of
    else:
        done = target.milestone_status == MilestoneStatus.DONE
    # The state as of then: the latest dated note that reports one (a returned note does not count), else the
    # target's own. "Done" counts only through the completion date, i.e. once a reviewer accepted it.
    stated = [n for n in notes if n.milestone_status and n.review_status != NoteReview.RETURNED]
    stated_by_then = [n for n in stated if n.reported_date <= as_of]
    if stated_by_then:
        state = stated_by_then[0].milestone_status
    elif stated:  # the notes date every state: before the first one, nothing had started
        state = MilestoneStatus.NOT_STARTED
    else:
        state = target.milestone_status or MilestoneStatus.NOT_STARTED
    awaiting_review = any(
        n.milestone_status == MilestoneStatus.DONE and n.review_status == NoteReview.PENDING for n in known
    )
    if state == MilestoneStatus.DONE and not done:
        state = MilestoneStatus.IN_PROGRESS
    if done:
        state = MilestoneStatus.DONE
    overdue = due is not None and as_of > due and not done
    reason = None
    if done:
        status = S.MET
    elif overdue:
        status = S.OFF_TRACK
    elif start is not None and as_of < start and not known:
        status, reason = S.NO_DATA, "before_start"
    elif state == MilestoneStatus.BLOCKED:
        status = S.AT_RISK
    elif state == MilestoneStatus.IN_PROGRESS or known or start is not None:
        status = S.ON_TRACK  # in its window (start month given) the plan has the work under way
    else:
        status = S.NO_DATA
    detail = ProgressDetail(
        reason=reason,
        milestone_status=state,
        due_date=due.isoformat() if due else None,
        start_date=start.isoformat() if start else None,
        completed_on=target.completed_on.isoformat() if done and target.completed_on else None,
        awaiting_review=True if awaiting_review and not done else None,
        overdue=overdue,
        notes=[_note_ref(n) for n in of_quarter[:3]],
        evidence_count=sum(1 for n in of_quarter if n.evidence),
    )
    return Result(status=status, detail=detail)


def _narrative(target: Target, period: Period, data: Inputs) -> Result:
    notes = [n for n in data.notes.get(target.pk, []) if n.period_id == period.pk]
    if not notes:
        return Result()
    latest = notes[0]
    status = {NoteReview.ACCEPTED: S.MET, NoteReview.RETURNED: S.AT_RISK}.get(latest.review_status, S.ON_TRACK)
    return Result(status=status, detail=ProgressDetail(notes=[_note_ref(n) for n in notes[:3]]))


def _first_indexes(period_ids: Iterable[int] | None) -> dict[int, int] | None:
    """Per year, the first quarter index to recompute (None: every period). A changed quarter feeds the later
    quarters of its year too (their year-to-date values include it)."""
    if period_ids is None:
        return None
    first_index: dict[int, int] = {}
    for period in Period.objects.filter(pk__in=list(period_ids)):
        first_index[period.year] = min(first_index.get(period.year, period.index), period.index)
    return first_index


def _periods_to_write(target: Target, data: Inputs, first_index: dict[int, int] | None) -> list[Period]:
    if first_index is not None and target.comparator == Comparator.IMPROVES:
        first_index = _with_next_year(first_index)
    return [
        period
        for period in data.periods_by_year[target.plan.year]
        if first_index is None or (period.year in first_index and period.index >= first_index[period.year])
    ]


Measure = Callable[[Target, Period, UnitInfo, bool], Result]


def _build_rows(
    targets: list[Target],
    units: dict[int, list[UnitInfo]],
    data: Inputs,
    first_index: dict[int, int] | None,
    measure: Measure,
    now: datetime.datetime,
) -> list[Progress]:
    """One Progress row per target × period × unit given (the scope first); parents list their sub-targets."""
    rows: list[Progress] = []
    details: list[ProgressDetail] = []  # one per row, stored once the parents have their sub-targets
    results: dict[tuple[int, int], Result] = {}
    for target in targets:
        for period in _periods_to_write(target, data, first_index):
            for position, unit in enumerate(units[target.pk]):
                result = measure(target, period, unit, position == 0)
                if position == 0:
                    results[(target.pk, period.pk)] = result
                rows.append(
                    Progress(
                        target_id=target.pk,
                        period_id=period.pk,
                        org_unit_id=unit.id,
                        actual=result.actual,
                        expected=result.expected,
                        projection=result.projection,
                        status=result.status,
                        computed_at=now,
                    )
                )
                details.append(result.detail)
    # Parents list their sub-targets ("其中外来生…") with status, from this same run.
    by_code = {t.pk: t for t in targets}
    for target in targets:
        if target.part_of_id and target.part_of_id in by_code:
            for (target_id, period_id), result in results.items():
                if target_id == target.pk and (target.part_of_id, period_id) in results:
                    parent = results[(target.part_of_id, period_id)]
                    if parent.detail.sub_targets is None:
                        parent.detail.sub_targets = []
                    parent.detail.sub_targets.append(
                        {"code": target.code, "actual": num(result.actual), "status": result.status}
                    )
    for row, detail in zip(rows, details, strict=True):
        row.detail = detail.to_json()
    return rows


STORED_STEP = Decimal("0.000001")  # Progress's numbers keep six decimal places


def _same_number(stored: Decimal | None, computed: Decimal | None) -> bool:
    if stored is None or computed is None:
        return stored is None and computed is None
    return abs(stored - computed) < STORED_STEP


# pk, actual, expected, projection, status, detail, computed_at, full_at
StoredRow = tuple[
    int, Decimal | None, Decimal | None, Decimal | None, str, Any, datetime.datetime, datetime.datetime | None
]


def _stored_rows(
    target_ids: list[int], period_ids: list[int], unit_ids: Iterable[int] | None
) -> dict[tuple[int, int, int], StoredRow]:
    """The stored rows (pk, actual, expected, projection, status, detail, computed_at, full_at) by (target, period,
    unit)."""
    stored = Progress.objects.filter(target_id__in=target_ids, period_id__in=period_ids).order_by()
    if unit_ids is not None:
        stored = stored.filter(org_unit_id__in=list(unit_ids))
    return {
        (t, p, u): (pk, actual, expected, projection, status, detail, computed_at, full_at)
        for pk, t, p, u, actual, expected, projection, status, detail, computed_at, full_at in stored.values_list(
            "pk",
            "target_id",
            "period_id",
            "org_unit_id",
            "actual",
            "expected",
            "projection",
            "status",
            "detail",
            "computed_at",
            "full_at",
        )
    }


def _write(
    rows: list[Progress],
    target_ids: list[int],
    unit_ids: list[int] | None,
    existing: dict[tuple[int, int, int], StoredRow] | None = None,
    *,
    full: bool = True,
) -> int:
    """Upsert the rows that differ from the stored ones (unchanged rows are not rewritten); returns how many.

    ``full``: the rows were computed from every unit's values (stamped ``full_at``); an approval's update
    (``full=False``) keeps the stored stamp.

    With ``unit_ids`` None (all the targets' units were computed), stored rows of the targets and periods
    that were not computed are deleted: units no longer in a target's drill-down (scope changed, unit closed).
    ``existing``: the stored rows, when the caller has read them already.
    """
    if existing is None:
        existing = _stored_rows(target_ids, list({row.period_id for row in rows}), unit_ids)
    else:
        existing = dict(existing)
    changed = []
    for row in rows:
        old = existing.pop((row.target_id, row.period_id, row.org_unit_id), None)
        if (
            old is not None
            and _same_number(old[1], row.actual)
            and _same_number(old[2], row.expected)
            and _same_number(old[3], row.projection)
            and old[4] == row.status
            and old[5] == row.detail
        ):
            continue
        changed.append(row)
    stale = [old[0] for old in existing.values()] if unit_ids is None else []
    update_fields = ["actual", "expected", "projection", "status", "detail", "computed_at"]
    if full:
        update_fields.append("full_at")
        for row in changed:
            row.full_at = row.computed_at
    with transaction.atomic():
        Progress.objects.bulk_create(
            changed,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["target", "period", "org_unit"],
            update_fields=update_fields,
        )
        if stale:
            Progress.objects.filter(pk__in=stale).delete()
    return len(changed)


def recompute_progress(
    *,
    period_ids: Iterable[int] | None = None,
    indicator_ids: Iterable[int] | None = None,
    target_ids: Iterable[int] | None = None,
) -> int:
    """Recompute Progress rows of the targets selected (all when no filter); returns the rows written
    (rows whose numbers, status and detail are unchanged are not rewritten).

    ``period_ids`` narrows the periods written, but later quarters of the same year are recomputed
    too (their year-to-date sums include the changed quarter).
    """
    targets = _targets(period_ids, indicator_ids, target_ids)
    if not targets:
        return 0
    units = _units_of(targets)
    first_index = _first_indexes(period_ids)
    per_unit_period_ids = None
    if first_index is not None:
        if not first_index:
            return 0
        # Per-school values are only needed from the start of the changed quarter's semester on.
        per_unit_period_ids = [
            p.pk
            for p in Period.objects.filter(year__in=list(first_index))
            if p.index >= first_index[p.year] - (first_index[p.year] % 2)
        ]
    data = _load_inputs(targets, units, per_unit_period_ids)

    def measure(target: Target, period: Period, unit: UnitInfo, is_scope: bool) -> Result:
        return _compute(target, period, unit, is_scope, data)

    rows = _build_rows(targets, units, data, first_index, measure, timezone.now())
    if not rows:
        return 0
    return _write(rows, [t.pk for t in targets], None)


@dataclass
class _SchoolChange:
    """The approved school: where it sits, and its own values before and after the approval."""

    unit: UnitInfo
    before: dict[tuple[int, int], Decimal | None]
    after: dict[tuple[int, int], Decimal | None]


class _NeedsFullRead(Exception):
    """A per-unit row whose stored facts cannot be updated from one school's change (rare): recompute it."""


def recompute_progress_for_unit(
    *,
    unit_ids: Iterable[int],
    changed_unit_id: int,
    period_ids: Iterable[int],
    indicator_ids: Iterable[int],
    previous: Mapping[tuple[int, int], Decimal | None],
    since: datetime.datetime | None = None,
    after: Mapping[tuple[int, int], Decimal | None] | None = None,
) -> int:
    """After one unit's values were recomputed (an approval): only the Progress rows those values feed.

    ``unit_ids`` are the unit and its ancestors (the only units whose values changed). Rewritten: the targets of
    the changed indicators whose scope is one of those units, for the changed periods and the later quarters
    of their year, and of each only the rows of the scope and of the child on the way to the unit. Per-unit
    targets (every school must …, limits, frequencies) are not re-read school by school: the stored row's
    counts and failing list are updated with the one school's before/after values (``previous`` — the unit's
    values before the recompute, from the engine). A row whose stored facts cannot be updated that way (a
    listed school recovers while more than FAILING_LIMIT fail, a first value for a frequency, …) is
    recomputed the full way. Returns the rows written; equal to what ``recompute_progress()`` writes.

    ``since``: when the engine's recompute began. A per-unit row written since then may already count the new
    values (another approval's run, a target edit): adding the change again would count it twice, so its
    target is recomputed the full way; so is every per-unit target when the unit's values no longer are ``after``
    (what the engine wrote: a later approval of the same unit has moved them, and its own update will add that
    change). Approvals' runs take one lock for their writes, so that two never update a row at once.
    """
    changed_units = set(unit_ids)
    period_ids = list(period_ids)
    indicator_ids = set(indicator_ids)
    # Only the targets fed by the changed indicators whose scope is one of the changed units (and their parents and
    # parts): not every target of every plan.
    candidates = _targets(None, indicator_ids, None, scope_ids=changed_units)
    chosen = {t.pk for t in candidates if t.scope_id in changed_units and t.indicator_id in indicator_ids}
    # Parents and sub-targets travel together (a parent's detail lists its parts' status).
    parents = {t.part_of_id for t in candidates if t.pk in chosen and t.part_of_id}
    targets = [t for t in candidates if t.pk in chosen or t.pk in parents or t.part_of_id in chosen | parents]
    first_index = _first_indexes(period_ids)
    if not targets or not first_index:
        return 0
    units = {
        pk: [scope, *(u for u in rest if u.id in changed_units)] for pk, (scope, *rest) in _units_of(targets).items()
    }
    data = _load_inputs(targets, units, per_unit_facts=False)

    def update() -> _UnitUpdate:
        return _update_for_unit(
            targets,
            units,
            data,
            first_index,
            changed_units,
            changed_unit_id,
            period_ids,
            indicator_ids,
            previous,
            since,
            after,
        )

    # Computed outside the lock from the rows as stored now; under the lock only a check that no other run rewrote
    # one of them meanwhile (else computed again, under the lock: two approvals on the same rows at once), then the
    # write. Approvals in different districts so hold the lock for their writes only.
    plan = update()
    with transaction.atomic():
        _lock_progress()
        if not plan.still_stored():
            plan = update()
        written = (
            _write(plan.rows, [t.pk for t in targets], list(changed_units), plan.existing, full=False)
            if plan.rows
            else 0
        )
        if plan.redo:
            written += recompute_progress(target_ids=plan.redo, period_ids=period_ids)
    return written


@dataclass
class _UnitUpdate:
    """An approval's progress run, computed: the rows to write, the stored rows they were computed from, and the
    targets to recompute the full way."""

    rows: list[Progress]
    existing: dict[tuple[int, int, int], StoredRow]
    redo: set[int]
    target_ids: list[int]
    period_ids: list[int]
    unit_ids: list[int]

    def still_stored(self) -> bool:
        """Are the stored rows those the run was computed from (none added, none rewritten since)?"""
        now = set(
            Progress.objects.filter(
                target_id__in=self.target_ids, period_id__in=self.period_ids, org_unit_id__in=self.unit_ids
            )
            .order_by()
            .values_list("pk", "computed_at")
        )
        return now == {(row[0], row[6]) for row in self.existing.values()}


PROGRESS_LOCK = (0x7072_6F67, 0)  # "prog": approvals' progress runs, one at a time


def _lock_progress() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(PROGRESS_LOCK))


def _update_for_unit(
    targets: list[Target],
    units: dict[int, list[UnitInfo]],
    data: Inputs,
    first_index: dict[int, int],
    changed_units: set[int],
    changed_unit_id: int,
    period_ids: list[int],
    indicator_ids: set[int],
    previous: Mapping[tuple[int, int], Decimal | None],
    since: datetime.datetime | None,
    engine_after: Mapping[tuple[int, int], Decimal | None] | None = None,
) -> _UnitUpdate:
    """The rows ``recompute_progress_for_unit`` writes, computed from the stored ones (nothing written)."""
    now = timezone.now()
    per_unit = [t for t in targets if _is_per_unit(t) and t.indicator_id]
    write_periods = [p.pk for t in targets for p in _periods_to_write(t, data, first_index)]
    existing = _stored_rows([t.pk for t in targets], list(set(write_periods)), changed_units)
    # Rows fully recomputed since the values changed may count the change already: those targets are read in full.
    # Another approval's update does not (it adds its own school's change only): approvals in different districts
    # update the same root rows one after the other without re-reading every school (issue 17).
    per_unit_ids = {t.pk for t in per_unit}
    redo: set[int] = {
        key[0]
        for key, row in existing.items()
        if since is not None and row[7] is not None and row[7] >= since and key[0] in per_unit_ids
    }
    stored = {key: (row[4], from_json(row[5])) for key, row in existing.items() if key[0] in {t.pk for t in per_unit}}
    paths = _ListedPaths(detail for _status, detail in stored.values())
    school: _SchoolChange | None = None
    if per_unit:
        changed = OrgUnit.objects.filter(pk=changed_unit_id, level=Level.SCHOOL).values_list(*UNIT_INFO_FIELDS).first()
        if changed is not None:
            info = UnitInfo(*changed)
            year_periods = [p.pk for ps in data.periods_by_year.values() for p in ps]
            after: dict[tuple[int, int], Decimal | None] = dict.fromkeys(
                ((t.indicator_id, p) for t in per_unit for p in year_periods), None
            )
            for ind, per, value in IndicatorValue.objects.filter(
                org_unit_id=info.id, indicator_id__in={t.indicator_id for t in per_unit}, period_id__in=year_periods
            ).values_list("indicator_id", "period_id", "value"):
                after[(ind, per)] = value
            recomputed = set(period_ids)
            before = {
                key: previous.get(key) if key[0] in indicator_ids and key[1] in recomputed else value
                for key, value in after.items()
            }
            school = _SchoolChange(info, before, after)
            if engine_after is not None and any(
                after.get(key) != value for key, value in engine_after.items() if key in after
            ):
                # The unit's values moved again since this approval's recompute (a later approval of the same
                # unit): adding "previous → now" here and "that approval's before → now" there would count the
                # later change twice. Read these targets in full instead (rare).
                redo |= per_unit_ids

    def measure(target: Target, period: Period, unit: UnitInfo, is_scope: bool) -> Result:
        if not _is_per_unit(target) or not target.indicator_id:
            return _compute(target, period, unit, is_scope, data)
        if not _updated_from_one_school(target):
            redo.add(target.pk)
        if target.pk in redo:
            return Result()
        old = stored.get((target.pk, period.pk, unit.id))
        try:
            if target.kind == TargetKind.FREQUENCY:
                return _compute(
                    target,
                    period,
                    unit,
                    is_scope,
                    data,
                    frequency=lambda: _frequency_after(target, period, old, school, data, paths),
                )
            return _compute(
                target,
                period,
                unit,
                is_scope,
                data,
                facts=lambda bound: _updated_facts(target, period, unit, old, school, bound, paths),
            )
        except _NeedsFullRead:
            redo.add(target.pk)
            return Result()

    rows = _build_rows(targets, units, data, first_index, measure, now)
    rows = [row for row in rows if row.target_id not in redo]
    return _UnitUpdate(
        rows=rows,
        existing=existing,
        redo=redo,
        target_ids=[t.pk for t in targets],
        period_ids=sorted(set(write_periods)),
        unit_ids=sorted(changed_units),
    )


def _updated_facts(
    target: Target,
    period: Period,
    row_unit: UnitInfo,
    old: tuple[str, ProgressDetail] | None,
    school: _SchoolChange | None,
    bound: Decimal | None,
    paths: _ListedPaths,
) -> tuple[list[UnitRef], int, int]:
    """A threshold's or limit's per-school facts (failing list, failing count, checked count) after the one
    school's change, from the stored row; raises _NeedsFullRead when the stored row cannot tell."""
    if old is None or old[1].failing_count is None or old[1].units_checked is None:
        raise _NeedsFullRead
    detail = old[1]
    failing = list(detail.failing_units or [])
    failed, checked = detail.failing_count or 0, detail.units_checked or 0
    if school is None:
        return failing, failed, checked  # a district's own figures: no school's fact moved
    key = (target.indicator_id, period.pk)
    limit_bound = bound if target.kind != TargetKind.LIMIT else None
    before, after = school.before.get(key), school.after.get(key)
    was_failing = before is not None and not satisfies(target, before, limit_bound)
    is_failing = after is not None and not satisfies(target, after, limit_bound)
    checked += (after is not None) - (before is not None)
    failed += is_failing - was_failing

    def next_failing(after_path: str) -> UnitRef | None:
        return _next_failing(target, period, row_unit.path, after_path, limit_bound)

    _update_failing_list(
        failing,
        detail.failing_count or 0,
        school.unit,
        is_failing,
        after,
        paths,
        next_failing,
        with_value=False,
        was_failing=was_failing,
    )
    return failing, failed, checked


NEXT_FAILING_BATCH = 200


def _next_failing(
    target: Target, period: Period, row_path: str, after_path: str, bound: Decimal | None
) -> UnitRef | None:
    """The first unit at the target's per-unit level under ``row_path`` and after ``after_path`` (path order) whose
    value fails the bound — the school that moves up into a full failing list when a listed one recovers. The same
    units as ``_failing_units`` reads (a value, the level, the subtree), read in path order a batch at a time from
    the listed end on: no school before the list's end is read."""
    rows = IndicatorValue.objects.filter(
        indicator_id=target.indicator_id,
        period_id=period.pk,
        value__isnull=False,
        org_unit__level=unit_level(target),
        org_unit__path__startswith=row_path,
    ).order_by("org_unit__path")
    fields = [f"org_unit__{name}" for name in UNIT_INFO_FIELDS]
    while True:
        batch = list(rows.filter(org_unit__path__gt=after_path).values_list(*fields, "value")[:NEXT_FAILING_BATCH])
        for *info, value in batch:
            if not satisfies(target, value, bound):
                return _listed_ref(UnitInfo(*info))
        if len(batch) < NEXT_FAILING_BATCH:
            return None
        after_path = batch[-1][3]  # the path


class _ListedPaths:
    """The paths of the schools named in an approval run's stored failing lists, read in one query when first
    needed (a failing school not listed yet: where does it go?) instead of one query per row."""

    def __init__(self, details: Iterable[ProgressDetail]) -> None:
        self._codes = {ref["code"] for detail in details for ref in detail.failing_units or []}
        self._asked: set[str] = set()
        self._paths: dict[str, str] = {}

    def _load(self, listed: list[str]) -> None:
        if any(code not in self._asked for code in listed):
            wanted = (self._codes | set(listed)) - self._asked
            self._paths.update(OrgUnit.objects.filter(code__in=sorted(wanted)).values_list("code", "path"))
            self._asked |= wanted

    def position(self, failing: list[UnitRef], unit: UnitInfo) -> int:
        """How many of the listed schools come before ``unit`` in path order (a code no longer found: none)."""
        listed = [ref["code"] for ref in failing]
        self._load(listed)
        return sum(1 for code in listed if code in self._paths and self._paths[code] < unit.path)

    def path(self, code: str) -> str | None:
        """A listed school's path (None: no longer found)."""
        self._load([code])
        return self._paths.get(code)


def _update_failing_list(
    failing: list[UnitRef],
    failed_before: int,
    unit: UnitInfo,
    is_failing: bool,
    value: Decimal | None,
    paths: _ListedPaths,
    next_failing: Callable[[str], UnitRef | None] | None = None,
    *,
    with_value: bool = True,
    was_failing: bool = False,
) -> None:
    """The first FAILING_LIMIT failing schools by path, after ``unit`` now fails or passes (in place).

    A listed school that recovers while more fail than are listed lets the first failing school beyond the list
    move up: ``next_failing`` (from the last listed school's path) finds it; without it, the row is read in full.
    ``with_value``: the refs carry the school's value (frequencies: a semester total); thresholds' and limits' refs
    do not (``_listed_ref``)."""
    codes = [ref["code"] for ref in failing]
    ref = _unit_ref(unit, value=value) if with_value else _listed_ref(unit)
    if unit.code in codes:
        if is_failing:
            failing[codes.index(unit.code)] = ref  # same place (a frequency's ref: its new value)
            return
        if failed_before > len(failing):
            last_path = paths.path(codes[-1])
            if next_failing is None or last_path is None:
                raise _NeedsFullRead  # the first failing school beyond the list would move up: read them
            moving_up = next_failing(last_path)
            if moving_up is None:
                raise _NeedsFullRead  # the count says one exists: the stored row is not to be trusted
            del failing[codes.index(unit.code)]
            failing.append(moving_up)
            return
        del failing[codes.index(unit.code)]
    elif is_failing and len(failing) >= FAILING_LIMIT and failed_before > len(failing) and was_failing:
        return  # it failed beyond a full list and still does: the first FAILING_LIMIT are the same schools
    elif is_failing:
        # Its place in path order: how many listed schools come before it.
        failing.insert(paths.position(failing, unit), ref)
        del failing[FAILING_LIMIT:]


def _frequency_after(
    target: Target,
    period: Period,
    old: tuple[str, ProgressDetail] | None,
    school: _SchoolChange | None,
    data: Inputs,
    paths: _ListedPaths,
) -> Result:
    """A frequency row after the one school's change, from the stored row (see ``_frequency``); raises
    _NeedsFullRead when the stored row cannot tell (no value before, a value removed, who is below minimum)."""
    minimum = target.per_unit_minimum if target.per_unit_minimum is not None else target.target_value
    if minimum is None:
        return Result(detail=ProgressDetail(reason="no_target_value"))
    if old is None or old[1].units_qualifying is None or old[1].failing_count is None or old[1].reason:
        raise _NeedsFullRead
    old_status, detail = old
    first_quarter = 1 if period.quarter <= 2 else 3
    mid_semester = period.quarter == first_quarter
    qualifying = detail.units_qualifying or 0
    failing = list(detail.failing_units or [])
    failed = detail.failing_count or 0
    # Failing means below the pace, which is at most the minimum; with none failing mid-semester, ON_TRACK
    # (not MET) says some school is below the minimum.
    below_before = failed > 0 or (mid_semester and old_status == S.ON_TRACK)
    if school is None or not _qualifies(target, school.unit, period):
        return _judge_frequency(target, minimum, first_quarter, mid_semester, qualifying, failing, failed, below_before)
    q2 = next((p for p in data.periods_by_year[period.year] if p.quarter == 2), None)

    def semester_total(values: dict[tuple[int, int], Decimal | None]) -> Decimal | None:
        value = values.get((target.indicator_id, period.pk))
        if value is None or first_quarter == 1 or q2 is None:
            return value
        return value - (values.get((target.indicator_id, q2.pk)) or Decimal(0))

    before, after = semester_total(school.before), semester_total(school.after)
    if after is None and before is not None:
        raise _NeedsFullRead  # was it the only school with a value? Only a full read tells
    pace = minimum / 2 if mid_semester else minimum
    was_failing = (before or Decimal(0)) < pace
    is_failing = (after or Decimal(0)) < pace
    failed += is_failing - was_failing
    _update_failing_list(
        failing, detail.failing_count or 0, school.unit, is_failing, after, paths, was_failing=was_failing
    )
    if failed > 0 or (after or Decimal(0)) < minimum:
        below = True
    elif not below_before:
        below = False
    elif (before or Decimal(0)) >= minimum:
        below = True  # another school was below the minimum, and still is
    else:
        raise _NeedsFullRead  # was this school the only one below the minimum?
    return _judge_frequency(target, minimum, first_quarter, mid_semester, qualifying, failing, failed, below)


@dataclass
class ProgressPreview:
    """What the target form shows before saving: the current quarter's numbers and status, not stored."""

    period: str | None
    status: str
    actual: float | None = None
    expected: float | None = None
    projection: float | None = None
    detail: ProgressDetail = field(default_factory=ProgressDetail)

    @property
    def status_label(self) -> str:
        return str(S(self.status).label)

    def to_json(self) -> dict[str, Any]:
        """The preview as static/js/plans.js reads it."""
        return {
            "period": self.period,
            "actual": self.actual,
            "expected": self.expected,
            "projection": self.projection,
            "status": self.status,
            "status_label": self.status_label,
            "detail": self.detail.to_json(),
        }


def stored_preview(target: Target) -> ProgressPreview:
    """The preview of a saved target: its stored progress row of the current quarter at its scope (one query;
    computed like ``preview`` when no row was written)."""
    period = Period.objects.current(year=target.plan.year)
    if period is None:
        return ProgressPreview(period=None, status=S.NO_DATA)
    row = Progress.objects.filter(target_id=target.pk, org_unit_id=target.scope_id, period=period).first()
    if row is None:
        return preview(target)
    return ProgressPreview(
        period=period.code,
        actual=num(row.actual),
        expected=num(row.expected),
        projection=num(row.projection),
        status=row.status,
        detail=from_json(row.detail),
    )


def preview(target: Target) -> ProgressPreview:
    """Actual, expected and status an (unsaved) target would have in the current quarter of its plan.

    Used by the target form's preview while bureau staff pick the indicator and comparator; computed
    exactly like the stored progress, nothing written.
    """
    period = Period.objects.current(year=target.plan.year)
    if period is None:
        return ProgressPreview(period=None, status=S.NO_DATA)
    units = _units_of([target])
    data = _load_inputs([target], units)
    result = _compute(target, period, units[target.pk][0], True, data)
    return ProgressPreview(
        period=period.code,
        actual=num(result.actual),
        expected=num(result.expected),
        projection=num(result.projection),
        status=result.status,
        detail=result.detail,
    )
