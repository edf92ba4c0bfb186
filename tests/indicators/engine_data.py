"""Small builders for engine tests: figures, periods, approved submissions, indicators, lookups."""

from __future__ import annotations

import datetime
from decimal import Decimal

from indicators.models import Aggregation, Indicator, IndicatorValue
from schools.models import OrgUnit
from submissions.models import Figure, Period, Submission, SubmissionStatus, TimeAggregation, Value


def figure(code: str, time_aggregation: str = TimeAggregation.FLOW) -> Figure:
    return Figure.objects.get_or_create(code=code, defaults={"name": code, "time_aggregation": time_aggregation})[0]


def stock(code: str) -> Figure:
    return figure(code, TimeAggregation.STOCK)


def period(year: int, quarter: int) -> Period:
    start = datetime.date(year, 3 * quarter - 2, 1)
    return Period.objects.get_or_create(
        year=year,
        quarter=quarter,
        defaults={
            "code": Period.code_for(year, quarter),
            "opens_on": start,
            "due_on": start + datetime.timedelta(days=20),
            "locks_on": start + datetime.timedelta(days=40),
        },
    )[0]


def report(
    unit: OrgUnit, per: Period, status: str = SubmissionStatus.APPROVED, **values: float | int | None
) -> Submission:
    """A submission of ``unit`` for ``per`` with the given figure values (figures must exist)."""
    submission, _ = Submission.objects.update_or_create(org_unit=unit, period=per, defaults={"status": status})
    for code, value in values.items():
        Value.objects.update_or_create(
            submission=submission,
            figure=Figure.objects.get(code=code),
            defaults={"value": None if value is None else Decimal(str(value))},
        )
    return submission


def indicator(code: str, numerator: str = "", denominator: str = "", **extra: object) -> Indicator:
    extra.setdefault("aggregation", Aggregation.RATIO if denominator else Aggregation.SUM)
    return Indicator.objects.create(code=code, name=code, numerator=numerator, denominator=denominator, **extra)


def iv(ind: Indicator, unit: OrgUnit, per: Period) -> IndicatorValue | None:
    return IndicatorValue.objects.filter(indicator=ind, org_unit=unit, period=per).first()


def value(ind: Indicator, unit: OrgUnit, per: Period, places: int = 2) -> Decimal | None:
    row = iv(ind, unit, per)
    if row is None or row.value is None:
        return None
    return row.value.quantize(Decimal(1).scaleb(-places))


def snapshot() -> list[tuple]:
    return list(
        IndicatorValue.objects.order_by("indicator", "org_unit", "period").values_list(
            "pk", "indicator_id", "org_unit_id", "period_id", "numerator", "denominator", "value", "unit_count"
        )
    )
