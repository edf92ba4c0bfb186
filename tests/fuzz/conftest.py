"""Hypothesis profiles and a small world for the fuzz tests (issue 7).

Profiles: ``default`` (100 examples per test, for ``make test-all`` locally) and ``ci`` (1,000 examples per test),
chosen with ``HYPOTHESIS_PROFILE=ci``. No deadline: the first example of a test pays for imports and
query compilation, and the shared CI machine's timings vary; speed is measured by bench scripts.

World (built once per test; every example then runs inside a savepoint that is rolled back, so each
example starts from the same rows): the shared ``tree``/``users`` fixtures, the real current quarter
open for editing, five figures (integer flow ≥ 0, integer stock ≤ 5000 with a change warning, an
integer with 10 ≤ x ≤ 20, a decimal for districts, a central-schools-only figure), one error rule and
one warning rule, the previous quarter approved for S1 (so change warnings fire), submissions in
every state (S1 draft, S2 submitted, S3 approved), an indicator, a plan with a section and a target,
a designation kind, and a token per persona.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from indicators.models import Aggregation, Indicator
from plans.models import Plan, PlanStatus, Section
from schools.models import DesignationKind, Level, SchoolType
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
from targets import plan_drafts
from targets.models import Comparator, PlanDraft, Target, TargetKind

# Function-scoped fixtures are fine here: the world is built once per test and each example rolls
# back its own savepoint, which is exactly what the health check warns might not happen.
_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("default", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=1000, **_COMMON)
# A quick local pass over every endpoint (HYPOTHESIS_PROFILE=quick): the explicit valid example plus 20 more.
settings.register_profile("quick", max_examples=20, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# The apps whose tables a request may write; "nothing stored" is checked over all of them.
DATA_APPS = ("schools", "submissions", "targets", "plans", "reports")
PRIMARY = [SchoolType.PRIMARY]


@dataclass
class FuzzWorld:
    tree: Any
    users: Any
    period: Period
    previous: Period
    figures: dict[str, Figure]
    draft: Submission  # S1 (alice), editable
    submitted: Submission  # S2, waiting for review
    approved: Submission  # S3 (bob), approved
    indicator: Indicator
    plan: Plan
    target: Target
    tokens: dict[str, str]  # username → API token key
    plan_draft: PlanDraft | None = None  # bea's, from a short plan text, not committed


def _quarter_of(day: datetime.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _period(year: int, quarter: int, opens: datetime.date, locks: datetime.date) -> Period:
    return Period.objects.create(
        code=Period.code_for(year, quarter),
        year=year,
        quarter=quarter,
        opens_on=opens,
        due_on=opens + (locks - opens) / 2,
        locks_on=locks,
    )


def build_fuzz_world(tree: Any, users: Any) -> FuzzWorld:
    today = timezone.localdate()
    year, quarter = _quarter_of(today)
    period = _period(year, quarter, today - datetime.timedelta(days=30), today + datetime.timedelta(days=60))
    prev_year, prev_quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    previous = _period(
        prev_year, prev_quarter, today - datetime.timedelta(days=120), today - datetime.timedelta(days=31)
    )

    def fig(code: str, **extra: Any) -> Figure:
        return Figure.objects.create(code=code, name=f"项目 {code}", reported_by_school_types=PRIMARY, **extra)

    figures = {
        "pri_new_entrants": fig("pri_new_entrants", order=1),
        "pri_enrolled": fig("pri_enrolled", order=2, time_aggregation=TimeAggregation.STOCK, max_value=Decimal(5000)),
        "pri_classes": fig("pri_classes", order=3, min_value=Decimal(10), max_value=Decimal(20)),
        "central_joint_research": fig("central_joint_research", order=4, reported_by_central_only=True),
        "pop_age6": Figure.objects.create(
            code="pop_age6",
            name="6周岁人口数",
            reported_by_levels=[Level.DISTRICT],
            value_type=ValueType.DECIMAL,
            time_aggregation=TimeAggregation.STOCK,
        ),
    }
    ValidationRule.objects.create(
        code="entrants_le_enrolled",
        name="新生不超过在校生",
        left="pri_new_entrants",
        operator=Operator.LE,
        right="pri_enrolled",
        severity=Severity.ERROR,
        message="新生数不能超过在校生数",
    )
    ValidationRule.objects.create(
        code="entrants_half",
        name="新生不超过在校生一半",
        left="pri_new_entrants",
        operator=Operator.LE,
        right="pri_enrolled * 0.5",
        severity=Severity.WARNING,
        message="新生数超过在校生的一半，请核实",
    )
    full = {"pri_new_entrants": 100, "pri_enrolled": 1000, "pri_classes": 12}

    def submission(unit: Any, on: Period, status: str, values: dict[str, int]) -> Submission:
        sub = Submission.objects.create(org_unit=unit, period=on, status=status)
        for code, value in values.items():
            Value.objects.create(submission=sub, figure=figures[code], value=Decimal(value))
        return sub

    submission(tree.s1, previous, SubmissionStatus.APPROVED, {**full, "central_joint_research": 3})
    draft = submission(tree.s1, period, SubmissionStatus.DRAFT, {"pri_new_entrants": 90, "pri_enrolled": 1010})
    submitted = submission(tree.s2, period, SubmissionStatus.SUBMITTED, full)
    approved = submission(tree.s3, period, SubmissionStatus.APPROVED, full)
    indicator = Indicator.objects.create(
        code="entrants", name="新生数", numerator="pri_new_entrants", aggregation=Aggregation.SUM
    )
    DesignationKind.objects.create(code="standard_kg", name="标准化幼儿园")
    plan = Plan.objects.create(code="p", title="工作要点", year=year, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    section = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    target = Target.objects.create(
        plan=plan,
        section=section,
        code="T01",
        text="新生数不少于100人",
        kind=TargetKind.QUANTITY,
        scope=tree.city,
        indicator=indicator,
        comparator=Comparator.GTE,
        target_value=Decimal(100),
    )
    tokens = {
        name: Token.objects.create(user=getattr(users, name)).key for name in ("alice", "bob", "rita", "ivan", "bea")
    }
    plan_draft = plan_drafts.create_draft(
        users.bea, text="2031年工作要点\n一、主要目标\n学前三年毛入园率达到95%以上，新建幼儿园2所。\n"
    )
    return FuzzWorld(
        tree, users, period, previous, figures, draft, submitted, approved, indicator, plan, target, tokens, plan_draft
    )


@pytest.fixture
def world(tree: Any, users: Any) -> FuzzWorld:
    return build_fuzz_world(tree, users)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one example inside a savepoint that is always rolled back (the test's transaction stays)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def data_models() -> list[Any]:
    return [model for label in DATA_APPS for model in apps.get_app_config(label).get_models()]


def _state_sql() -> str:
    """One statement reading every row of every data table as (label, pk, the row as JSON text).

    Two snapshots per example over ~50 tables were 100 queries, 80 % of an example's time on PostgreSQL; one
    UNION ALL reads the same rows in one round trip. The row's JSON text holds every concrete column, so two
    snapshots are equal exactly when every row is.
    """
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    parts = []
    for model in data_models():
        meta = model._meta
        columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
        pk = quote(meta.pk.column)
        row = f"json_build_array({columns})::text" if postgres else f"json_array({columns})"
        pk_text = f"{pk}::text" if postgres else f"CAST({pk} AS TEXT)"
        parts.append(f"SELECT '{meta.label}' AS label, {pk_text} AS pk, {row} AS row FROM {quote(meta.db_table)}")
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2"


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table as (pk, the row's columns as JSON text), per model label, in one query.

    The world is small (a few hundred rows). Every data model has a key, even with no rows, so a table emptied
    by a request still compares unequal.
    """
    state: dict[str, list[tuple[Any, ...]]] = {model._meta.label: [] for model in data_models()}
    with connection.cursor() as cursor:
        cursor.execute(_state_sql())
        for label, pk, row in cursor.fetchall():
            state[label].append((pk, row))
    return state


def changed_models(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    return sorted(label for label in after if before.get(label) != after[label])
