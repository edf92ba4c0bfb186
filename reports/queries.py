"""Read-side queries of the reports: dashboard rows, drill-down tables, unit pages.

Every page and the Excel workbook read the same functions, so a number printed on paper agrees
to the digit with the number on screen. Nothing here computes indicators or statuses: values come
from ``IndicatorValue`` (engine) and ``Progress`` (targets.progress); we only select and shape
them, in a fixed number of queries whatever the size of the tree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, Section
from schools.models import Level, OrgUnit, ancestor_paths
from submissions.models import Period
from targets.models import Comparator, MilestoneStatus, Progress, ProgressStatus, Target, TargetKind, TargetNote

# Not a Progress status: how the summaries count a row that has a value but no status of its own
# (TargetRow.not_assessed), so those rows are not lumped in with targets that have no data at all.
NOT_ASSESSED = "not_assessed"
STATUS_ORDER: list[str] = [
    ProgressStatus.MET,
    ProgressStatus.ON_TRACK,
    ProgressStatus.AT_RISK,
    ProgressStatus.OFF_TRACK,
    ProgressStatus.NO_DATA,
    NOT_ASSESSED,
]
STATUS_LABELS: dict[str, Any] = {**dict(ProgressStatus.choices), NOT_ASSESSED: _("未评估")}
# Targets measured unit by unit: the page lists failing units and the workbook gets a drill-down sheet.
UNIT_LEVEL_KINDS = {TargetKind.LIMIT, TargetKind.FREQUENCY}


def is_unit_level(target: Target) -> bool:
    return target.applies_to_each_unit or target.kind in UNIT_LEVEL_KINDS


def is_percent(indicator: Indicator | None) -> bool:
    return indicator is not None and indicator.unit.strip() == "%"


def format_number(value: Decimal | None, decimals: int = 1, unit: str = "") -> str:
    """The one way numbers are printed on pages: fixed decimals, unit appended, "无数据" for null."""
    if value is None:
        return str(_("无数据"))
    text = f"{value:,.{decimals}f}"
    return f"{text}{unit}" if unit == "%" else (f"{text} {unit}" if unit else text)


@dataclass
class QuarterPoint:
    """One quarter of a target's trend: actual and expected (both may be missing)."""

    code: str
    label: str
    actual: Decimal | None
    expected: Decimal | None


@dataclass
class TargetRow:
    """A target as shown on the dashboard and in the workbook's section sheets."""

    target: Target
    actual: Decimal | None
    expected: Decimal | None
    status: str
    trend: list[QuarterPoint]
    computed_at: Any = None
    evaluated: bool = True  # False: no Progress row for this unit, the value comes straight from the indicator
    # True: a child unit's share of a scope-wide quantity or count ("detail.contribution"): the plan sets no
    # target per district, so the row has a value but no status of its own (docs/progress-rules.md).
    contribution: bool = False
    # The target's 起评季度 when this period comes before it (progress ``detail.reason = before_assessment``).
    assess_from: str = ""

    @property
    def before_assessment(self) -> bool:
        return bool(self.assess_from)

    @property
    def not_assessed(self) -> bool:
        """A value without a status of its own: a contribution, a unit with no Progress row, or a quarter
        before the target's 起评季度."""
        return self.contribution or self.before_assessment or (not self.evaluated and self.actual is not None)

    @property
    def summary_status(self) -> str:
        """The status the summaries count and the status filter matches: a row not assessed is its own kind."""
        return NOT_ASSESSED if self.not_assessed else self.status

    @property
    def decimals(self) -> int:
        if self.target.indicator_id:
            return self.target.indicator.decimals
        # No indicator (counts typed in by hand, milestones): whole numbers unless the target has decimals.
        goal = self.target.target_value
        return 0 if goal is None or goal == goal.to_integral_value() else 1

    @property
    def unit_label(self) -> str:
        return self.target.indicator.unit if self.target.indicator_id else ""

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def owner(self) -> str:
        target = self.target
        if target.owner_name:
            return target.owner_name
        return target.owner_unit.name if target.owner_unit_id else ""

    @property
    def latest_note(self) -> str:
        return getattr(self.target, "latest_note", None) or ""

    @property
    def actual_text(self) -> str:
        if self.target.kind == TargetKind.MILESTONE and self.actual is None:
            return self.target.get_milestone_status_display() or str(_("无数据"))
        return format_number(self.actual, self.decimals, self.unit_label)

    @property
    def target_text(self) -> str:
        target = self.target
        if target.target_value is None:
            return "—"
        text = format_number(target.target_value, self.decimals, self.unit_label)
        if target.comparator == Comparator.RANGE and target.target_value_max is not None:
            return f"{text} – {format_number(target.target_value_max, self.decimals, self.unit_label)}"
        symbol = {"gte": "≥", "lte": "≤", "eq": "="}.get(target.comparator, "")
        return f"{symbol} {text}".strip()

    @property
    def percent(self) -> int | None:
        """How far along the bar is drawn, 0–100; None when there is nothing to draw."""
        if self.before_assessment:
            return None  # spring's 0 new entrants is not 0 % of an autumn intake
        return completion(self.target, self.actual)


