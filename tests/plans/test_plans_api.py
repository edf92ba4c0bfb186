"""API v1 for plans, sections, targets and progress: natural keys, scope, errors, history."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from submissions.models import Period
from targets.models import Comparator, Target, TargetChange, TargetKind
from targets.progress import recompute_progress


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    plan = Plan.objects.create(code="p23", title="计划", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    goals = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    rate = Indicator.objects.create(code="kg_rate", name="入园率")
    Target.objects.create(plan=plan, section=goals, code="T05", text="入园率达99%以上", kind=TargetKind.THRESHOLD,
                          indicator=rate, comparator=Comparator.GTE, target_value=Decimal(99), scope=tree.city,
                          path_mode="flat")  # fmt: skip
    Target.objects.create(plan=plan, section=goals, code="D2-T1", text="西区目标", kind=TargetKind.NARRATIVE,
                          scope=tree.d2)  # fmt: skip
    return plan


def client_for(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_plans_and_sections_are_listed_by_code(users, plan) -> None:  # noqa: ANN001
    response = client_for(users.alice).get("/api/v1/plans/")
    assert response.status_code == 200
    assert response.json()["results"][0] == {
        "code": "p23", "title": "计划", "year": 2023, "owner_unit": "CITY", "parent": None, "status": "published",
        "guiding_ideas": "",
    }  # fmt: skip
    sections = client_for(users.alice).get("/api/v1/plans/p23/sections/").json()
    assert sections == [{"code": "goals", "title": "主要目标", "order": 1, "intro": ""}]


def test_only_bureau_staff_create_plans_and_sections(users, plan) -> None:  # noqa: ANN001
    body = {"code": "p24", "title": "2024", "year": 2024, "owner_unit": "CITY"}
    assert client_for(users.rita).post("/api/v1/plans/", body, format="json").status_code == 403
    assert client_for(users.bea).post("/api/v1/plans/", body, format="json").status_code == 201
    section = {"code": "equity", "title": "教育公平", "order": 2}
    assert client_for(users.ivan).post("/api/v1/plans/p23/sections/", section, format="json").status_code == 403
    assert client_for(users.bea).post("/api/v1/plans/p23/sections/", section, format="json").status_code == 201
    again = client_for(users.bea).post("/api/v1/plans/p23/sections/", section, format="json")
    assert again.status_code == 400
    assert "code" in again.json()["errors"]


def test_targets_outside_the_scope_are_hidden(users, plan) -> None:  # noqa: ANN001
    # rita (reviewer D1): both scopes (CITY, D2) are outside her subtree, she sees neither.
    # rob (reviewer D2) sees the D2 target only; ivan (inspector CITY) sees both.
    codes = lambda user: [t["code"] for t in client_for(user).get("/api/v1/plans/p23/targets/").json()]  # noqa: E731
    assert sorted(codes(users.ivan)) == ["D2-T1", "T05"]
    assert codes(users.rob) == ["D2-T1"]
    assert codes(users.rita) == []
    assert client_for(users.rita).get("/api/v1/plans/p23/targets/D2-T1/").status_code == 404


def test_bureau_creates_a_target_with_natural_keys(users, plan) -> None:  # noqa: ANN001
    body = {
        "code": "T06", "section": "goals", "text": "学前三年入园率达98%以上", "kind": "threshold",
        "indicator": "kg_rate", "comparator": "gte", "target_value": 98, "scope": "D1", "owner": "D1",
    }  # fmt: skip
    response = client_for(users.bea).post("/api/v1/plans/p23/targets/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["scope"], data["owner"], data["indicator"], data["target_value"], data["version"]) == (
        "D1",
        "D1",
        "kg_rate",
        98.0,
        1,
    )
    bad = client_for(users.bea).post("/api/v1/plans/p23/targets/", {**body, "code": "T07", "section": "nope"},
                                     format="json")  # fmt: skip
    assert bad.status_code == 400
    assert "section" in bad.json()["errors"]
    assert (
        client_for(users.rita).post("/api/v1/plans/p23/targets/", {**body, "code": "T08"}, format="json").status_code
        == 403
    )


def test_a_targets_assess_from_quarter_is_set_and_read_by_its_code(users, plan) -> None:  # noqa: ANN001
    day = datetime.date(2023, 7, 1)
    Period.objects.create(code="2023Q3", year=2023, quarter=3, opens_on=day, due_on=day, locks_on=day)
    body = {
        "code": "T07", "section": "goals", "text": "小学招收一年级新生23000人", "kind": "quantity",
        "indicator": "kg_rate", "comparator": "gte", "target_value": 23000, "assess_from": "2023Q3",
    }  # fmt: skip
    created = client_for(users.bea).post("/api/v1/plans/p23/targets/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["assess_from"] == "2023Q3"
    listed = {t["code"]: t for t in client_for(users.ivan).get("/api/v1/plans/p23/targets/").json()}
    assert (listed["T07"]["assess_from"], listed["T05"]["assess_from"]) == ("2023Q3", None)
    unknown = client_for(users.bea).post(
        "/api/v1/plans/p23/targets/", {**body, "code": "T08", "assess_from": "2023Q9"}, format="json"
    )
    assert unknown.status_code == 400
    assert "assess_from" in unknown.json()["errors"]


def test_patching_a_published_value_needs_reason_and_version(users, plan) -> None:  # noqa: ANN001
    url = "/api/v1/plans/p23/targets/T05/"
    client = client_for(users.bea)
    no_reason = client.patch(url, {"version": 1, "target_value": 98}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json() == {"errors": {"reason": ["已发布工作要点的目标值变更须填写原因。"]}}
    ok = client.patch(url, {"version": 1, "target_value": 98, "reason": "口径调整"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    stale = client.patch(url, {"version": 1, "owner_name": "x"}, format="json")
    assert stale.status_code == 409
    change = TargetChange.objects.get(target__code="T05", field="target_value")
    assert (change.old_value, change.new_value, change.reason) == ("99", "98", "口径调整")
    # writes outside the caller's admin scope are 403
    assert (
        client_for(users.rob).patch("/api/v1/plans/p23/targets/D2-T1/", {"version": 1}, format="json").status_code
        == 403
    )


def test_a_maximum_below_the_value_is_a_400_not_a_database_error(users, plan) -> None:  # noqa: ANN001
    # The API fuzzer's case: a "≥ 99" target sent only a maximum of 0 (the table's range rule, any comparator).
    body = {"version": 1, "text": "改写的目标", "reason": "调整", "target_value_max": 0}
    for language, message in (
        ("zh-hans", "目标上限不能小于目标值。"),
        ("en", "The target upper limit cannot be less than the target value."),
    ):
        response = client_for(users.bea).patch(
            "/api/v1/plans/p23/targets/T05/", body, format="json", HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 400
        assert response.json() == {"errors": {"target_value_max": [message]}}
    assert Target.objects.get(plan__code="p23", code="T05").version == 1


def test_progress_per_period_and_by_children(users, tree, plan) -> None:  # noqa: ANN001
    day = datetime.date(2023, 1, 1)
    q1 = Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)
    rate = Indicator.objects.get(code="kg_rate")
    for unit, value in ((tree.city, "99.5"), (tree.d1, "98")):
        IndicatorValue.objects.create(indicator=rate, org_unit=unit, period=q1, value=Decimal(value),
                                      computed_at=timezone.now())  # fmt: skip
    recompute_progress()

    response = client_for(users.ivan).get("/api/v1/plans/p23/targets/T05/progress/")
    assert response.status_code == 200
    period = response.json()["periods"][0]
    assert (period["period"], period["actual"], period["expected"], period["status"]) == ("2023Q1", 99.5, 99.0, "met")
    assert "children" not in period

    children = client_for(users.ivan).get("/api/v1/plans/p23/targets/T05/progress/?by=children").json()
    # D1 98 ≥ 99 × 0.95 → at risk; D2 has no value → no data.
    assert [(c["org_unit"], c["status"]) for c in children["periods"][0]["children"]] == [
        ("D1", "at_risk"), ("D2", "no_data")
    ]  # fmt: skip
    assert client_for(users.rob).get("/api/v1/plans/p23/targets/T05/progress/").status_code == 404


def test_errors_are_translated_per_accept_language(users, plan) -> None:  # noqa: ANN001
    client = client_for(users.bea)
    response = client.patch("/api/v1/plans/p23/targets/T05/", {"version": 1, "target_value": 98}, format="json",
                            HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]


def test_failing_units_are_shown_with_their_values(users, tree, plan) -> None:  # noqa: ANN001
    """Thresholds' failing lists are stored without values (an approval moving a value rewrites no list); the API
    shows each school's value as it always did, joined from its indicator value of the quarter."""
    day = datetime.date(2023, 1, 1)
    q1 = Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)
    rate = Indicator.objects.get(code="kg_rate")
    Target.objects.filter(code="T05").update(applies_to_each_unit=True)
    for unit, value in ((tree.city, "98.5"), (tree.d1, "98"), (tree.s1, "100"), (tree.s2, "96.12346")):
        IndicatorValue.objects.create(indicator=rate, org_unit=unit, period=q1, value=Decimal(value),
                                      computed_at=timezone.now())  # fmt: skip
    recompute_progress()

    detail = client_for(users.ivan).get("/api/v1/plans/p23/targets/T05/progress/").json()["periods"][0]["detail"]
    assert detail["failing_units"] == [{"code": "S2", "name": tree.s2.name, "value": 96.1235}]
    assert (detail["failing_count"], detail["units_checked"]) == (1, 2)
    children = client_for(users.ivan).get("/api/v1/plans/p23/targets/T05/progress/?by=children").json()
    d1 = next(c for c in children["periods"][0]["children"] if c["org_unit"] == "D1")
    assert d1["detail"]["failing_units"] == [{"code": "S2", "name": tree.s2.name, "value": 96.1235}]
