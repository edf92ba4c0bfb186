"""Read-side queries of a target's pages: its row and trend, the drill-down of the units below it,
the units failing a per-unit check, the contributions of child plans, the status of a plan's targets.

The target page, the plan page and the reports (dashboard, workbook) read the same functions, so a
number printed on paper agrees to the digit with the number on screen. Nothing here computes
indicators or statuses: values come from ``IndicatorValue`` (indicators.engine) and ``Progress``
(targets.progress, its detail read through targets.progress_detail); we only select and shape them,
in a fixed number of queries whatever the size of the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Rank
from django.utils.translation import gettext_lazy as _

from indicators.models import Aggregation, Indicator, IndicatorValue
from indicators.unit_filter import UnitFilter
from portal import scope
from portal.numbers import format_signed, is_percent_unit
from schools.models import Level, OrgUnit
from submissions.models import Period, current_of
from targets import display
from targets.models import Comparator, Direction, MilestoneStatus, Progress, ProgressStatus, Target, TargetKind
from targets.progress_detail import ProgressDetail, UnitRef

# Not a Progress status: how the summaries count a row that has a value but no status of its own
# (TargetRow.not_assessed), so those rows are not lumped in with targets that have no data at all.
NOT_ASSESSED = "not_assessed"
STATUS_ORDER: list[str] = [
    ProgressStatus.MET,
    ProgressStatus.ON_TRACK,
    ProgressStatus.AT_RISK,
    ProgressStatus.OFF_TRACK,
    ProgressStatus.TRACKED,
    ProgressStatus.NO_DATA,
    NOT_ASSESSED,
]
# Not a Progress status either: a league table's row without a progress row of its own whose value misses the
# target value (``row_status_expression``); its counterpart is "met".
BELOW_TARGET = "below"
STATUS_LABELS: dict[str, Any] = {
    **dict(ProgressStatus.choices),
    NOT_ASSESSED: _("未评估"),
    BELOW_TARGET: _("未达成"),
}
# Targets measured unit by unit: the page lists failing units and the workbook gets a drill-down sheet.
UNIT_LEVEL_KINDS = {TargetKind.LIMIT, TargetKind.FREQUENCY}


def is_unit_level(target: Target) -> bool:
    return target.applies_to_each_unit or target.kind in UNIT_LEVEL_KINDS


@dataclass
class QuarterPoint:
    """One quarter of a target's trend: actual and expected (both may be missing)."""

    code: str
    label: str
    actual: Decimal | None
    expected: Decimal | None


@dataclass
class LastYear:
    """The same target's actual at the same quarter of the plan it was copied from, and the change since."""

    period_code: str
    actual: Decimal | None
    change: Decimal | None  # this year's actual − last year's; None when either is missing

    @property
    def magnitude(self) -> Decimal | None:
        """The size of the change (the arrow says which way)."""
        return None if self.change is None else abs(self.change)

    @property
    def arrow(self) -> str:
        if self.change is None or self.change == 0:
            return "" if self.change is None else "="
        return "▲" if self.change > 0 else "▼"


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
    # The same quarter last year, for a target copied from last year's plan (``last_year_rows``).
    last_year: LastYear | None = None
    # Units whose stock figures for the value come from an earlier quarter (``IndicatorValue.carried_units``).
    carried_units: int = 0
    # Why the row has no status (progress ``detail.reason``), e.g. ``no_baseline`` of an ``improves`` target.
    reason: str = ""

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
        if self.is_share:
            return 0  # a share of units in whole percent
        if self.target.indicator_id:
            return self.target.indicator.decimals
        # No indicator (counts typed in by hand, milestones): whole numbers unless the target has decimals.
        goal = self.target.target_value
        return 0 if goal is None or goal == goal.to_integral_value() else 1

    @property
    def unit_label(self) -> str:
        if self.is_share:
            return "%"  # expected values and the trend chart are shares too
        return self.target.indicator.unit if self.target.indicator_id else ""

    @property
    def checks_schools(self) -> bool:
        """Does the per-unit check look at schools (else at districts or 学区: ``units_noun``)?"""
        return self.target.each_unit_level in ("", Level.SCHOOL)

    @property
    def units_noun(self) -> str:
        return display.units_noun(self.target)

    @property
    def unit_value_decimals(self) -> int:
        """Decimals of one unit's own value (a failing school's count), not of the row's share."""
        return self.target.indicator.decimals if self.target.indicator_id else 0

    @property
    def unit_value_label(self) -> str:
        """The unit of one unit's own value ("次", "所"), not the row's "%"."""
        return display.unit_word(self.target) if display.is_share(self.target) else self.unit_label

    @property
    def chart_goal(self) -> Decimal | None:
        """The trend chart's goal line: every unit meeting the rule for a share, else the target value."""
        return display.HUNDRED if self.is_share else self.target.target_value

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
    def is_share(self) -> bool:
        """The actual is the % of units meeting a per-unit rule (a unit without its own row: the raw value)."""
        return self.evaluated and display.is_share(self.target)

    @property
    def actual_text(self) -> str:
        if self.target.kind == TargetKind.MILESTONE and self.actual is None:
            return self.target.get_milestone_status_display() or str(_("无数据"))
        return display.actual_text(self.target, self.actual, self.decimals, self.unit_label, as_share=self.is_share)

    @property
    def target_text(self) -> str:
        target = self.target
        if target.comparator == Comparator.IMPROVES:
            return improves_goal_text(target)
        return display.target_text(target, self.decimals, self.unit_label)

    @property
    def improvement_text(self) -> str:
        """An ``improves`` target's change against its baseline ("+1.2 个百分点 较上年同期", "-3 人 较基线");
        "" when either number is missing (its status then says why)."""
        return improvement_text(self.target, self.actual, self.expected, self.decimals, self.unit_label)

    @property
    def reason_text(self) -> str:
        """Why the row has no status, in words ("" when it has one or no reason is known)."""
        return str(REASON_TEXTS.get(self.reason, ""))

    @property
    def percent(self) -> int | None:
        """How far along the bar is drawn, 0–100; None when there is nothing to draw."""
        if self.before_assessment:
            return None  # spring's 0 new entrants is not 0 % of an autumn intake
        if self.is_share:
            return display.completion_percent(self.target, self.actual)
        if display.is_share(self.target):
            return None  # a unit's raw count: no bar against the share
        return completion(self.target, self.actual)