def completion(target: Target, actual: Decimal | None) -> int | None:
    """Share of the target reached, for the progress bar (display only; status comes from Progress)."""
    if target.kind == TargetKind.MILESTONE and actual is None:
        return {MilestoneStatus.DONE: 100, MilestoneStatus.IN_PROGRESS: 50}.get(target.milestone_status, 0)
    goal = target.target_value
    if actual is None or goal is None:
        return None
    if target.comparator == Comparator.LTE:
        # A limit: fully "reached" while within it; beyond it the bar shrinks with the overshoot.
        if actual <= goal:
            return 100
        return int(goal / actual * 100) if actual > 0 and goal > 0 else 0
    if goal <= 0:
        return 100 if actual >= goal else 0
    return max(0, min(100, int(actual / goal * 100)))


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
    return [(status, str(STATUS_LABELS[status]), counter.get(status, 0)) for status in STATUS_ORDER]


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
    """The dashboard of ``plan`` seen from ``unit`` as of ``period`` (3 queries, whatever the tree size).

    Queries: targets covering the unit (with their latest note); their Progress rows for the
    plan's quarters at the unit (or at the target's own scope when it lies inside the unit);
    the indicator values at the unit, used where no Progress row exists for this unit (a 学区
    under a district-scoped target: the value is shown, the status is "无数据").
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
    if indicator_ids and period_ids:
        for ind_id, per_id, value in IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period_id__in=period_ids, org_unit=unit
        ).values_list("indicator_id", "period_id", "value"):
            values[(ind_id, per_id)] = value

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
                contribution=isinstance(current.detail, dict) and bool(current.detail.get("contribution")),
                assess_from=current.assess_from_code,
            )
            as_of = max(as_of, current.computed_at) if as_of else current.computed_at
        else:
            actual = values.get((target.indicator_id, period.pk)) if period else None
            row = TargetRow(target, actual, None, ProgressStatus.NO_DATA, trend, evaluated=False)
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


# --- Drill-down ---


def unit_filter_q(indicator: Indicator | None, prefix: str = "") -> Q:
    """The indicator's unit filter (school types, ownership, central only) as a Q on OrgUnit."""
    q = Q()
    if indicator is None:
        return q
    if indicator.unit_filter_school_types:
        q &= Q(**{f"{prefix}school_type__in": indicator.unit_filter_school_types})
    if indicator.unit_filter_ownership:
        q &= Q(**{f"{prefix}ownership__in": indicator.unit_filter_ownership})
    if indicator.unit_filter_central_only:
        q &= Q(**{f"{prefix}is_central": True})
    return q


