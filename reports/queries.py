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

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan, Section
from schools.models import OrgUnit, ancestor_paths
from submissions.models import Period
from targets.models import Progress, ProgressStatus, Target, TargetNote
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
    if indicator_ids and period_ids:
        for ind_id, per_id, value in IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period_id__in=period_ids, org_unit=unit
        ).values_list("indicator_id", "period_id", "value"):
            values[(ind_id, per_id)] = value

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
            )
            as_of = max(as_of, current.computed_at) if as_of else current.computed_at
        else:
            actual = values.get((target.indicator_id, period.pk)) if period else None
            row = TargetRow(target, actual, None, ProgressStatus.NO_DATA, trend, evaluated=False)
        row.last_year = last_year.get(target.pk)
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
