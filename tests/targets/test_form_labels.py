"""Form labels of the plan and indicator pages end with the page language's colon, set in one place
(``portal/labels.py``): "标题：" in Chinese (Django's own suffix is an ASCII ":"
there, "标题:"), "Title: " in English; a label followed by a value the same ("责任单位：…")."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section
from submissions.models import Period
from targets.models import Comparator, MilestoneStatus, Target, TargetKind


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    day = datetime.date(2023, 1, 1)
    Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)
    plan = Plan.objects.create(code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city,
                               status=PlanStatus.DRAFT)  # fmt: skip
    goals = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    rate = Indicator.objects.create(code="kg_rate", name="学前一年入园率")
    Target.objects.create(plan=plan, section=goals, code="T05", text="学前一年幼儿入园率达99%以上",
                          kind=TargetKind.THRESHOLD, indicator=rate, comparator=Comparator.GTE,
                          target_value=Decimal(99), scope=tree.city)  # fmt: skip
    Target.objects.create(plan=plan, section=goals, code="T16", text="第五小学2023年秋季交付办学",
                          kind=TargetKind.MILESTONE, scope=tree.city, owner_unit=tree.city,
                          milestone_status=MilestoneStatus.IN_PROGRESS)  # fmt: skip
    return plan


PAGES = [
    ("plans:plan_list", []),
    ("plans:plan_update", ["p23"]),
    ("plans:plan_import", []),
    ("plans:target_create", ["p23"]),
    ("plans:target_update", ["p23", "T05"]),
    ("plans:target_notes", ["p23", "T16"]),
    ("indicators:indicator_list", []),
    ("indicators:indicator_create", []),
    ("schools:orgunit_list", []),  # the generic list layout (templates/includes/object_list.html)
    ("password_change", []),
]


def labels(html: str) -> list[str]:
    main = html.split('<main id="main"', 1)[1]
    found = re.findall(r"<label[^>]*>(.*?)</label>", main, re.S)
    # A choice of a checkbox / radio list wraps its input: an option, not a field label.
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found if "<input" not in text]


def form_labels(html: str) -> list[str]:
    """Labels printed by ``label_tag`` (not the review form's hand-written ones, laid out above their field)."""
    return [text for text in labels(html) if text and not text.startswith(("审阅", "Review"))]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_chinese_labels_end_with_a_full_width_colon(client: Client, users, plan, name, args) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    found = form_labels(response.content.decode())
    assert found
    assert [text for text in found if text.endswith(":")] == []
    assert [text for text in found if not text.endswith(("：", "？"))] == []


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_english_labels_end_with_an_ascii_colon(client: Client, users, plan, name, args) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    client.cookies["django_language"] = "en"
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    found = form_labels(response.content.decode())
    assert found
    assert [text for text in found if "：" in text or not text.endswith((":", "?"))] == []


def test_a_label_before_a_value_follows_the_language(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("plans:target_notes", args=["p23", "T16"])
    assert "责任单位：市教育局" in client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    html = client.get(url).content.decode()
    assert "Responsible unit: 市教育局" in html
    assert "Milestone status: " in html
    path = client.get(reverse("plans:target_path", args=["p23", "T05"])).content.decode()
    assert "<h1>Quarterly expected path: 学前一年幼儿入园率达99%以上</h1>" in path