REASON_TEXTS: dict[str, Any] = {
    "no_baseline": _("尚无基线数值（上年同期或基线周期没有数据），暂不评估"),
}


def improves_goal_text(target: Target) -> str:
    """What an ``improves`` target asks, in words: "较上年同期提高" / "较基线降低"."""
    last_year = target.baseline_value is None and target.baseline_period_id is None
    if target.direction == Direction.LOWER:
        return str(_("较上年同期降低") if last_year else _("较基线降低"))
    return str(_("较上年同期提高") if last_year else _("较基线提高"))


def improvement_text(target: Target, actual: Decimal | None, baseline: Decimal | None, decimals: int, unit: str) -> str:
    """The signed change of an ``improves`` target's value against its baseline, with the unit (percentage points
    for a rate) and what it is compared with; "" for other targets or when a number is missing."""
    if target.comparator != Comparator.IMPROVES or actual is None or baseline is None:
        return ""
    change = actual - baseline
    if is_percent_unit(unit):
        text = f"{format_signed(change, decimals)} {_('个百分点')}"
    else:
        text = format_signed(change, decimals, unit)
    against = _("较上年同期") if target.baseline_value is None and target.baseline_period_id is None else _("较基线")
    return f"{text} {against}"


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


# --- Drill-down ---


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
            UnitFilter.of(target.indicator).covers_q()
        )
    else:
        base = OrgUnit.objects.filter(parent=unit)
    period_id = period.pk if period else None
    # No ordering: the model's default ordering would join five tables per row for a unique row.
    progress = Progress.objects.filter(target=target, period_id=period_id, org_unit=OuterRef("pk")).order_by()
    decimal = DecimalField(max_digits=24, decimal_places=6)
    share = display.is_share(target) and rows != "schools"
    qs = base.annotate(
        iv=FilteredRelation(
            "indicator_values",
            condition=Q(indicator_values__indicator_id=target.indicator_id, indicator_values__period_id=period_id),
        ),
        # A per-unit rule's child row: its share of units meeting the rule (targets.display), from its Progress
        # row — not the sum of its schools' counts, which said "11 次 +8" beside 滞后.
        value=Subquery(progress.values("actual")[:1], output_field=decimal) if share else F("iv__value"),
        numerator=Value(None, output_field=decimal) if share else F("iv__numerator"),
        denominator=Value(None, output_field=decimal) if share else F("iv__denominator"),
        carried_units=F("iv__carried_units"),
        progress_status=Subquery(progress.values("status")[:1]),
        # A share is judged only by its Progress row; other rows without one by their value against the target.
        status=F("progress_status") if share else Coalesce(F("progress_status"), row_status_expression(target)),
    )
    goal = target.target_value
    if display.is_share(target):
        qs = qs.annotate(gap=Value(None, output_field=decimal))  # a gap to the rule's number means nothing here
    elif goal is None:
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
    return qs.annotate(rank=rank_expression(target)).order_by("path")


