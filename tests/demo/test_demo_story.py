"""The demo tells the story of today (issue 14 §4): a plan for the current year copied from the 2023 plan, periods
without a gap up to today's quarter with the quarter before it filled in, a current quarter in progress (the stock
warning fires on a draft), dashboards opening on a quarter with data, clean texts and formulas, idempotent."""

from __future__ import annotations

import datetime
import os
import subprocess  # nosec B404: runs this project's own Python with fixed arguments
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import TestCase
from django.urls import reverse

from demo.plans import TRADITIONAL_NOTE
from demo.submissions import HISTORY_QUARTERS, quarters_between
from indicators import catalogue
from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section, WorkItem
from portal import expressions
from submissions import workflow
from submissions.models import Figure, Period, Submission, SubmissionStatus, ValidationRule, Value
from submissions.validation import CHANGE_KEY_PREFIX
from targets.models import Progress, Target

# Two days the demo may be loaded on: late in a year, and early in the next (the year rolls, Q1 has no quarter
# of its own year before it). Noon in the portal's time zone.
DAYS = {
    "2026-12-04": (datetime.date(2026, 12, 4), (2026, 4)),
    "2027-02-10": (datetime.date(2027, 2, 10), (2027, 1)),
}
SEED_COUNTY_PLAN = "2015-county-basic"  # seed 001: the county's own (traditional) characters, marked as such
# Characters written only in traditional Chinese (their simplified forms differ): one is enough to tell.
TRADITIONAL_ONLY = set("礎見學國會與為這們來對時從動機關經區實質體書師據標級數總辦務類業")
TRADITIONAL_ONLY |= set("發現過進將兒園階條愛鞏達劃點縣視專測課養優")


@pytest.fixture(scope="module", params=sorted(DAYS))
def demo_on(request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """The demo loaded on one of ``DAYS`` (time pinned for the module's tests), rolled back afterwards; the
    after-commit work (values → progress) runs as in `make run`."""
    day, _current = DAYS[request.param]
    moment = datetime.datetime.combine(day, datetime.time(4, 0), tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False), django_db_blocker.unblock(), transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("load_demo", stdout=StringIO())
        yield request.param
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo_on: str, db: None) -> tuple[datetime.date, tuple[int, int]]:
    return DAYS[demo_on]


def _code(year: int, quarter: int) -> str:
    return Period.code_for(year, quarter)


def test_the_current_year_has_its_plan_copied_from_the_2023_plan(loaded: Any) -> None:
    day, _current = loaded
    seed = Plan.objects.get(code="2023-chuyou")
    plan = Plan.objects.get(year=day.year)
    assert plan.status == PlanStatus.PUBLISHED
    assert plan.title == f"{day.year}年初等与学前教育工作要点"
    copies = Target.objects.filter(plan=plan)
    assert copies.count() == seed.targets.count()
    assert not copies.filter(copied_from__isnull=True).exists()
    # dates moved on by the years between the plans, quarters of the new year
    t41 = copies.get(code="T41")
    assert t41.copied_from is not None
    assert t41.copied_from.due_date is not None
    assert t41.due_date == t41.copied_from.due_date.replace(year=day.year)
    assert set(copies.exclude(assess_from=None).values_list("assess_from__year", flat=True)) == {day.year}
    # last year's actuals as baselines (the seed's values existed when it was copied)
    assert copies.filter(baseline_value__isnull=False).exists()
    # the seed's year in its sentences is this year's ("制定2023年…" in the 2023 plan, "制定2026年…" in 2026's)
    seed_dated = seed.targets.filter(text__contains="2023年")
    assert seed_dated.exists()
    for copy in copies.filter(copied_from__in=seed_dated).select_related("copied_from"):
        assert copy.copied_from is not None
        assert copy.text == copy.copied_from.text.replace("2023年", f"{day.year}年")
    assert not WorkItem.objects.filter(section__plan=plan, text__contains="2023年").exists()
    # the 2023 plans stay as history
    assert set(Plan.objects.filter(year=2023).values_list("code", flat=True)) == {"2023-chuyou", "2023-chuyou-d01"}


