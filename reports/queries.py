"""Read-side queries of the reports: the plan dashboard and the workbook's section sheets.

A target's own rows, drill-down, failing units and contributions are read through targets.queries
(the target and plan pages use them too): the dashboard and the workbook only compose them, so a
number printed on paper agrees to the digit with the number on screen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils.translation import gettext_lazy as _lazy

from indicators.models import Indicator, IndicatorValue
from indicators.unit_filter import UnitFilter
from plans.models import Plan, Section
from schools.models import Level, OrgUnit, ancestor_paths
from submissions.models import Period
from targets.models import Progress, ProgressStatus, Target, TargetKind, TargetNote
from targets.progress import satisfies
from targets.queries import (
    STATUS_LABELS,
    STATUS_ORDER,
    QuarterPoint,
    TargetRow,
    last_year_rows,
)


def is_percent(indicator: Indicator | None) -> bool:
    return indicator is not None and indicator.unit.strip() == "%"


@dataclass
class SectionBlock:
    section: Section
    rows: list[TargetRow] = field(default_factory=list)
    counts: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class Dashboard:
    plan: Plan
    unit: OrgUnit
    period: Period | None
    periods: list[Period]
    sections: list[SectionBlock]
    totals: list[tuple[str, str, int]]
    owners: list[str]
    as_of: Any

    @property
    def rows(self) -> list[TargetRow]:
        return [row for block in self.sections for row in block.rows]

    @property
    def has_not_assessed(self) -> bool:
        """Rows whose target is assessed only at its scope (contributions, units without a row)."""
        return any(row.not_assessed and not row.before_assessment for row in self.rows)

    @property
    def has_before_assessment(self) -> bool:
        return any(row.before_assessment for row in self.rows)


def _counts(rows: list[TargetRow]) -> list[tuple[str, str, int]]:
    counter = Counter(row.summary_status for row in rows)
    # 跟踪中（无定量） only where a plan has such targets: most plans give every target a number.
    return [
        (status, str(STATUS_LABELS[status]), counter.get(status, 0))
        for status in STATUS_ORDER
        if status != ProgressStatus.TRACKED or counter.get(status)
    ]


def _carried_at_unit(
    target: Target,
    unit: OrgUnit,
    period: Period | None,
    current: Progress | None,
    carried: dict[tuple[int, int], int],
) -> int:
    """How many units of the dashboard's unit gave the shown value a stock figure carried forward from an
    earlier quarter (``IndicatorValue.carried_units``); 0 when the value shown is an inner scope's."""
    if period is None or not target.indicator_id:
        return 0
    if current is not None and current.org_unit_id != unit.pk:
        return 0
    return carried.get((target.indicator_id, period.pk), 0)


def covering_targets(plan: Plan, unit: OrgUnit) -> QuerySet[Target]:
    """Targets of the plan that cover ``unit``: scoped at the unit, above it, or inside it."""
    latest_note = TargetNote.objects.filter(target=OuterRef("pk")).order_by("-created_at", "-pk").values("text")[:1]
    return (
        Target.objects.filter(plan=plan)
        .filter(Q(scope__path__in=ancestor_paths(unit.path)) | Q(scope__path__startswith=unit.path))
        .select_related("section", "indicator", "owner_unit", "scope")
        .annotate(latest_note=Subquery(latest_note))
        .order_by("section__order", "section__pk", "order", "code", "pk")
    )