def small_denominator_applies(indicator: Indicator | None) -> bool:
    return indicator is not None and indicator.aggregation == Aggregation.RATIO and bool(indicator.denominator)


def drilldown_queryset(target: Target, unit: OrgUnit, period: Period | None, rows: str = "children") -> QuerySet:
    """Org units under ``unit`` annotated with the target's numbers for ``period`` (one query).

    ``rows="children"`` lists the direct children (click a district to go one level down);
    ``rows="schools"`` lists every school of the subtree that the indicator covers (a league table).
    Annotations: value, numerator, denominator (one LEFT JOIN on the unique indicator value),
    status (Progress at that unit, if the progress engine wrote one), gap (signed so that a
    negative gap is always "short of the target") and is_small (denominator below
    SMALL_DENOMINATOR_THRESHOLD: flagged, sorted last, never ranked).
    """
    if rows == "schools":
        base = OrgUnit.objects.filter(path__startswith=unit.path, level=Level.SCHOOL).filter(
            unit_filter_q(target.indicator)
        )
    else:
        base = OrgUnit.objects.filter(parent=unit)
    period_id = period.pk if period else None
    # No ordering: the model's default ordering would join five tables per row for a unique row.
    progress = Progress.objects.filter(target=target, period_id=period_id, org_unit=OuterRef("pk")).order_by()
    qs = base.annotate(
        iv=FilteredRelation(
            "indicator_values",
            condition=Q(indicator_values__indicator_id=target.indicator_id, indicator_values__period_id=period_id),
        ),
        value=F("iv__value"),
        numerator=F("iv__numerator"),
        denominator=F("iv__denominator"),
        status=Subquery(progress.values("status")[:1]),
    )
    goal = target.target_value
    decimal = DecimalField(max_digits=24, decimal_places=6)
    if goal is None:
        qs = qs.annotate(gap=Value(None, output_field=decimal))
    elif target.comparator == Comparator.LTE:
        qs = qs.annotate(gap=ExpressionWrapper(Value(goal) - F("value"), output_field=decimal))
    else:
        qs = qs.annotate(gap=ExpressionWrapper(F("value") - Value(goal), output_field=decimal))
    if small_denominator_applies(target.indicator):
        threshold = settings.SMALL_DENOMINATOR_THRESHOLD
        qs = qs.annotate(
            is_small=Case(When(denominator__lt=threshold, then=Value(True)), default=Value(False)),
        )
    else:
        qs = qs.annotate(is_small=Value(False, output_field=BooleanField()))
    return qs.order_by("path")


@dataclass
class FailingUnits:
    """The "units not meeting the target" block of a per-unit target (see docs/progress-rules.md).

    The list names *schools* of the unit's subtree checked one by one against the period's bound
    (``detail.failing_units``); the drill-down table shows the status of each *child unit*, judged on
    its own figures. Both agree only where the school check applies, so the page says which case it
    is (``case``) instead of printing "none" under a column of off-track rows:

    - ``listed``: schools fail; ``units`` are those the user may see (``count`` in all).
    - ``none_fail``: ``checked`` schools were checked and none fails.
    - ``no_school_values``: no school has a value of its own, so none could be checked: the status of
      the unit (and of each row below) comes from its total — e.g. 按时入学率, whose denominator (the
      population aged 6) is only known for districts and 学区.
    - ``by_total``: schools were checked and none fails, yet the unit is behind on its total (a
      limit breached by the aggregate value).
    - ``no_data``: nothing measured for the period; ``not_evaluated``: no progress row for this unit
      (rows exist for the target's scope and its direct children only); ``no_check``: the target
      cannot be checked (``reason``: no indicator, no target value, no qualifying school).
    """

    case: str
    units: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    checked: int | None = None
    reason: str = ""

    @property
    def hidden(self) -> int:
        """Failing schools not listed: beyond the stored list's limit, or outside the user's scope."""
        return max(0, self.count - len(self.units))


