"""Fixtures of the submissions tests: a handful of figures, two quarters, two rules, a frozen clock.

Figures: primary schools report new entrants (flow), of which migrants (flow), enrolled (stock,
≤ 5000, warns on a 30 % move) and central schools only the joint research activities; kindergartens
report kg_enrolled; districts report the population aged 6 (decimal allowed, to test both types).
Rules: migrants ≤ entrants (error); entrants ≤ enrolled × 0.5 (warning).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine

from schools.models import Level, SchoolType
from submissions.models import (
    Figure,
    Operator,
    Period,
    Severity,
    Submission,
    SubmissionStatus,
    TimeAggregation,
    ValidationRule,
    Value,
    ValueType,
)

PRIMARY = [SchoolType.PRIMARY]


@dataclass
class Setup:
    q4: Period  # 2022Q4, the quarter before
    q1: Period  # 2023Q1, the open one
    figures: dict[str, Figure]


@pytest.fixture
def clock():
    # 2023-04-01: 2023Q1 is open (due 04-10, locks 04-30).
    with time_machine.travel(datetime.datetime(2023, 4, 1, 10, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        yield traveller


def make_period(year: int, quarter: int) -> Period:
    start = datetime.date(year, 3 * quarter - 2, 1)
    end = (start + datetime.timedelta(days=95)).replace(day=1)
    return Period.objects.create(
        code=Period.code_for(year, quarter),
        year=year,
        quarter=quarter,
        opens_on=start,
        due_on=end + datetime.timedelta(days=9),
        locks_on=end + datetime.timedelta(days=29),
    )


@pytest.fixture
def setup(tree, clock) -> Setup:
    def fig(code: str, name: str, **extra: object) -> Figure:
        return Figure.objects.create(code=code, name=name, **extra)

    figures = {
        f.code: f
        for f in [
            fig("pri_new_entrants", "小学新生数", reported_by_school_types=PRIMARY, order=1),
            fig("pri_new_entrants_migrant", "其中外来生", reported_by_school_types=PRIMARY, order=2),
            fig(
                "pri_enrolled",
                "小学在校生数",
                reported_by_school_types=PRIMARY,
                order=3,
                time_aggregation=TimeAggregation.STOCK,
                max_value=Decimal(5000),
            ),
            fig(
                "central_joint_research",
                "片区合作教研活动次数",
                reported_by_school_types=PRIMARY,
                reported_by_central_only=True,
                order=4,
            ),
            fig(
                "kg_enrolled",
                "在园幼儿数",
                reported_by_school_types=[SchoolType.KINDERGARTEN],
                time_aggregation=TimeAggregation.STOCK,
            ),
            fig(
                "pop_age6",
                "6周岁人口数",
                reported_by_levels=[Level.DISTRICT],
                value_type=ValueType.DECIMAL,
                time_aggregation=TimeAggregation.STOCK,
            ),
        ]
    }
    ValidationRule.objects.create(
        code="migrant_le_entrants",
        name="外来生不超过新生",
        left="pri_new_entrants_migrant",
        operator=Operator.LE,
        right="pri_new_entrants",
        severity=Severity.ERROR,
        message="外来生数不能超过新生数",
    )
    ValidationRule.objects.create(
        code="entrants_half_enrolled",
        name="新生数不超过在校生一半",
        left="pri_new_entrants",
        operator=Operator.LE,
        right="pri_enrolled * 0.5",
        severity=Severity.WARNING,
        message="新生数超过在校生的一半，请核实",
    )
    return Setup(q4=make_period(2022, 4), q1=make_period(2023, 1), figures=figures)


def make_submission(unit, period, status=SubmissionStatus.DRAFT, **values: object) -> Submission:
    """A submission with values written directly (bypassing the workflow), for arranging tests."""
    submission = Submission.objects.create(org_unit=unit, period=period, status=status)
    for code, value in values.items():
        Value.objects.create(submission=submission, figure=Figure.objects.get(code=code), value=value)
    return submission


# S1's complete, clean values (central primary): 100 entrants, 10 migrants, 600 enrolled, 3 activities.
S1_CLEAN = {
    "pri_new_entrants": 100,
    "pri_new_entrants_migrant": 10,
    "pri_enrolled": 600,
    "central_joint_research": 3,
}
