"""Report fixtures: a 2023 plan with two targets, indicator values and progress written directly.

Numbers (kindergarten enrolment rate = enrolled / cohort × 100, target ≥ 99 %, scope CITY):

    unit   2023Q4 numerator / denominator = value   progress status
    CITY   1980 / 2000 = 99.0                         met      (Q1–Q3 97.0, 97.5, 98.0: at_risk)
    D1     1000 / 1000 = 100.0                        met
    T1     1000 / 1000 = 100.0                        (no progress row: T1 is not a child of CITY)
    K1     1000 / 1000 = 100.0
    D2      980 / 1000 = 98.0                         off_track
    K2      980 / 1000 = 98.0

Large-class limit (count of schools with a class over 55 pupils, target ≤ 0): CITY 1 (S3), off_track,
detail lists S3 as the failing unit; D1 0 met, D2 1 off_track.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, Section
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import Period
from targets.models import Comparator, Progress, Target, TargetKind, TargetNote

D = Decimal


@dataclass
class ReportData:
    plan: Plan
    equity: Section
    quality: Section
    periods: list[Period]
    rate: Indicator
    big: Indicator
    t_rate: Target
    t_limit: Target

    @property
    def q4(self) -> Period:
        return self.periods[3]


def make_periods(year: int = 2023) -> list[Period]:
    periods = []
    for quarter in range(1, 5):
        start = dt.date(year, 3 * quarter - 2, 1)
        periods.append(
            Period.objects.create(
                code=f"{year}Q{quarter}",
                year=year,
                quarter=quarter,
                opens_on=start,
                due_on=start + dt.timedelta(days=100),
                locks_on=start + dt.timedelta(days=120),
            )
        )
    return periods


def iv(indicator: Indicator, unit: OrgUnit, period: Period, num: str | None, den: str | None, value: str | None):
    return IndicatorValue.objects.create(
        indicator=indicator,
        org_unit=unit,
        period=period,
        computed_at=timezone.now(),
        numerator=None if num is None else D(num),
        denominator=None if den is None else D(den),
        value=None if value is None else D(value),
        unit_count=1,
    )


def progress(
    target: Target,
    unit: OrgUnit,
    period: Period,
    actual: str | None,
    expected: str | None,
    status: str,
    **detail: object,
) -> Progress:
    return Progress.objects.create(
        target=target,
        org_unit=unit,
        period=period,
        status=status,
        computed_at=timezone.now(),
        detail=detail,
        actual=None if actual is None else D(actual),
        expected=None if expected is None else D(expected),
    )


@pytest.fixture
def report(tree, users) -> ReportData:  # noqa: ANN001
    periods = make_periods()
    plan = Plan.objects.create(code="p2023", title="2023年初等与学前教育工作要点", year=2023, owner_unit=tree.city)
    equity = Section.objects.create(plan=plan, code="equity", title="教育公平", order=1)
    quality = Section.objects.create(plan=plan, code="quality", title="教育质量", order=2)
    rate = Indicator.objects.create(
        code="kg_rate",
        name="学前一年幼儿入园率",
        numerator="kg_enrolled",
        denominator="kg_cohort",
        factor=D(100),
        decimals=1,
        unit="%",
        aggregation=Aggregation.RATIO,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    big = Indicator.objects.create(
        code="big_classes",
        name="55人以上大班额学校数",
        numerator="big_classes",
        decimals=0,
        unit="所",
        aggregation=Aggregation.COUNT_UNITS_WHERE,
        condition="big_classes > 0",
    )
    t_rate = Target.objects.create(
        plan=plan,
        section=equity,
        code="kg-rate",
        text="学前一年幼儿入园率达 99% 以上",
        kind=TargetKind.THRESHOLD,
        indicator=rate,
        comparator=Comparator.GTE,
        target_value=D("99"),
        baseline_value=D("96.5"),
        scope=tree.city,
        owner_name="学前教育科",
        order=1,
    )
    t_limit = Target.objects.create(
        plan=plan,
        section=quality,
        code="big-class",
        text="严格控制 55 人以上的大班额",
        kind=TargetKind.LIMIT,
        indicator=big,
        comparator=Comparator.LTE,
        target_value=D("0"),
        scope=tree.city,
        owner_unit=tree.d1,
        order=1,
    )
    TargetNote.objects.create(target=t_limit, period=periods[3], text="西区实验小学仍有 1 个大班，秋季分班后消除")
    q1, q2, q3, q4 = periods
    for period, num, value in ((q1, "1940", "97.0"), (q2, "1950", "97.5"), (q3, "1960", "98.0")):
        iv(rate, tree.city, period, num, "2000", value)
    iv(rate, tree.city, q4, "1980", "2000", "99.0")
    iv(rate, tree.d1, q4, "1000", "1000", "100.0")
    iv(rate, tree.t1, q4, "1000", "1000", "100.0")
    iv(rate, tree.k1, q4, "1000", "1000", "100.0")
    iv(rate, tree.d2, q4, "980", "1000", "98.0")
    iv(rate, tree.k2, q4, "980", "1000", "98.0")
    for period, actual, expected, status in (
        (q1, "97.0", "97.5", "at_risk"),
        (q2, "97.5", "98.0", "at_risk"),
        (q3, "98.0", "98.5", "at_risk"),
        (q4, "99.0", "99.0", "met"),
    ):
        progress(t_rate, tree.city, period, actual, expected, status)
    progress(t_rate, tree.d1, q4, "100.0", "99.0", "met")
    progress(t_rate, tree.d2, q4, "98.0", "99.0", "off_track")
    iv(big, tree.city, q4, "1", None, "1")
    iv(big, tree.d1, q4, "0", None, "0")
    iv(big, tree.d2, q4, "1", None, "1")
    iv(big, tree.s3, q4, "1", None, "1")
    progress(t_limit, tree.city, q4, "1", "0", "off_track", failing_units=["S3"])
    progress(t_limit, tree.d1, q4, "0", "0", "met")
    progress(t_limit, tree.d2, q4, "1", "0", "off_track", failing_units=["S3"])
    return ReportData(plan, equity, quality, periods, rate, big, t_rate, t_limit)


def add_kindergartens(parent: OrgUnit, count: int, report: ReportData, prefix: str = "KX") -> list[OrgUnit]:
    """``count`` extra kindergartens under ``parent``, each with a Q4 rate of 50/50 = 100.0 (bulk values)."""
    units = [
        OrgUnit.objects.create(
            code=f"{prefix}{i:04d}",
            name=f"幼儿园{i}",
            level=Level.SCHOOL,
            parent=parent,
            school_type=SchoolType.KINDERGARTEN,
            ownership=Ownership.PUBLIC,
        )
        for i in range(count)
    ]
    now = timezone.now()
    IndicatorValue.objects.bulk_create(
        IndicatorValue(
            indicator=report.rate,
            org_unit=u,
            period=report.q4,
            numerator=D(50),
            denominator=D(50),
            value=D(100),
            unit_count=1,
            computed_at=now,
        )
        for u in units
    )
    return units
