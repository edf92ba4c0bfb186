"""Copying a plan to a new year: structure, targets in order with their links and owners, baselines from last
year's actuals, a draft; bad input refused with nothing written; the page and the API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.test import APIClient

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section, WorkItem
from portal.errors import ServiceError
from submissions.models import Period
from targets import targets_service
from targets.models import (
    Comparator,
    EachUnitLevel,
    MilestoneStatus,
    PathMode,
    Progress,
    Rhythm,
    Target,
    TargetChange,
    TargetKind,
    TargetPathPoint,
)
from targets.plan_copy import copy_plan
from targets.progress import recompute_progress

D = Decimal


def make_period(year: int, quarter: int) -> Period:
    start = datetime.date(year, 3 * quarter - 2, 1)
    return Period.objects.create(
        code=Period.code_for(year, quarter), year=year, quarter=quarter, opens_on=start, due_on=start, locks_on=start
    )


@pytest.fixture
def source(tree, users):  # noqa: ANN001, ANN201
    """Plan p2023 (published): two sections, a work item, four targets (one part of another), last year's values."""
    quarters = [make_period(2023, q) for q in range(1, 5)]
    for quarter in (1, 2, 3):  # 2024Q4 is not defined yet
        make_period(2024, quarter)
    plan = Plan.objects.create(
        code="plan-2023", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED,
        guiding_ideas="以习近平新时代中国特色社会主义思想为指导",
    )  # fmt: skip
    goals = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    equity = Section.objects.create(plan=plan, code="equity", title="教育公平", order=2, intro="导语")
    item = WorkItem.objects.create(section=equity, number=1, title="扩大学前教育资源", text="新建幼儿园20所")
    rate = Indicator.objects.create(code="kg_rate", name="入园率")
    entrants = Indicator.objects.create(code="entrants", name="招生数", aggregation="sum", numerator="x")
    service = targets_service.create_target
    t_rate = service(users.bea, plan, {
        "section": goals, "code": "T01", "text": "学前三年毛入园率达92%", "kind": TargetKind.THRESHOLD,
        "indicator": rate, "comparator": Comparator.GTE, "target_value": D(92), "baseline_value": D(80),
        "baseline_period": None, "order": 1, "owner_unit": tree.d1, "owner_name": "基教科", "owner_user": users.rita,
        "assess_from": quarters[2], "due_period": quarters[3],
    })  # fmt: skip
    t_total = service(users.bea, plan, {
        "section": equity, "work_item": item, "code": "T02", "text": "招生23000人", "kind": TargetKind.QUANTITY,
        "indicator": entrants, "comparator": Comparator.GTE, "target_value": D(23000), "order": 2, "scope": tree.d1,
        "path_mode": PathMode.MILESTONES,
    })  # fmt: skip
    t_sub = service(users.bea, plan, {
        "section": equity, "work_item": item, "code": "T02-1", "text": "其中外来生2000人",
        "kind": TargetKind.QUANTITY, "indicator": entrants, "comparator": Comparator.GTE, "target_value": D(2000),
        "order": 3, "part_of": t_total, "applies_to_each_unit": False,
    })  # fmt: skip
    t_milestone = service(users.bea, plan, {
        "section": equity, "code": "T03", "text": "秋季交付新校", "kind": TargetKind.MILESTONE, "order": 4,
        "due_date": datetime.date(2023, 9, 30), "milestone_status": MilestoneStatus.DONE, "start_month": 3,
        "due_month": 9, "completed_on": datetime.date(2023, 9, 20),
    })  # fmt: skip
    TargetPathPoint.objects.create(target=t_total, period=quarters[0], expected_value=D(5000))
    TargetPathPoint.objects.create(target=t_total, period=quarters[3], expected_value=D(23000))
    now = timezone.now()
    # kg_rate at CITY: Q1..Q4 (Q4 = 93.25); at D1 a different value that must not be taken.
    for period, city, d1 in zip(quarters, (88, 90, 91, "93.25"), (70, 71, 72, 73), strict=True):
        IndicatorValue.objects.create(indicator=rate, org_unit=tree.city, period=period, value=D(city), computed_at=now)
        IndicatorValue.objects.create(indicator=rate, org_unit=tree.d1, period=period, value=D(d1), computed_at=now)
    # entrants at D1 (T02's scope) only in Q1 and Q2: the latest quarter with a value is Q2.
    for period, number in zip(quarters[:2], (5000, 12000), strict=True):
        IndicatorValue.objects.create(indicator=entrants, org_unit=tree.d1, period=period, value=D(number),
                                      computed_at=now)  # fmt: skip
    recompute_progress()
    return {"plan": plan, "targets": (t_rate, t_total, t_sub, t_milestone)}