# --- League tables: a status and a rank for every row ---

ROW_STATUS_KINDS = {TargetKind.THRESHOLD, TargetKind.LIMIT}


def meets_target_q(target: Target) -> Q:
    """``value`` satisfies the target's value (the comparison ``targets.progress.satisfies`` makes), as a Q."""
    goal = target.target_value
    comparator = target.comparator or Comparator.GTE
    if comparator == Comparator.LTE:
        return Q(value__lte=goal)
    if comparator == Comparator.EQ:
        return Q(value=goal)
    if comparator == Comparator.RANGE:
        upper = target.target_value_max if target.target_value_max is not None else goal
        return Q(value__gte=goal, value__lte=upper)
    return Q(value__gte=goal)


def row_status_expression(target: Target) -> Any:
    """A drill-down row's status where its unit has no progress row (a school in a league table): for a rate or
    a limit, "met" when the unit's own value satisfies the target value, BELOW_TARGET when it does not, none
    without a value. Quantities and counts (a school's share of a city-wide number), frequencies (checked per
    semester) and milestones get none: a unit's value is not measured against the target there."""
    text = CharField()
    if target.kind not in ROW_STATUS_KINDS or target.target_value is None or target.indicator_id is None:
        return Value(None, output_field=text)
    return Case(
        When(value__isnull=True, then=Value(None, output_field=text)),
        When(meets_target_q(target), then=Value(ProgressStatus.MET)),
        default=Value(BELOW_TARGET),
        output_field=text,
    )


def rank_expression(target: Target) -> Any:
    """The rank of a row among the rows with a value (ties share a rank: RANK()); rows without a value and
    flagged small denominators get none. Best first: by the gap to the target (signed so that larger is
    better), else by the value — lowest first for a "≤" target, highest first otherwise."""
    unranked = Q(value__isnull=True) | Q(is_small=True)
    if target.target_value is not None:
        key = F("gap").desc()
    elif target.comparator == Comparator.LTE:
        key = F("value").asc()
    else:
        key = F("value").desc()
    group = Case(When(unranked, then=Value(1)), default=Value(0), output_field=IntegerField())
    return Case(
        When(unranked, then=Value(None, output_field=IntegerField())),
        default=Window(Rank(), partition_by=[group], order_by=[key]),
        output_field=IntegerField(),
    )


def schools_carry(target: Target, unit_value: Decimal | None, queryset: QuerySet) -> bool:
    """Do the schools of a league table carry the target's value? False for a rate computed only above the
    schools — its denominator (say the population aged 6) is known for districts, not schools — so the page
    explains instead of ranking a column of "无数据": the indicator counts no schools (its levels), or the unit
    has a value (``unit_value``) while none of the listed schools has one (one query)."""
    indicator = target.indicator
    if indicator is None:
        return True
    if not UnitFilter.of(indicator).covers_level(Level.SCHOOL):
        return False
    return unit_value is None or queryset.filter(value__isnull=False).exists()


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
    detail = progress.typed_detail
    if detail.reason:
        return FailingUnits("no_check", reason=detail.reason)
    if progress.status == ProgressStatus.NO_DATA:
        return FailingUnits("no_data")
    units = failing_units(progress, user)
    count, checked = detail.failing_total, detail.checked
    if count:
        return FailingUnits("listed", units, count, checked)
    if checked == 0:
        return FailingUnits("no_school_values", checked=0)
    if progress.status in BEHIND:
        return FailingUnits("by_total", checked=checked)
    return FailingUnits("none_fail", checked=checked)