def test_periods_run_without_a_gap_up_to_today_and_the_previous_quarter_is_filled_in(loaded: Any) -> None:
    day, current = loaded
    codes = list(Period.objects.order_by("year", "quarter").values_list("code", flat=True))
    # from the history's first quarter to the end of this year (the plan's later quarters: due, 起评)
    assert codes == [_code(*q) for q in quarters_between(HISTORY_QUARTERS[0], (day.year, 4))]
    assert Period.objects.current().code == _code(*current)  # type: ignore[union-attr]
    previous = (current[0], current[1] - 1) if current[1] > 1 else (current[0] - 1, 4)
    before = Submission.objects.filter(period__code=_code(*previous))
    assert before.exists()
    assert set(before.values_list("status", flat=True)) == {SubmissionStatus.APPROVED}
    # every earlier quarter of this year is approved; the current one is in progress
    earlier = Submission.objects.filter(period__year=day.year, period__quarter__lt=current[1])
    assert set(earlier.values_list("status", flat=True)) <= {SubmissionStatus.APPROVED}
    statuses = set(Submission.objects.filter(period__code=_code(*current)).values_list("status", flat=True))
    assert statuses >= {
        SubmissionStatus.APPROVED,
        SubmissionStatus.SUBMITTED,
        SubmissionStatus.RETURNED,
        SubmissionStatus.DRAFT,
    }


def test_the_stock_change_warning_fires_on_a_draft_of_the_current_quarter(loaded: Any) -> None:
    _day, current = loaded
    drafts = list(
        Submission.objects.filter(period__code=_code(*current), status=SubmissionStatus.DRAFT).select_related(
            "org_unit", "period"
        )
    )
    warned = [
        snap
        for snap in workflow.snapshots(drafts)
        if any(issue.key.startswith(CHANGE_KEY_PREFIX) for issue in snap.issues)
    ]
    assert warned
    # a warning waits for its explanation: submitting the draft is blocked until the principal writes one
    assert all(snap.blocking for snap in warned)


def test_the_dashboard_opens_on_the_current_quarter_with_values(loaded: Any, client: Any) -> None:
    day, current = loaded
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    context = response.context
    assert context["plan"].year == day.year
    assert context["period"].code == _code(*current)
    rows = context["dash"].rows
    assert rows
    assert [row for row in rows if row.actual is not None and row.status not in ("", "no_data")]
    # the same quarter's progress rows exist for the plan's scope (pages read precomputed values)
    assert Progress.objects.filter(
        target__plan=context["plan"], period__code=_code(*current), actual__isnull=False
    ).exists()


def test_loading_again_changes_nothing(loaded: Any) -> None:
    def state() -> dict[str, Any]:
        return {
            "plans": list(Plan.objects.order_by("code").values_list("code", "title", "status")),
            "periods": list(Period.objects.order_by("code").values_list("code", "opens_on")),
            "submissions": list(Submission.objects.values("period__code", "status").annotate(n=Count("pk"))),
            "values": Value.objects.count(),
            "targets": list(Target.objects.order_by("plan__code", "code").values_list("plan__code", "code", "version")),
            "indicators": list(Indicator.objects.order_by("code").values_list("code", "numerator", "denominator")),
            "work_items": list(WorkItem.objects.order_by("pk").values_list("title", "text")),
        }

    before = state()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    assert state() == before


# --- Clean texts ---


def _texts() -> Iterator[tuple[str, str, str]]:
    """(where, plan code or "", text) of every text the demo shows."""
    for code, title, ideas in Plan.objects.values_list("code", "title", "guiding_ideas"):
        yield "plan", code, title
        yield "plan guiding ideas", code, ideas
    for code, title, intro in Section.objects.values_list("plan__code", "title", "intro"):
        yield "section", code, f"{title} {intro}"
    for code, title, text in WorkItem.objects.values_list("section__plan__code", "title", "text"):
        yield "work item", code, f"{title} {text}"
    for code, text in Target.objects.values_list("plan__code", "text"):
        yield "target", code, text
    for name, definition in Indicator.objects.values_list("name", "definition"):
        yield "indicator", "", f"{name} {definition}"
    for name, help_text in Figure.objects.values_list("name", "help_text"):
        yield "figure", "", f"{name} {help_text}"
    for name, message in ValidationRule.objects.values_list("name", "message"):
        yield "rule", "", f"{name} {message}"