def test_the_copy_has_the_structure_targets_links_and_owners_as_a_draft(users, tree, source) -> None:  # noqa: ANN001
    copy = copy_plan(users.bea, source["plan"], "plan-2024", 2024, "2024年工作要点")

    assert (copy.year, copy.status, copy.owner_unit, copy.guiding_ideas) == (
        2024, PlanStatus.DRAFT, tree.city, source["plan"].guiding_ideas
    )  # fmt: skip
    assert list(copy.sections.values_list("code", "title", "order", "intro")) == [
        ("goals", "主要目标", 1, ""), ("equity", "教育公平", 2, "导语")
    ]  # fmt: skip
    assert list(WorkItem.objects.filter(section__plan=copy).values_list("section__code", "number", "text")) == [
        ("equity", 1, "新建幼儿园20所")
    ]
    targets = list(Target.objects.filter(plan=copy).order_by("order"))
    assert [t.code for t in targets] == ["T01", "T02", "T02-1", "T03"]
    rate, total, sub, milestone = targets
    assert (rate.owner_unit, rate.owner_name, rate.owner_user) == (tree.d1, "基教科", users.rita)
    assert (getattr(rate.indicator, "code", None), rate.target_value, rate.comparator) == (
        "kg_rate",
        D(92),
        Comparator.GTE,
    )
    assert total.scope == tree.d1
    assert sub.part_of == total  # the link points inside the copy
    assert total.work_item is not None
    assert total.work_item.section.plan == copy
    assert getattr(rate.assess_from, "code", None) == "2024Q3"
    assert rate.due_period is None  # 2024Q4 is not defined yet
    assert milestone.due_date == datetime.date(2024, 9, 30)
    assert milestone.milestone_status == MilestoneStatus.NOT_STARTED
    assert (milestone.start_month, milestone.due_month, milestone.completed_on) == (3, 9, None)
    # Created through the target service: each has its history row and computed progress.
    assert TargetChange.objects.filter(target__plan=copy, field="created").count() == 4
    assert Progress.objects.filter(target=rate).exists()
    # Path points move to the same quarter of the new year when it exists.
    assert list(TargetPathPoint.objects.filter(target=total).values_list("period__code", "expected_value")) == [
        ("2024Q1", D(5000))
    ]
    # The source is untouched.
    assert source["plan"].targets.count() == 4
    assert Plan.objects.get(code="plan-2023").status == PlanStatus.PUBLISHED


def test_baselines_are_last_years_actuals_at_each_targets_scope(users, source) -> None:  # noqa: ANN001
    copy = copy_plan(users.bea, source["plan"], "plan-2024", 2024, "2024年工作要点")
    rate, total, sub, milestone = Target.objects.filter(plan=copy).order_by("order")
    assert (rate.baseline_value, getattr(rate.baseline_period, "code", None)) == (
        D("93.25"),
        "2023Q4",
    )  # Q4 at CITY, not D1's 73
    assert (total.baseline_value, getattr(total.baseline_period, "code", None)) == (
        D(12000),
        "2023Q2",
    )  # latest quarter with a value
    assert (sub.baseline_value, sub.baseline_period) == (None, None)  # no value at its scope (CITY) last year
    assert (milestone.baseline_value, milestone.baseline_period) == (None, None)


