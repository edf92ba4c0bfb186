"""The plan page reads right: compact rows, figures through the one formatter, margins in the history as %."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan
from targets.models import Comparator, Target, TargetChange, TargetKind
from targets.progress import recompute_progress
from tests.targets.test_target_pages import plan, q1  # noqa: F401  # the page's fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def quantity(plan: Plan, q1, tree) -> Target:  # noqa: ANN001, F811
    """A head-count target (23000 人) whose indicator has one decimal, as the demo's do."""
    entrants = Indicator.objects.create(code="kg_entrants", name="幼儿园招生数", unit="人", decimals=1)
    IndicatorValue.objects.create(indicator=entrants, org_unit=tree.city, period=q1, value=Decimal("22741.000000"),
                                  computed_at=timezone.now())  # fmt: skip
    target = Target.objects.create(plan=plan, section=plan.sections.get(code="goals"), code="T01",
                                   text="幼儿园计划招收新生23000人\n（其中外来生2000人）", kind=TargetKind.QUANTITY,
                                   indicator=entrants, comparator=Comparator.GTE, target_value=Decimal("23000.0000"),
                                   scope=tree.city, path_mode="flat")  # fmt: skip
    Indicator.objects.filter(code="kg_rate").update(unit="%", decimals=1)
    recompute_progress()
    return target


def test_target_rows_have_no_template_whitespace_kept_as_empty_lines(client, users, quantity) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    html = client.get(reverse("plans:plan_detail", args=["p23"])).content.decode()
    table = html[html.index('<table class="table targets">') :]
    # Only the document's own wording keeps its line breaks (white-space: pre-wrap) ...
    assert '<span class="verbatim">幼儿园计划招收新生23000人\n（其中外来生2000人）</span>' in table
    # ... never a whole cell, whose template indentation and line breaks made the empty space under each row.
    assert not re.search(r'<td[^>]*class="[^"]*verbatim', table)


def test_head_counts_and_rates_read_the_same_in_the_target_and_its_status(client, users, quantity) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    html = client.get(reverse("plans:plan_detail", args=["p23"])).content.decode()
    assert "≥ 23,000 人" in html  # the goal under the target's text
    assert '<span class="num">22,741 人</span>' in html  # the actual in the status column: no "22741.0"
    assert "≥ 99.0%" in html  # a rate keeps its indicator's decimals and %
    assert '<span class="num">97.0%</span>' in html
    for wrong in ("23000.0", "23,000.0", "22741.0", "99.0000"):
        assert wrong not in html


def test_the_target_history_shows_a_margin_as_a_percentage(client, users, quantity) -> None:  # noqa: ANN001
    TargetChange.objects.create(target=quantity, field="at_risk_margin", old_value="0.05", new_value="0.1")
    TargetChange.objects.create(target=quantity, field="target_value", old_value="23000", new_value="24000.5")
    client.force_login(users.bea)
    html = client.get(reverse("plans:target_update", args=["p23", "T01"])).content.decode()
    assert "<td>5%</td><td>10%</td>" in html
    assert "<td>23,000</td><td>24,000.5</td>" in html
