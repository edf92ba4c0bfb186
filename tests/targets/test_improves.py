"""Comparator ``improves`` ("有一定提高"): strictly better than a baseline — the same quarter a year earlier unless the
target gives one — in the direction the target says; refused where no baseline can exist; every channel."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from portal.errors import ServiceError
from reports.xlsx import build_workbook
from schools.models import OrgUnit
from submissions.models import Period
from targets import targets_service as service
from targets.models import Comparator, Direction, PlanDraft, Progress, Target, TargetKind
from targets.plan_copy import copy_plan
from targets.progress import recompute_progress, recompute_progress_for_unit
from targets.queries import TargetRow
from targets.workbook import TARGET_SHEET, export_plan, import_plan

D = Decimal


def make_year(year: int) -> list[Period]:
    result = []
    for q in range(1, 5):
        day = datetime.date(year, 3 * q - 2, 1)
        result.append(
            Period.objects.create(code=f"{year}Q{q}", year=year, quarter=q, opens_on=day, due_on=day, locks_on=day)
        )
    return result


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    return Plan.objects.create(code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city,
                               status=PlanStatus.DRAFT)  # fmt: skip


@pytest.fixture
def section(plan: Plan) -> Section:
    return Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)


@pytest.fixture
def rate(db: None) -> Indicator:
    return Indicator.objects.create(code="board_rate", name="留守学生入住率", unit="%", decimals=1)


def values(ind: Indicator, unit: OrgUnit, periods: list[Period], numbers: list[object]) -> None:
    for period, number in zip(periods, numbers, strict=True):
        if number is not None:
            IndicatorValue.objects.create(
                indicator=ind, org_unit=unit, period=period, value=D(str(number)), computed_at=timezone.now()
            )


def improves(section: Section, indicator: Indicator | None, **extra: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "section": section, "code": "T09", "text": "提高全县寄宿制学校留守学生入住率", "kind": TargetKind.THRESHOLD,
        "indicator": indicator, "comparator": Comparator.IMPROVES,
    }  # fmt: skip
    fields.update(extra)
    return fields


def rows(target: Target, unit: OrgUnit) -> list[Progress]:
    return list(Progress.objects.filter(target=target, org_unit=unit).order_by("period__quarter"))


# --- The target service ---


def test_improves_without_a_baseline_period_is_refused_and_nothing_stored(users, section, rate) -> None:  # noqa: ANN001
    make_year(2023)  # no quarter of 2022: nothing to compare with
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, section.plan, improves(section, rate))
    assert caught.value.errors["baseline_period"] == [
        "没有2022年的统计周期，无法与上年同期比较：请填写基线值或基线周期。"
    ]
    assert not Target.objects.exists()
    # An explicit baseline value is enough.
    target = service.create_target(users.bea, section.plan, improves(section, rate, baseline_value=D("60.5")))
    assert target.comparator == Comparator.IMPROVES


def test_improves_is_refused_with_a_target_value_or_for_a_kind_it_cannot_judge(users, section, rate) -> None:  # noqa: ANN001
    make_year(2022)
    quarters = make_year(2023)
    with pytest.raises(ServiceError) as caught:
        service.create_target(
            users.bea, section.plan, improves(section, rate, target_value=D(90), applies_to_each_unit=True)
        )
    assert set(caught.value.errors) == {"target_value", "applies_to_each_unit"}
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, section.plan, improves(section, None, kind=TargetKind.FREQUENCY))
    assert "comparator" in caught.value.errors
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, section.plan, improves(section, rate, baseline_period=quarters[3]))
    assert caught.value.errors["baseline_period"] == ["基线周期须早于完成期限。"]
    assert not Target.objects.exists()


def test_update_to_improves_is_checked_by_the_same_rules(users, section, rate) -> None:  # noqa: ANN001
    make_year(2023)
    target = service.create_target(
        users.bea, section.plan, improves(section, rate, comparator=Comparator.GTE, target_value=D(90))
    )
    with pytest.raises(ServiceError) as caught:
        service.update_target(
            users.bea, target, {"comparator": Comparator.IMPROVES, "target_value": None}, version=target.version
        )
    assert "baseline_period" in caught.value.errors
    target.refresh_from_db()
    assert (target.comparator, target.target_value) == (Comparator.GTE, D(90))


# --- Progress ---


def test_higher_is_better_met_only_when_strictly_above_last_years_same_quarter(tree, section, rate) -> None:  # noqa: ANN001
    last, this = make_year(2022), make_year(2023)
    values(rate, tree.city, last, [60, 61, 62, 63])
    # Q1 better; Q2 equal (not better: at risk before the due quarter); Q3 far below; Q4 equal at the due quarter.
    values(rate, tree.city, this, [61.2, 61, 50, 63])
    t = Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate))
    recompute_progress()
    got = rows(t, tree.city)
    assert [r.status for r in got] == ["met", "at_risk", "off_track", "off_track"]
    first = got[0].typed_detail
    assert (first.baseline, first.baseline_period, first.change) == (60.0, "2022Q1", 1.2)
    assert got[0].expected == D(60)
    # Each district is judged against its own last year.
    values(rate, tree.d1, last, [50, None, None, None])
    values(rate, tree.d1, this, [45, None, None, None])  # 10 % below: beyond the 5 % margin
    recompute_progress()
    assert rows(t, tree.d1)[0].status == "off_track"


def test_lower_is_better(tree, section, rate) -> None:  # noqa: ANN001
    last, this = make_year(2022), make_year(2023)
    values(rate, tree.city, last, [5, 5, 5, 5])
    values(rate, tree.city, this, [4, 6, 5.1, None])
    t = Target.objects.create(plan=section.plan, scope=tree.city, direction=Direction.LOWER,
                              **improves(section, rate, text="辍学率有所下降"))  # fmt: skip
    recompute_progress()
    got = rows(t, tree.city)
    assert [r.status for r in got] == ["met", "off_track", "at_risk", "no_data"]
    assert got[0].typed_detail.change == -1.0


def test_no_baseline_value_yet_is_no_data_with_a_reason_never_met(tree, section, rate) -> None:  # noqa: ANN001
    make_year(2022)  # the quarters exist, their values do not
    this = make_year(2023)
    values(rate, tree.city, this, [70, None, None, None])
    t = Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate))
    recompute_progress()
    row = rows(t, tree.city)[0]
    assert row.status == "no_data"
    assert row.actual == D(70)
    assert row.typed_detail.reason == "no_baseline"
    assert row.typed_detail.baseline is None
    shown = TargetRow(t, row.actual, row.expected, row.status, [], reason=row.typed_detail.reason)
    assert shown.improvement_text == ""
    assert "尚无基线数值" in shown.reason_text


def test_explicit_baseline_value_and_period(tree, section, rate) -> None:  # noqa: ANN001
    this = make_year(2023)
    values(rate, tree.city, this, [80, 80, 80, 80])
    by_value = Target.objects.create(plan=section.plan, scope=tree.city, baseline_value=D("79.5"),
                                     **improves(section, rate))  # fmt: skip
    # A baseline quarter inside the plan year: Q1's value is the one to beat.
    values(rate, tree.d1, this, [70, 70, 71, None])
    by_period = Target.objects.create(plan=section.plan, scope=tree.d1, baseline_period=this[0],
                                      **improves(section, rate, code="T10"))  # fmt: skip
    recompute_progress()
    assert [r.status for r in rows(by_value, tree.city)] == ["met"] * 4
    assert rows(by_value, tree.city)[0].typed_detail.baseline_period is None
    assert [r.status for r in rows(by_period, tree.d1)] == ["at_risk", "at_risk", "met", "no_data"]
    assert rows(by_period, tree.d1)[2].typed_detail.baseline_period == "2023Q1"


def test_pages_say_by_how_much(tree, section, rate) -> None:  # noqa: ANN001
    last, this = make_year(2022), make_year(2023)
    values(rate, tree.city, last, [60, None, None, None])
    values(rate, tree.city, this, [61.2, None, None, None])
    t = Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate))
    count = Target.objects.create(
        plan=section.plan, scope=tree.city, baseline_value=D(120),
        **improves(section, Indicator.objects.create(code="n", name="人数", unit="人"), code="T11",
                   kind=TargetKind.QUANTITY),
    )  # fmt: skip
    recompute_progress()
    row = rows(t, tree.city)[0]
    shown = TargetRow(t, row.actual, row.expected, row.status, [])
    assert shown.improvement_text == "+1.2 个百分点 较上年同期"
    assert shown.target_text == "较上年同期提高"
    people = TargetRow(count, D(117), D(120), "off_track", [])
    assert people.improvement_text == "-3 人 较基线"


def test_dashboard_target_page_and_workbook_show_the_change(users, tree, section, rate) -> None:  # noqa: ANN001
    section.plan.status = PlanStatus.PUBLISHED
    section.plan.save()
    last, this = make_year(2022), make_year(2023)
    values(rate, tree.city, last, [60, 60, 60, 60])
    values(rate, tree.city, this, [61.2, 61.2, 61.2, 61.2])
    Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate))
    recompute_progress()
    client = APIClient()
    client.force_login(users.bea)
    dashboard = client.get("/reports/?plan=p23&period=2023Q1").content.decode()
    assert "+1.2 个百分点 较上年同期" in dashboard
    page = client.get("/reports/plans/p23/targets/T09/?period=2023Q1").content.decode()
    assert "+1.2 个百分点 较上年同期" in page
    assert "较上年同期提高" in page
    plan_page = client.get(reverse("plans:plan_detail", args=["p23"]) + "?period=2023Q1").content.decode()
    assert "+1.2 个百分点 较上年同期" in plan_page
    out = io.BytesIO()
    build_workbook(section.plan, tree.city, this[0], out)
    sheet = load_workbook(io.BytesIO(out.getvalue()))["主要目标"]
    cells = [cell.value for row in sheet.iter_rows(min_row=4) for cell in row]
    assert "较上年同期提高" in cells  # the 比较 column
    assert "+1.2 个百分点 较上年同期" in cells  # the notes column


# --- The API, the plan workbook, plan drafts ---


def test_api_creates_an_improves_target_and_refuses_one_without_baseline(users, tree, section, rate) -> None:  # noqa: ANN001
    make_year(2023)
    client = APIClient()
    client.force_authenticate(users.bea)
    body = {"code": "T09", "section": "goals", "text": "辍学率有所下降", "kind": "threshold",
            "indicator": "board_rate", "comparator": "improves", "direction": "lower"}  # fmt: skip
    refused = client.post("/api/v1/plans/p23/targets/", body, format="json")
    assert refused.status_code == 400
    assert "baseline_period" in refused.json()["errors"]
    assert not Target.objects.exists()
    make_year(2022)
    response = client.post("/api/v1/plans/p23/targets/", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["comparator"], response.json()["direction"]) == ("improves", "lower")
    target = Target.objects.get()
    assert (target.comparator, target.direction) == (Comparator.IMPROVES, Direction.LOWER)


def test_api_patch_turns_a_target_into_improves_by_the_same_rules(users, tree, section, rate) -> None:  # noqa: ANN001
    make_year(2023)
    target = Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate,
                                   comparator=Comparator.GTE, target_value=D(90)))  # fmt: skip
    client = APIClient()
    client.force_authenticate(users.bea)
    change = {"version": target.version, "comparator": "improves", "target_value": None, "direction": "lower"}
    refused = client.patch("/api/v1/plans/p23/targets/T09/", change, format="json")
    assert refused.status_code == 400
    assert "baseline_period" in refused.json()["errors"]
    target.refresh_from_db()
    assert (target.comparator, target.direction) == (Comparator.GTE, "")
    make_year(2022)
    response = client.patch("/api/v1/plans/p23/targets/T09/", change, format="json")
    assert response.status_code == 200, response.content
    target.refresh_from_db()
    assert (target.comparator, target.direction, target.target_value) == (Comparator.IMPROVES, Direction.LOWER, None)


def test_plan_workbook_row_with_improves(users, tree, section, rate) -> None:  # noqa: ANN001
    make_year(2022)
    make_year(2023)
    Target.objects.create(plan=section.plan, scope=tree.city, direction=Direction.LOWER,
                          **improves(section, rate))  # fmt: skip
    content = export_plan(section.plan)
    sheet = load_workbook(io.BytesIO(content))[TARGET_SHEET]
    headers = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=headers.index("比较") + 1).value == "较上年有提高"
    assert sheet.cell(row=2, column=headers.index("改进方向") + 1).value == "越低越好（降低）"
    Target.objects.all().delete()
    import_plan(users.bea, io.BytesIO(content))
    target = Target.objects.get()
    assert (target.comparator, target.direction) == (Comparator.IMPROVES, Direction.LOWER)
    # The same rule as the form and the API: without an earlier year the row is refused at its cell.
    Target.objects.all().delete()
    Period.objects.filter(year=2022).delete()
    with pytest.raises(ServiceError) as caught:
        import_plan(users.bea, io.BytesIO(content))
    assert any("无法与上年同期比较" in message for messages in caught.value.errors.values() for message in messages)
    assert not Target.objects.exists()


IMPROVE_PLAN = "2024年工作要点\n一、主要目标\n1.提升质量。全县寄宿制学校留守学生入住率有一定提高，辍学率有所降低。\n"


@pytest.mark.django_db
def test_draft_commit_through_the_api_creates_a_working_improves_target(users, tree) -> None:  # noqa: ANN001
    make_year(2023)
    this = make_year(2024)
    client = APIClient()
    client.force_authenticate(users.bea)
    body = client.post("/api/v1/plan-drafts/", {"text": IMPROVE_PLAN}, format="json").json()
    proposed = [t for t in body["targets"] if t["comparator"] == "improves"]
    assert {(t["kind"], t["direction"]) for t in proposed} >= {("threshold", "higher")}
    assert any(t["direction"] == "lower" for t in proposed)
    response = client.post(f"/api/v1/plan-drafts/{body['id']}/commit/", {"version": body["version"]}, format="json")
    assert response.status_code == 201, response.content
    created = Target.objects.filter(comparator=Comparator.IMPROVES, text__contains="入住率").get()
    assert created.direction == Direction.HIGHER
    assert created.target_value is None
    # It works: with an indicator and values it is judged against last year.
    rate = Indicator.objects.create(code="board_rate", name="入住率", unit="%", decimals=1)
    values(rate, tree.city, list(Period.objects.filter(year=2023).order_by("quarter")), [50, None, None, None])
    values(rate, tree.city, this, [55, None, None, None])
    Target.objects.filter(pk=created.pk).update(indicator=rate)
    recompute_progress(target_ids=[created.pk])
    assert rows(created, tree.city)[0].status == "met"


@pytest.mark.django_db
def test_draft_review_page_commits_an_improves_target(users, tree) -> None:  # noqa: ANN001
    from tests.targets.test_plan_draft_pages import browser, form_data, paste

    make_year(2023)
    make_year(2024)
    client = browser(users.bea)
    draft = paste(client, IMPROVE_PLAN)
    page = client.get(f"/plans/drafts/{draft.pk}/").content.decode()
    index = next(i for i, t in enumerate(draft.data["targets"]) if "入住率" in t["text"])
    assert f'name="t-{index}-direction"' in page
    response = client.post(f"/plans/drafts/{draft.pk}/", form_data(draft, action="commit"))
    assert response.status_code == 302, response.content.decode()[:3000]
    target = Target.objects.get(text=draft.data["targets"][index]["text"])
    assert (target.kind, target.comparator, target.direction) == ("threshold", "improves", "higher")


@pytest.mark.django_db
def test_without_last_years_quarters_a_draft_proposes_qualitative_work(users) -> None:  # noqa: ANN001
    make_year(2024)
    client = APIClient()
    client.force_authenticate(users.bea)
    body = client.post("/api/v1/plan-drafts/", {"text": IMPROVE_PLAN}, format="json").json()
    assert not any(t["comparator"] == "improves" for t in body["targets"])
    stored = PlanDraft.objects.get().data["targets"]
    assert any(t["suggested_comparator"] == "improves" and t["kind"] == "narrative" for t in stored)
    response = client.post(f"/api/v1/plan-drafts/{body['id']}/commit/", {"version": body["version"]}, format="json")
    assert response.status_code == 201, response.content


def test_the_target_form_creates_improves_and_refuses_it_without_baseline(users, tree, section, rate) -> None:  # noqa: ANN001
    make_year(2023)
    client = Client()
    client.force_login(users.bea)
    body = {"section": section.pk, "code": "T09", "text": "辍学率有所降低", "kind": "threshold", "indicator": rate.pk,
            "comparator": "improves", "direction": "lower", "path_mode": "linear", "at_risk_margin": "0.05",
            "order": "9", "scope": tree.city.pk}  # fmt: skip
    url = reverse("plans:target_create", args=["p23"])
    refused = client.post(url, body)
    assert refused.status_code == 200
    assert "无法与上年同期比较" in refused.content.decode()
    assert not Target.objects.exists()
    form = client.get(url).content.decode()
    assert 'data-field="direction"' in form
    make_year(2022)
    assert client.post(url, body).status_code == 302
    target = Target.objects.get()
    assert (target.comparator, target.direction) == (Comparator.IMPROVES, Direction.LOWER)


def test_a_changed_value_of_last_year_updates_this_years_status(tree, section, rate) -> None:  # noqa: ANN001
    last, this = make_year(2022), make_year(2023)
    values(rate, tree.city, this, [61, None, None, None])
    t = Target.objects.create(plan=section.plan, scope=tree.city, **improves(section, rate))
    recompute_progress()
    assert rows(t, tree.city)[0].typed_detail.reason == "no_baseline"
    # Last year's Q1 value arrives (an approval's recompute names only the 2022 quarter).
    values(rate, tree.city, last, [60, None, None, None])
    recompute_progress(period_ids=[last[0].pk], indicator_ids=[rate.pk])
    assert rows(t, tree.city)[0].status == "met"
    # The approval's own run (the unit and its ancestors) does the same.
    IndicatorValue.objects.filter(indicator=rate, org_unit=tree.city, period=last[0]).update(value=D(62))
    recompute_progress_for_unit(
        unit_ids=[tree.city.pk], changed_unit_id=tree.city.pk, period_ids=[last[0].pk], indicator_ids=[rate.pk],
        previous={},
    )  # fmt: skip
    assert rows(t, tree.city)[0].status == "at_risk"  # 61 vs 62: within 5 %


def test_a_copied_plan_keeps_improves_against_the_same_quarter_last_year(users, tree, section, rate) -> None:  # noqa: ANN001
    make_year(2022)
    this = make_year(2023)
    make_year(2024)
    values(rate, tree.city, this, [61, 61, 61, 61])
    Target.objects.create(plan=section.plan, scope=tree.city, direction=Direction.LOWER, **improves(section, rate))
    recompute_progress()
    copy = copy_plan(users.bea, section.plan, "p24", 2024, "2024年工作要点")
    copied = Target.objects.get(plan=copy)
    assert (copied.comparator, copied.direction) == (Comparator.IMPROVES, Direction.LOWER)
    assert (copied.baseline_value, copied.baseline_period) == (None, None)