@pytest.mark.parametrize(
    ("code", "year", "title", "field"),
    [
        ("plan-2023", 2024, "标题", "code"),  # taken
        ("bad code!", 2024, "标题", "code"),
        ("", 2024, "标题", "code"),
        ("plan-2024", 2023, "标题", "year"),  # not after the source's year
        ("plan-2024", 2022, "标题", "year"),
        ("plan-2024", "明年", "标题", "year"),
        ("plan-2024", 2024, "  ", "title"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(users, source, code, year, title, field) -> None:  # noqa: ANN001
    before = (Plan.objects.count(), Section.objects.count(), Target.objects.count())
    with pytest.raises(ServiceError) as caught:
        copy_plan(users.bea, source["plan"], code, year, title)
    assert field in caught.value.errors
    assert (Plan.objects.count(), Section.objects.count(), Target.objects.count()) == before


def test_only_bureau_admins_of_the_plans_unit_copy(users, source) -> None:  # noqa: ANN001
    for user in (users.rita, users.ivan, users.alice, users.nobody):
        with pytest.raises(PermissionDenied):
            copy_plan(user, source["plan"], "plan-2024", 2024, "2024")
    assert not Plan.objects.filter(code="plan-2024").exists()


def test_a_refusal_half_way_rolls_the_whole_copy_back(users, tree, source, monkeypatch) -> None:  # noqa: ANN001
    real = targets_service.create_target
    calls = []

    def refuse_third(user, plan, fields, **kwargs):  # noqa: ANN001, ANN003, ANN202
        calls.append(fields["code"])
        if len(calls) == 3:
            raise ServiceError({"code": ["refused"]})
        return real(user, plan, fields, **kwargs)

    monkeypatch.setattr(targets_service, "create_target", refuse_third)
    with pytest.raises(ServiceError):
        copy_plan(users.bea, source["plan"], "plan-2024", 2024, "2024")
    assert not Plan.objects.filter(code="plan-2024").exists()
    assert Target.objects.count() == 4


# --- Page and API ---


def test_the_plan_page_links_to_the_copy_form_which_suggests_next_year(client, users, source) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    assert "/plans/plan-2023/copy/" in client.get("/plans/plan-2023/").content.decode()
    form = client.get("/plans/plan-2023/copy/").content.decode()
    assert 'value="plan-2024"' in form
    assert 'value="2024年工作要点"' in form


def test_the_form_copies_and_opens_the_new_plan(client, users, source) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    response = client.post("/plans/plan-2023/copy/", {"code": "plan-2024", "year": "2024", "title": "2024年工作要点"})
    assert response.status_code == 302
    assert response["Location"] == "/plans/plan-2024/"
    assert Plan.objects.get(code="plan-2024").targets.count() == 4


def test_the_form_shows_the_services_errors(client, users, source) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    response = client.post("/plans/plan-2023/copy/", {"code": "plan-2023", "year": "2023", "title": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "已有代码为 plan-2023 的工作要点。" in html
    assert "新年度须晚于原工作要点的年度（2023年）。" in html
    assert Plan.objects.count() == 1


def test_others_get_403_on_the_page(client, users, source) -> None:  # noqa: ANN001
    client.force_login(users.rita)
    assert client.get("/plans/plan-2023/copy/").status_code == 403
    assert "/plans/plan-2023/copy/" not in client.get("/plans/plan-2023/").content.decode()
    response = client.post("/plans/plan-2023/copy/", {"code": "plan-2024", "year": "2024", "title": "x"})
    assert response.status_code == 403
    assert Plan.objects.count() == 1


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_copies_with_201(users, source) -> None:  # noqa: ANN001
    body = {"code": "plan-2024", "year": 2024, "title": "2024年工作要点"}
    response = api(users.bea).post("/api/v1/plans/plan-2023/copy/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "code": "plan-2024", "title": "2024年工作要点", "year": 2024, "owner_unit": "CITY", "parent": None,
        "status": "draft", "guiding_ideas": source["plan"].guiding_ideas,
    }  # fmt: skip
    assert Target.objects.filter(plan__code="plan-2024").count() == 4


def test_the_api_refuses_bad_input_translated_and_others_with_403(users, source) -> None:  # noqa: ANN001
    url = "/api/v1/plans/plan-2023/copy/"
    bad = api(users.bea).post(url, {"code": "plan-2023", "year": 2023, "title": "x"}, format="json",
                              HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert errors["code"] == ["A plan with the code plan-2023 exists already."]
    assert errors["year"] == ["The new year must come after the plan's year (2023)."]
    body = {"code": "plan-2024", "year": 2024, "title": "x"}
    assert api(users.rita).post(url, body, format="json").status_code == 403
    assert api(users.bea).post("/api/v1/plans/nope/copy/", body, format="json").status_code == 404
    assert Plan.objects.count() == 1


def test_links_to_last_years_parent_plan_are_left_for_the_bureau_to_set(users, tree, source) -> None:  # noqa: ANN001
    city = source["plan"]
    city_target = city.targets.get(code="T01")
    district = Plan.objects.create(
        code="d1-2023", title="东区2023年工作要点", year=2023, owner_unit=tree.d1, parent=city
    )
    section = Section.objects.create(plan=district, code="goals", title="主要目标")
    targets_service.create_target(users.bea, district, {
        "section": section, "code": "D1-T01", "text": "东区入园率达93%", "kind": TargetKind.THRESHOLD,
        "comparator": Comparator.GTE, "target_value": D(93), "contributes_to": city_target,
    })  # fmt: skip

    copy = copy_plan(users.bea, district, "d1-2024", 2024, "东区2024年工作要点")
    assert copy.parent is None
    assert copy.targets.get(code="D1-T01").contributes_to is None

    # A parent plan of the new year already (the district plan was written against it): kept, links too.
    city.year = 2024
    city.save(update_fields=["year"])
    district.refresh_from_db()
    again = copy_plan(users.bea, district, "d1-2024b", 2024, "东区2024年工作要点")
    assert again.parent == city
    assert again.targets.get(code="D1-T01").contributes_to == city_target


def test_a_per_unit_rule_keeps_its_level_rhythm_and_range_reading(users, tree, source) -> None:  # noqa: ANN001
    """ "东城区每个学区每月开展一次…": without its level and rhythm the copy would be refused (issue 13 §3)."""
    lessons = Indicator.objects.create(code="lessons", name="示范课次数", unit="次", aggregation="sum", numerator="x")
    plan = source["plan"]
    targets_service.create_target(users.bea, plan, {
        "section": plan.sections.get(code="goals"), "code": "T09", "text": "每个学区每月开展一次示范课",
        "kind": TargetKind.FREQUENCY, "indicator": lessons, "scope": tree.d1, "per_unit_minimum": D(1),
        "rhythm": Rhythm.MONTH, "each_unit_level": EachUnitLevel.TOWNSHIP, "order": 9,
    })  # fmt: skip

    copy = copy_plan(users.bea, plan, "plan-2024", 2024, "2024年工作要点")

    copied = Target.objects.get(plan=copy, code="T09")
    assert (copied.rhythm, copied.each_unit_level, copied.range_is_ceiling) == (
        Rhythm.MONTH, EachUnitLevel.TOWNSHIP, False,
    )  # fmt: skip
