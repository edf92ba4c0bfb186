"""A small world for fault and concurrency tests: an open quarter, two figures, two indicators, one target.

The period is the real current quarter with dates around the real today, so tests that run threads,
subprocesses or a Celery worker need no frozen clock. No validation rule: a complete submission submits.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from schools.models import SchoolType
from submissions.models import Figure, Period, Submission, SubmissionHistory, TimeAggregation, Value
from targets.models import Comparator, Progress, Target, TargetKind

PRIMARY = [SchoolType.PRIMARY]


@dataclass
class World:
    period: Period
    entrants: Figure
    enrolled: Figure
    total: Indicator  # sum of new entrants
    share: Indicator  # entrants / enrolled × 100
    target: Target  # the city's new entrants ≥ 100 this year


def build_world(tree: Any) -> World:
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    period = Period.objects.create(
        code=Period.code_for(today.year, quarter),
        year=today.year,
        quarter=quarter,
        opens_on=today - datetime.timedelta(days=30),
        due_on=today + datetime.timedelta(days=10),
        locks_on=today + datetime.timedelta(days=40),
    )
    entrants = Figure.objects.create(
        code="pri_new_entrants", name="小学新生数", reported_by_school_types=PRIMARY, order=1
    )
    enrolled = Figure.objects.create(
        code="pri_enrolled",
        name="小学在校生数",
        reported_by_school_types=PRIMARY,
        order=2,
        time_aggregation=TimeAggregation.STOCK,
        max_value=Decimal(5000),
    )
    total = Indicator.objects.create(
        code="entrants", name="新生数", numerator="pri_new_entrants", aggregation=Aggregation.SUM
    )
    share = Indicator.objects.create(
        code="entrant_share",
        name="新生占在校生比例",
        numerator="pri_new_entrants",
        denominator="pri_enrolled",
        factor=100,
        aggregation=Aggregation.RATIO,
    )
    plan = Plan.objects.create(
        code="p", title="工作要点", year=today.year, owner_unit=tree.city, status=PlanStatus.PUBLISHED
    )
    section = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    target = Target.objects.create(
        plan=plan,
        section=section,
        code="T01",
        text="新生数不少于100人",
        kind=TargetKind.QUANTITY,
        scope=tree.city,
        indicator=total,
        comparator=Comparator.GTE,
        target_value=Decimal(100),
    )
    return World(period, entrants, enrolled, total, share, target)


def indicator_table() -> list[tuple[Any, ...]]:
    """Every IndicatorValue without its id and timestamp, in a fixed order (for whole-table comparisons)."""
    return list(
        IndicatorValue.objects.order_by("indicator_id", "org_unit_id", "period_id").values_list(
            "indicator_id", "org_unit_id", "period_id", "numerator", "denominator", "value", "unit_count"
        )
    )


def progress_table() -> list[tuple[Any, ...]]:
    """Every Progress row without its id and timestamp, in a fixed order."""
    return list(
        Progress.objects.order_by("target_id", "period_id", "org_unit_id").values_list(
            "target_id", "period_id", "org_unit_id", "actual", "expected", "projection", "status", "detail"
        )
    )


def values_of(submission: Submission) -> dict[str, Decimal | None]:
    return dict(Value.objects.filter(submission=submission).values_list("figure__code", "value"))


def history_count(submission: Submission) -> int:
    return SubmissionHistory.objects.filter(submission=submission).count()


def state_of(submission: Submission) -> tuple[Any, ...]:
    """Everything a half-done write could leave behind for one submission: row, values, history."""
    row = Submission.objects.filter(pk=submission.pk).values_list("status", "version", "is_zero_report").get()
    history = list(
        SubmissionHistory.objects.filter(submission=submission)
        .order_by("pk")
        .values_list("action", "figure_id", "old_value", "new_value", "version")
    )
    return row, values_of(submission), history