def plan_dashboard(
    plan: Plan,
    unit: OrgUnit,
    period: Period | None,
    periods: list[Period],
    *,
    section: str = "",
    status: str = "",
    owner: str = "",
) -> Dashboard:
    """The dashboard of ``plan`` seen from ``unit`` as of ``period`` (4 queries, whatever the tree size).

    Queries: targets covering the unit (with their latest note); their Progress rows for the
    plan's quarters at the unit (or at the target's own scope when it lies inside the unit);
    the indicator values at the unit, used where no Progress row exists for this unit (a 学区
    under a district-scoped target: the value is shown, the status is "无数据"); last year's actual of the
    targets copied from last year's plan (``last_year_rows``, none when no target is linked).
    """
    targets = list(covering_targets(plan, unit))
    period_ids = [p.pk for p in periods]
    progress: dict[tuple[int, int], Progress] = {}
    progress_rows = Progress.objects.filter(target__in=[t.pk for t in targets], period_id__in=period_ids).filter(
        Q(org_unit=unit) | Q(org_unit_id=F("target__scope_id"), target__scope__path__startswith=unit.path)
    )
    for prog in progress_rows.only(
        "target_id", "period_id", "org_unit_id", "actual", "expected", "status", "computed_at", "detail"
    ):
        key = (prog.target_id, prog.period_id)
        # Prefer the row at the dashboard's own unit over the one at an inner target's scope.
        if key not in progress or prog.org_unit_id == unit.pk:
            progress[key] = prog
    indicator_ids = {t.indicator_id for t in targets if t.indicator_id}
    values: dict[tuple[int, int], Decimal | None] = {}
    carried: dict[tuple[int, int], int] = {}
    if indicator_ids and period_ids:
        for ind_id, per_id, value, carried_units in IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period_id__in=period_ids, org_unit=unit
        ).values_list("indicator_id", "period_id", "value", "carried_units"):
            values[(ind_id, per_id)] = value
            carried[(ind_id, per_id)] = carried_units

    current_actuals: dict[int, Decimal | None] = {}
    if period is not None:
        for target in targets:
            prog = progress.get((target.pk, period.pk))
            current_actuals[target.pk] = prog.actual if prog else values.get((target.indicator_id, period.pk))
    last_year = last_year_rows(targets, period, current_actuals, unit)

    blocks: dict[int, SectionBlock] = {}
    all_rows: list[TargetRow] = []
    owners: set[str] = set()
    as_of = None
    for target in targets:
        trend = []
        for p in periods:
            prog = progress.get((target.pk, p.pk))
            actual = prog.actual if prog else values.get((target.indicator_id, p.pk))
            trend.append(QuarterPoint(p.code, f"Q{p.quarter}", actual, prog.expected if prog else None))
        current = progress.get((target.pk, period.pk)) if period else None
        if current is not None:
            row = TargetRow(
                target,
                current.actual,
                current.expected,
                current.status,
                trend,
                current.computed_at,
                contribution=current.typed_detail.is_contribution,
                assess_from=current.assess_from_code,
                reason=current.typed_detail.reason or "",
            )
            as_of = max(as_of, current.computed_at) if as_of else current.computed_at
        else:
            actual = values.get((target.indicator_id, period.pk)) if period else None
            row = TargetRow(target, actual, None, ProgressStatus.NO_DATA, trend, evaluated=False)
        row.last_year = last_year.get(target.pk)
        row.carried_units = _carried_at_unit(target, unit, period, current, carried)
        if row.owner:
            owners.add(row.owner)
        all_rows.append(row)
        block = blocks.setdefault(target.section_id, SectionBlock(target.section))
        if section and target.section.code != section:
            continue
        if status and row.summary_status != status:
            continue
        if owner and row.owner != owner and (not target.owner_unit_id or target.owner_unit.code != owner):
            continue
        block.rows.append(row)
    for block in blocks.values():
        block.counts = _counts([r for r in all_rows if r.target.section_id == block.section.pk])
    sections = [b for b in blocks.values() if b.rows or not (section or status or owner)]
    return Dashboard(plan, unit, period, periods, sections, _counts(all_rows), sorted(owners), as_of)


# --- A school's page: the targets that concern the school, with its own standing under a per-unit rule ---

# How a school stands under a per-unit rule ("every school ≤ 45 per class"): read from the progress row of the
# nearest unit above it that has one (its ``failing_units``), or from the school's own value where that list
# was cut short. Labels: the page's words for these (templates/reports/unit_detail.html).
SCHOOL_FAILING = "failing"
SCHOOL_COMPLYING = "complying"
SCHOOL_NO_VALUE = "no_value"
SCHOOL_CHECK_LABELS: dict[str, Any] = {
    SCHOOL_FAILING: _lazy("未达成"),
    SCHOOL_COMPLYING: _lazy("已达成"),
    SCHOOL_NO_VALUE: _lazy("无数据"),
}
SCHOOL_CHECK_BADGES = {SCHOOL_FAILING: "off_track", SCHOOL_COMPLYING: "met", SCHOOL_NO_VALUE: "no_data"}


@dataclass
class SchoolCheck:
    """A school's own result under a target checked school by school, for one quarter."""

    state: str  # SCHOOL_FAILING / SCHOOL_COMPLYING / SCHOOL_NO_VALUE
    value: Decimal | None  # the school's value as the check saw it (a frequency's semester count)
    checked_at: str  # name of the unit whose progress row carries the check

    @property
    def label(self) -> str:
        return str(SCHOOL_CHECK_LABELS[self.state])

    @property
    def badge(self) -> str:
        return SCHOOL_CHECK_BADGES[self.state]