def test_demo_texts_have_no_encoding_debris_and_are_simplified_except_the_marked_seed(loaded: Any) -> None:
    debris = [(where, code, text[:60]) for where, code, text in _texts() if {"?", "\ufffd"} & set(text)]
    assert debris == []
    traditional = [
        (where, code, text[:40])
        for where, code, text in _texts()
        if code != SEED_COUNTY_PLAN and TRADITIONAL_ONLY & set(text)
    ]
    assert traditional == []
    # seed 001 keeps its own characters and says so where a reader sees it first
    county = Plan.objects.get(code=SEED_COUNTY_PLAN)
    assert TRADITIONAL_ONLY & set(county.title)  # 基礎, 意見
    assert county.guiding_ideas.startswith(TRADITIONAL_NOTE)


def test_demo_work_items_are_whole_sentences(loaded: Any) -> None:
    """No work item stops mid-sentence (a seed text cut at a page break or at the document's end)."""
    cut = [
        (code, number, text[-20:])
        for code, number, text in WorkItem.objects.values_list("section__plan__code", "number", "text")
        if "…" in text or not text.rstrip().endswith(("。", "；", "！"))
    ]
    assert cut == []


# --- Clean formulas ---


def _factors(node: expressions.Node) -> list[expressions.Node]:
    if isinstance(node, expressions.BinOp) and node.op == "*":
        return _factors(node.left) + _factors(node.right)
    return [node]


def cancelling_divisions(text: str) -> list[str]:
    """Divisions in ``text`` whose divisor is also a factor of what it divides (``a * x / x``): formula tricks."""
    found = []
    stack = [expressions.parse(text, None)]
    while stack:
        node = stack.pop()
        if isinstance(node, expressions.BinOp):
            if node.op == "/" and node.right in _factors(node.left):
                found.append(expressions.to_text(node))
            stack += [node.left, node.right]
        elif isinstance(node, expressions.Neg):
            stack.append(node.operand)
    return found


def test_the_trick_finder_finds_the_trick() -> None:
    assert len(cancelling_divisions("(a + b - c) * g / g")) == 1
    assert len(cancelling_divisions("x * (y / y)")) == 1
    assert len(cancelling_divisions("-(g * a / g) + 1")) == 1
    assert cancelling_divisions("a / (b + c)") == []
    assert cancelling_divisions("a * b / c") == []


def _definition(indicator: Indicator) -> tuple[Any, ...]:
    """What decides an indicator's values: the catalogue's definition fields, parsed formulas, the weight, and what
    a count counts."""
    key: list[Any] = []
    for name in (*catalogue.INDICATOR_DEFINITION_FIELDS, "weight"):
        value = getattr(indicator, name)
        if name in ("numerator", "denominator", "weight") and value:
            value = expressions.to_text(expressions.parse(value, None))
        key.append(tuple(sorted(value)) if isinstance(value, list) else value)
    return (*key, indicator.designation_kind_id, indicator.designation_level)


def test_demo_indicators_are_each_defined_once_without_formula_tricks(loaded: Any) -> None:
    by_definition: dict[tuple[Any, ...], list[str]] = {}
    for indicator in Indicator.objects.order_by("code"):
        by_definition.setdefault(_definition(indicator), []).append(indicator.code)
        for text in (indicator.numerator, indicator.denominator, indicator.weight):
            assert not (text and cancelling_divisions(text)), (indicator.code, text)
    assert [codes for codes in by_definition.values() if len(codes) > 1] == []


def test_the_catalogue_formulas_have_no_tricks() -> None:
    for entry in catalogue.load().entries.values():
        fields = entry.indicator_fields()
        for name in ("numerator", "denominator", "weight"):
            text = fields.get(name) or ""
            assert not (text and cancelling_divisions(text)), (entry.code, text)


# --- The dev server ---


def test_each_request_is_logged_once() -> None:
    """`make run`'s server logs a request line through ``django.server``: one line, not one per handler."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.server').info('\"GET /probe-line HTTP/1.1\" 200 1'); "
        "logging.getLogger('django.request').warning('request-probe')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1", "LOG_LEVEL": "INFO"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # nosec B603
        [sys.executable, "-c", script],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = result.stdout + result.stderr
    assert output.count("/probe-line") == 1, output
    assert output.count("request-probe") == 1, output