BEHIND = {ProgressStatus.AT_RISK, ProgressStatus.OFF_TRACK}


def failing_summary(progress: Progress | None, user: Any) -> FailingUnits:
    """What the page says about failing units for ``progress`` (the unit's row), for ``user``."""
    if progress is None:
        return FailingUnits("not_evaluated")
    detail = progress.detail if isinstance(progress.detail, dict) else {}
    if detail.get("reason"):
        return FailingUnits("no_check", reason=str(detail["reason"]))
    if progress.status == ProgressStatus.NO_DATA:
        return FailingUnits("no_data")
    units = failing_units(progress, user)
    raw = detail.get("failing_units") or detail.get("failing") or []
    count = detail.get("failing_count")
    count = len(raw) if not isinstance(count, int) else count
    checked = next((detail[k] for k in ("units_checked", "units_qualifying") if isinstance(detail.get(k), int)), None)
    if count:
        return FailingUnits("listed", units, count, checked)
    if checked == 0:
        return FailingUnits("no_school_values", checked=0)
    if progress.status in BEHIND:
        return FailingUnits("by_total", checked=checked)
    return FailingUnits("none_fail", checked=checked)


def failing_units(progress: Progress | None, user: Any) -> list[dict[str, Any]]:
    """Units listed as failing in the Progress detail, restricted to what ``user`` may see.

    targets.progress writes ``detail["failing_units"]`` as codes or as dicts with a "code"
    (and optionally "value"); both shapes are accepted so the page does not break if it changes.
    """
    from portal import scope

    if progress is None or not isinstance(progress.detail, dict):
        return []
    raw = progress.detail.get("failing_units") or progress.detail.get("failing") or []
    items = [{"code": item} if isinstance(item, str) else dict(item) for item in raw if item]
    codes = [item.get("code") for item in items if item.get("code")]
    if not codes:
        return []
    names = dict(scope.visible_units(user).filter(code__in=codes).values_list("code", "name"))
    return [{**item, "name": names[item["code"]]} for item in items if item.get("code") in names]


def default_period(periods: list[Period], today: Any) -> Period | None:
    """The latest quarter that has opened (the plan year's last quarter once the year is over)."""
    opened = [p for p in periods if p.opens_on <= today]
    if opened:
        return opened[-1]
    return periods[0] if periods else None


# --- Contributions (parent target ← child-plan targets) ---


@dataclass
class Contribution:
    """A child-plan target that declares it contributes to a parent target, with its own status."""

    target: Target
    progress: Progress | None


def target_contributions(user: Any, targets: list[Target], period: Period | None) -> dict[int, list[Contribution]]:
    """Child-plan targets contributing to each of ``targets`` (``contributes_to``), keyed by parent pk.

    The one query behind every "contributions" list (plan page, target page): only child targets
    whose scope the user may see; each with its Progress at its own scope for ``period`` — shown
    only when every child plan is of the period's year (a 2024 district plan contributing to a 2023
    city target has no 2023 status). Queries: children, their progress (none when nothing to read).
    """
    from portal import scope

    if not targets:
        return {}
    children = list(
        scope.filter_by_scope(user, Target.objects.filter(contributes_to__in=[t.pk for t in targets]), "scope")
        .select_related("plan", "scope")
        .order_by("plan__code", "scope__path", "order", "code", "pk")
    )
    status: dict[int, Progress] = {}
    if children and period is not None and {c.plan.year for c in children} == {period.year}:
        rows = Progress.objects.filter(
            target_id__in=[c.pk for c in children], period=period, org_unit_id=F("target__scope_id")
        ).order_by()
        status = {row.target_id: row for row in rows}
    result: dict[int, list[Contribution]] = {}
    for child in children:
        result.setdefault(child.contributes_to_id, []).append(Contribution(child, status.get(child.pk)))
    return result