def failing_units(progress: Progress | None, user: Any) -> list[dict[str, Any]]:
    """Units listed as failing in the Progress detail (``ProgressDetail.failing_units``), restricted to what
    ``user`` may see, each with its name as the user's scope knows it."""
    if progress is None:
        return []
    fill_failing_values([progress])  # thresholds' and limits' refs are stored without their values
    items = [dict(item) for item in progress.typed_detail.failing_units or []]
    codes = [item["code"] for item in items]
    if not codes:
        return []
    names = dict(scope.visible_units(user).filter(code__in=codes).values_list("code", "name"))
    return [{**item, "name": names[item["code"]]} for item in items if item.get("code") in names]


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
    if not targets:
        return {}
    children = list(
        scope.filter_by_scope(user, Target.objects.filter(contributes_to__in=[t.pk for t in targets]), "scope")
        .select_related("plan", "scope", "indicator")  # indicator: its decimals and unit print the status
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


def status_rows(targets: list[Target], period: Period | None) -> dict[int, Progress]:
    """Progress of each target at its own scope unit for one period: one query."""
    if period is None or not targets:
        return {}
    rows = Progress.objects.filter(
        target_id__in=[t.pk for t in targets], period=period, org_unit_id=F("target__scope_id")
    )
    return {row.target_id: row for row in rows}


def last_year_rows(
    targets: list[Target], period: Period | None, current: dict[int, Decimal | None], unit: OrgUnit | None = None
) -> dict[int, LastYear]:
    """Target id → last year's actual at the same quarter (of the target it was copied from) and the change
    from ``current`` (this year's actual by target id). One query, whatever the number of targets.

    Read at ``unit`` when given (the dashboard), else at each source target's own scope (the plan page); the
    dashboard falls back to the source's scope row when its scope lies inside the unit, as for this year.
    Targets without a link (not copied) are left out: the page shows nothing for them.
    """
    linked = {t.copied_from_id: t for t in targets if t.copied_from_id}
    if period is None or not linked:
        return {}
    rows = Progress.objects.filter(
        target_id__in=list(linked), period__quarter=period.quarter, period__year=F("target__plan__year")
    )
    if unit is None:
        rows = rows.filter(org_unit_id=F("target__scope_id"))
    else:
        rows = rows.filter(
            Q(org_unit=unit) | Q(org_unit_id=F("target__scope_id"), target__scope__path__startswith=unit.path)
        )
    found: dict[int, Progress] = {}
    for row in rows.select_related("period").only("target_id", "org_unit_id", "actual", "period__code"):
        if row.target_id not in found or (unit is not None and row.org_unit_id == unit.pk):
            found[row.target_id] = row
    result: dict[int, LastYear] = {}
    for source_id, row in found.items():
        target = linked[source_id]
        actual_now = current.get(target.pk)
        change = actual_now - row.actual if actual_now is not None and row.actual is not None else None
        result[target.pk] = LastYear(row.period.code, row.actual, change)
    return result


def chosen_period(code: str, periods: list[Period], today: Any) -> Period | None:
    """The quarter named by ``code`` (``?period=``) among ``periods``, else the current one (``current_of``)."""
    for period in periods:
        if period.code == code.strip():
            return period
    return current_of(periods, today)


def breadcrumb(user: Any, unit: OrgUnit, top: OrgUnit | None = None) -> list[OrgUnit]:
    """Ancestors of ``unit`` the user may see (from ``top`` down when given), the unit last."""
    ancestors = scope.filter_by_scope(user, OrgUnit.objects.ancestors_of(unit))
    if top is not None:
        ancestors = ancestors.filter(path__startswith=top.path)
    return list(ancestors.only("code", "name", "path", "depth", "level"))


# --- Failing units' values, joined at read time ---


def fill_failing_values(rows: Iterable[Progress]) -> None:
    """Put each listed failing unit's ``value`` back into the rows' typed details (``Progress.typed_detail``), for
    refs stored without it (thresholds and limits): the unit's own indicator value of the row's quarter, rounded as
    the writer rounds (4 places), None when it has none. One query for the targets' indicators and one for the
    values, however many rows. Rows and refs that carry a value are left as they are."""
    wanting: list[tuple[Progress, ProgressDetail]] = []
    for row in rows:
        detail = row.typed_detail
        if any("value" not in ref for ref in detail.failing_units or []):
            wanting.append((row, detail))
    if not wanting:
        return
    indicators = dict(
        Target.objects.filter(pk__in={row.target_id for row, _detail in wanting}).values_list("pk", "indicator_id")
    )
    codes = {ref["code"] for _row, detail in wanting for ref in detail.failing_units or [] if "value" not in ref}
    condition = Q(pk__in=[])
    for indicator_id, period_id in {(indicators.get(row.target_id), row.period_id) for row, _detail in wanting}:
        if indicator_id is not None:
            condition |= Q(indicator_id=indicator_id, period_id=period_id)
    values: dict[tuple[int | None, int, str], Any] = {
        (ind, per, code): value
        for ind, per, code, value in IndicatorValue.objects.filter(condition, org_unit__code__in=sorted(codes))
        .order_by()
        .values_list("indicator_id", "period_id", "org_unit__code", "value")
    }
    for row, detail in wanting:
        indicator_id = indicators.get(row.target_id)
        filled: list[UnitRef] = []
        for ref in detail.failing_units or []:
            if "value" not in ref:
                value = values.get((indicator_id, row.period_id, ref["code"]))
                # The key order the writer used to store: code, name, value.
                ref = cast(UnitRef, {**ref, "value": None if value is None else float(round(value, 4))})
            filled.append(ref)
        detail.failing_units = filled
        row.set_typed_detail(detail)