def concerns_unit(target: Target, unit: OrgUnit) -> bool:
    """Does ``target`` concern ``unit``? A school sees a target of its own scope or above it that measures an
    indicator the school feeds (the engine's unit filter: levels, school types, ownership, central schools);
    a target with no indicator (a milestone, a narrative) only when it is the school's own. Other units see
    every target covering them."""
    if unit.level != Level.SCHOOL:
        return True
    if target.indicator_id is None:
        return target.scope_id == unit.pk
    # A closed school's page keeps the targets of the years it reported: only the filter matters here.
    return UnitFilter.of(target.indicator).covers(unit)


def school_checks(targets: list[Target], unit: OrgUnit, period: Period | None) -> dict[int, SchoolCheck]:
    """Target id → the school's own result for each per-unit target that has no progress row at the school
    (one query: the targets' progress rows at the school's ancestors for ``period``; none when nothing to read).

    The nearest ancestor's row decides: the school is failing when that row lists it in ``failing_units``;
    when the list is complete (``failing_count``) it is not failing, and complies if it had a value to check
    (a frequency checks every qualifying school, value or none). Where the list was cut short
    (FAILING_LIMIT), a threshold's or limit's school is compared with the row's bound by ``satisfies`` —
    the rule ``targets.progress`` applies; a frequency's is left unknown. Rows without a check (``reason``:
    before the 起评季度, no target value …) give nothing.
    """
    if unit.level != Level.SCHOOL or period is None:
        return {}
    wanted = {t.pk: t for t in targets if is_per_unit(t) and getattr(t, "unit_status", None) is None}
    if not wanted:
        return {}
    ancestors = unit.ancestor_ids[:-1]
    rows: dict[int, Progress] = {}
    depth = {pk: i for i, pk in enumerate(ancestors)}
    for row in (
        Progress.objects.filter(target_id__in=list(wanted), period=period, org_unit_id__in=ancestors)
        .select_related("org_unit")
        .only("target_id", "org_unit_id", "org_unit__name", "expected", "status", "detail")
        .order_by()
    ):
        kept = rows.get(row.target_id)
        if kept is None or depth[row.org_unit_id] > depth[kept.org_unit_id]:
            rows[row.target_id] = row
    result: dict[int, SchoolCheck] = {}
    for target_id, row in rows.items():
        check = _school_check(wanted[target_id], unit, row)
        if check is not None:
            result[target_id] = check
    return result


def is_per_unit(target: Target) -> bool:
    """Checked school by school (the progress rows list the failing schools): limits, frequencies, thresholds
    every unit must meet — as ``targets.progress`` checks them."""
    return target.kind in (TargetKind.LIMIT, TargetKind.FREQUENCY) or (
        target.kind == TargetKind.THRESHOLD and target.applies_to_each_unit
    )


def _school_check(target: Target, unit: OrgUnit, row: Progress) -> SchoolCheck | None:
    detail = row.typed_detail
    if detail.reason or detail.failing_units is None:
        return None
    own_value = getattr(target, "unit_value", None)
    where = row.org_unit.name
    for ref in detail.failing_units:
        if ref.get("code") == unit.code:
            listed = ref.get("value")
            value = Decimal(str(listed)) if listed is not None else own_value
            return SchoolCheck(SCHOOL_FAILING, value, where)
    if detail.failing_total <= len(detail.failing_units):
        if target.kind == TargetKind.FREQUENCY:
            return SchoolCheck(SCHOOL_COMPLYING, own_value, where)
        return SchoolCheck(SCHOOL_COMPLYING if own_value is not None else SCHOOL_NO_VALUE, own_value, where)
    # The stored list stops at FAILING_LIMIT schools: judge the school's own value by the same rule.
    if target.kind == TargetKind.FREQUENCY or target.target_value is None:
        return None
    if own_value is None:
        return SchoolCheck(SCHOOL_NO_VALUE, None, where)
    bound = None if target.kind == TargetKind.LIMIT else row.expected
    failing = not satisfies(target, own_value, bound)
    return SchoolCheck(SCHOOL_FAILING if failing else SCHOOL_COMPLYING, own_value, where)
