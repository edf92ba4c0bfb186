"""Why an indicator value is what it is: the units and figures that went into it, checkable by hand.

This recomputes one value in Python, straight from the approved figures, with the same rules as
the SQL engine (``indicators.engine``): flow figures summed year to date, stock figures the latest
value, ``code[-k]`` k quarters back, missing figures → 0 unless all of a unit's are missing, the
unit filter, inactive units left out. The totals it shows must equal the stored row — the tests
compare them, so the explanation doubles as an independent check of the engine.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from indicators.engine import compile_indicator, dispersion_value
from indicators.models import DISPERSION_AGGREGATIONS, Aggregation, Indicator, IndicatorValue
from indicators.unit_filter import UnitFilter
from portal import expressions
from schools.models import Designation, OrgUnit
from submissions.models import Period, SubmissionStatus, TimeAggregation, Value

MAX_ROWS = 2000  # a bureau-wide explanation lists at most this many units (the totals still cover all)


@dataclass
class Input:
    """One figure a unit contributed: its code, offset, effective value and the periods it came from."""

    code: str
    offset: int
    value: Decimal | None
    periods: list[str]


@dataclass
class Contribution:
    unit: OrgUnit
    inputs: list[Input]
    numerator: Decimal | None
    denominator: Decimal | None
    designations: list[Designation] = field(default_factory=list)


@dataclass
class Explanation:
    indicator: Indicator
    unit: OrgUnit
    period: Period
    contributions: list[Contribution]
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    truncated: bool = False
    stored: IndicatorValue | None = None


def _statuses() -> list[str]:
    statuses = [SubmissionStatus.APPROVED]
    if getattr(settings, "INDICATORS_INCLUDE_SUBMITTED", False):
        statuses.append(SubmissionStatus.SUBMITTED)
    return statuses


def eligible_units(indicator: Indicator, root: OrgUnit, as_of: datetime.date | None = None) -> list[OrgUnit]:
    """Units of ``root``'s subtree the indicator counts (open at ``as_of``, a period's last day, and passing its
    filter: ``UnitFilter``, as the engine)."""
    return list(OrgUnit.objects.subtree_of(root).filter(UnitFilter.of(indicator).q(as_of=as_of)).order_by("path"))


def _answered_not_applicable(node: expressions.Node, unit_id: int, not_applicable: set[tuple[int, str]]) -> bool:
    return any((unit_id, code) in not_applicable for code, offset in expressions.references(node) if offset == 0)


def explain(indicator: Indicator, unit: OrgUnit, period: Period) -> Explanation:
    compiled = compile_indicator(indicator)
    units = eligible_units(indicator, unit, period.end_date)
    unit_ids = [u.pk for u in units]
    refs = compiled.refs
    codes = {code for code, _offset in refs}
    targets_idx = {(code, offset): period.index - offset for code, offset in refs}
    years = {idx // 4 for idx in targets_idx.values()}

    # (unit, code, year) → [(quarter, period code, value)] from approved submissions only.
    raw: dict[tuple[int, str, int], list[tuple[int, str, Decimal | None]]] = defaultdict(list)
    time_agg: dict[str, str] = {}
    rows = Value.objects.filter(
        submission__org_unit_id__in=unit_ids,
        submission__status__in=_statuses(),
        submission__period__year__in=years,
        figure__code__in=codes,
    ).values_list(
        "submission__org_unit_id",
        "figure__code",
        "figure__time_aggregation",
        "submission__period__year",
        "submission__period__quarter",
        "submission__period__code",
        "value",
        "not_applicable",
    )
    not_applicable: set[tuple[int, str]] = set()  # (unit, figure) answered 不适用 in ``period`` itself
    for unit_id, code, agg, year, quarter, period_code, value, is_na in rows.iterator():
        raw[(unit_id, code, year)].append((quarter, period_code, value))
        time_agg[code] = agg
        if is_na and period_code == period.code:
            not_applicable.add((unit_id, code))

    designations: dict[int, list[Designation]] = defaultdict(list)
    if indicator.aggregation == Aggregation.COUNT_DESIGNATIONS:
        for designation in Designation.objects.filter(
            org_unit_id__in=unit_ids,
            kind_id=indicator.designation_kind_id,
            **({"level": indicator.designation_level} if indicator.designation_level else {}),
            granted_on__gte=period.start_date.replace(month=1, day=1),
            granted_on__lte=period.end_date,
        ).select_related("kind"):
            if designation.revoked_on is None or designation.revoked_on > period.end_date:
                designations[designation.org_unit_id].append(designation)

    contributions: list[Contribution] = []
    weights: dict[int, Decimal | None] = {}  # mean / stddev / cv: each unit's Pᵢ
    for member in units:
        inputs: list[Input] = []
        values: dict[tuple[str, int], Decimal | None] = {}
        for code, offset in refs:
            idx = targets_idx[(code, offset)]
            year, quarter = idx // 4, idx % 4 + 1
            reported = sorted(r for r in raw.get((member.pk, code, year), []) if r[0] <= quarter)
            if time_agg.get(code, TimeAggregation.FLOW) == TimeAggregation.FLOW:
                present = [r for r in reported if r[2] is not None]
                effective = sum((Decimal(r[2]) for r in present), Decimal(0)) if present else None
                sources = [r[1] for r in present]
            else:
                present = [r for r in reported if r[2] is not None]
                effective = Decimal(present[-1][2]) if present else None
                sources = [present[-1][1]] if present else []
            values[(code, offset)] = effective
            inputs.append(Input(code, offset, effective, sources))
        numerator: Decimal | None
        denominator: Decimal | None = None
        if indicator.aggregation == Aggregation.COUNT_DESIGNATIONS:
            numerator = Decimal(len(designations[member.pk]))
        elif indicator.aggregation == Aggregation.COUNT_OPENED_UNITS:
            opened = member.opened_on
            year_start = period.start_date.replace(month=1, day=1)
            if opened is None or not (year_start <= opened <= period.end_date):
                continue
            numerator = Decimal(1)
        elif indicator.aggregation == Aggregation.COUNT_UNITS_WHERE:
            assert compiled.condition is not None
            holds = expressions.evaluate_condition(compiled.condition, values)
            numerator = None if holds is None else Decimal(int(holds))
        else:
            assert compiled.numerator is not None
            numerator = expressions.evaluate(compiled.numerator, values)
            if compiled.denominator is not None:
                denominator = expressions.evaluate(compiled.denominator, values)
                # As the engine (``_not_applicable_sql``): 不适用 on one side of a ratio leaves the unit out of both.
                num_na = _answered_not_applicable(compiled.numerator, member.pk, not_applicable)
                if _answered_not_applicable(compiled.denominator, member.pk, not_applicable):
                    numerator = None
                if num_na:
                    denominator = None
            if indicator.aggregation in DISPERSION_AGGREGATIONS:
                weights[member.pk] = denominator
                if compiled.weight is not None:
                    weights[member.pk] = (
                        None
                        if _answered_not_applicable(compiled.weight, member.pk, not_applicable)
                        else expressions.evaluate(compiled.weight, values)
                    )
        if numerator is None and denominator is None and not designations.get(member.pk):
            continue
        if indicator.aggregation == Aggregation.COUNT_DESIGNATIONS and not designations.get(member.pk):
            continue
        contributions.append(Contribution(member, inputs, numerator, denominator, designations.get(member.pk, [])))

    nums = [c.numerator for c in contributions if c.numerator is not None]
    dens = [c.denominator for c in contributions if c.denominator is not None]
    total_num: Decimal | None
    if indicator.aggregation == Aggregation.MAX:
        total_num = max(nums) if nums else None
    elif indicator.aggregation == Aggregation.MIN:
        total_num = min(nums) if nums else None
    elif indicator.aggregation in (Aggregation.COUNT_DESIGNATIONS, Aggregation.COUNT_OPENED_UNITS):
        total_num = sum(nums, Decimal(0))
    else:
        total_num = sum(nums, Decimal(0)) if nums else None
    total_den = sum(dens, Decimal(0)) if dens else None
    if indicator.aggregation == Aggregation.RATIO:
        value = None if total_num is None or not total_den else total_num * indicator.factor / total_den
    elif indicator.aggregation in DISPERSION_AGGREGATIONS:
        # As the engine: each unit's own Xᵢ = num ÷ den × factor weighted by Pᵢ; totals are ΣPᵢXᵢ and ΣPᵢ.
        observations = [
            (c.numerator * indicator.factor / c.denominator, weight)
            for c in contributions
            if c.numerator is not None
            and c.denominator
            and (weight := weights.get(c.unit.pk)) is not None
            and weight > 0
        ]
        total_num = sum((w * x for x, w in observations), Decimal(0)) if observations else None
        total_den = sum((w for _x, w in observations), Decimal(0)) if observations else None
        moment2 = sum((w * x * x for x, w in observations), Decimal(0)) if observations else None
        value = dispersion_value(indicator.aggregation, total_num, total_den, moment2, len(observations))
    else:
        value = total_num
    stored = IndicatorValue.objects.filter(indicator=indicator, org_unit=unit, period=period).first()
    return Explanation(
        indicator=indicator,
        unit=unit,
        period=period,
        contributions=contributions[:MAX_ROWS],
        numerator=total_num,
        denominator=total_den,
        value=value,
        truncated=len(contributions) > MAX_ROWS,
        stored=stored,
    )


def as_dict(explanation: Explanation) -> dict[str, object]:
    """The JSON shape the API returns."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "indicator": explanation.indicator.code,
        "org_unit": explanation.unit.code,
        "period": explanation.period.code,
        "numerator_expression": explanation.indicator.numerator,
        "denominator_expression": explanation.indicator.denominator,
        "condition": explanation.indicator.condition,
        "factor": str(explanation.indicator.factor),
        "numerator": num(explanation.numerator),
        "denominator": num(explanation.denominator),
        "value": num(explanation.value),
        "truncated": explanation.truncated,
        "contributions": [
            {
                "org_unit": c.unit.code,
                "name": c.unit.name,
                "numerator": num(c.numerator),
                "denominator": num(c.denominator),
                "inputs": [
                    {"figure": i.code, "offset": i.offset, "value": num(i.value), "periods": i.periods}
                    for i in c.inputs
                ],
                "designations": [{"kind": d.kind.code, "granted_on": d.granted_on.isoformat()} for d in c.designations],
            }
            for c in explanation.contributions
        ],
    }
