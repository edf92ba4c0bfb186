"""The plan page with its targets and status, editing a target (bureau staff), the preview, notes by owners;
also plans' own section, work item and workbook pages, which need the same plan with targets."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from indicators.models import Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section, WorkItem
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import Period
from targets.models import Comparator, MilestoneStatus, Progress, Target, TargetChange, TargetKind, TargetNote
from targets.progress import recompute_progress


@pytest.fixture
def q1(db: None) -> Period:
    day = datetime.date(2023, 1, 1)
    return Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)


@pytest.fixture
def plan(tree, q1) -> Plan:  # noqa: ANN001
    plan = Plan.objects.create(code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city,
                               status=PlanStatus.PUBLISHED)  # fmt: skip
    goals = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    equity = Section.objects.create(plan=plan, code="equity", title="教育公平", order=2)
    item = WorkItem.objects.create(section=equity, number=1, title="扩大小学教育资源", text="第五小学……")
    rate = Indicator.objects.create(code="kg_rate", name="学前一年入园率")
    IndicatorValue.objects.create(indicator=rate, org_unit=tree.city, period=q1, value=Decimal("97"),
                                  computed_at=timezone.now())  # fmt: skip
    Target.objects.create(plan=plan, section=goals, code="T05", text="学前一年幼儿入园率达99%以上",
                          kind=TargetKind.THRESHOLD, indicator=rate, comparator=Comparator.GTE,
                          target_value=Decimal(99), scope=tree.city, path_mode="flat")  # fmt: skip
    Target.objects.create(plan=plan, section=equity, work_item=item, code="T16", text="第五小学2023年秋季交付办学",
                          kind=TargetKind.MILESTONE, scope=tree.city, owner_unit=tree.s1,
                          milestone_status=MilestoneStatus.IN_PROGRESS)  # fmt: skip
    recompute_progress()
    return plan


def test_plan_detail_shows_targets_under_their_section_and_item_with_status(client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    response = client.get(reverse("plans:plan_detail", args=["p23"]))
    html = response.content.decode()
    assert response.status_code == 200
    # T05: 97 vs 99 flat → 97 ≥ 94.05 → at risk; T16 in progress → on track.
    assert "学前一年幼儿入园率达99%以上" in html
    assert "badge badge-at_risk" in html
    assert "badge badge-on_track" in html
    assert html.index("主要目标") < html.index("T05") < html.index("扩大小学教育资源") < html.index("T16")
    assert reverse("plans:target_create", args=["p23"]) not in html  # inspectors don't edit


def test_plan_detail_marks_a_quarter_before_the_assess_from_quarter(client, users, plan) -> None:  # noqa: ANN001
    day = datetime.date(2023, 7, 1)
    q3 = Period.objects.create(code="2023Q3", year=2023, quarter=3, opens_on=day, due_on=day, locks_on=day)
    Target.objects.filter(code="T05").update(assess_from=q3)
    recompute_progress()
    client.force_login(users.ivan)
    with time_machine.travel(datetime.datetime(2023, 2, 15, tzinfo=datetime.UTC), tick=False):  # Q1 is current
        html = client.get(reverse("plans:plan_detail", args=["p23"])).content.decode()
    badge = r'<span class="badge badge-not_assessed" title="本目标自2023Q3起评估[^"]*">未到起评季度</span>'
    assert re.search(badge, html)
    assert "badge badge-at_risk" not in html  # 97 vs 99 is not judged before Q3


def test_plan_detail_hides_targets_outside_the_scope(client, users, plan, tree) -> None:  # noqa: ANN001
    Target.objects.filter(code="T05").update(scope=tree.d2)
    client.force_login(users.rita)  # reviewer of D1
    html = client.get(reverse("plans:plan_detail", args=["p23"])).content.decode()
    assert "T05" not in html
    assert "第五小学2023年秋季交付办学" not in html  # scope CITY is above D1 too


def _grow(plan: Plan, tree, count: int) -> None:  # noqa: ANN001
    """More targets, sections, items, child plans' contributions and schools: the page must not query more."""
    section = Section.objects.create(plan=plan, code=f"s{count}", title=f"部分{count}", order=9)
    child_plan = Plan.objects.create(code=f"child{count}", title="东区", year=2023, owner_unit=tree.d1, parent=plan)
    child_section = Section.objects.create(plan=child_plan, code="goals", title="目标")
    upper = Target.objects.get(plan=plan, code="T05")
    for i in range(count):
        item = WorkItem.objects.create(section=section, number=i + 1, title=f"任务{i}")
        Target.objects.create(plan=plan, section=section, work_item=item, code=f"X{count}-{i}", text="x",
                              kind=TargetKind.NARRATIVE, scope=tree.d1)  # fmt: skip
        Target.objects.create(plan=child_plan, section=child_section, code=f"C{i}", text="c", kind=TargetKind.THRESHOLD,
                              indicator=upper.indicator, comparator="gte", target_value=Decimal(99), scope=tree.d1,
                              contributes_to=upper)  # fmt: skip
        OrgUnit.objects.create(code=f"N{count}-{i}", name="n", level=Level.SCHOOL, parent=tree.t1,
                               school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC)  # fmt: skip
    recompute_progress()


def test_plan_detail_query_count_is_constant(client, users, plan, tree, django_assert_num_queries) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("plans:plan_detail", args=["p23"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _grow(plan, tree, 1)
    few = queries()
    _grow(plan, tree, 12)
    # session, user, memberships (scope), plan, sections, work items, targets, current period, progress,
    # contributions, their progress — the same for 3 or 27 targets.
    assert queries() == few
    with django_assert_num_queries(few):
        client.get(url)


def test_bureau_staff_create_a_target_in_the_browser(client, users, plan, tree) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("plans:target_create", args=["p23"])
    assert client.get(url).status_code == 200
    body = {"section": plan.sections.get(code="goals").pk, "code": "T06", "text": "学前三年入园率达98%以上",
            "kind": "threshold", "indicator": Indicator.objects.get(code="kg_rate").pk, "comparator": "gte",
            "target_value": "98", "path_mode": "flat", "at_risk_margin": "0.05", "order": "6"}  # fmt: skip
    response = client.post(url, body)
    assert response.status_code == 302
    target = Target.objects.get(plan=plan, code="T06")
    assert (target.scope, target.target_value) == (tree.city, Decimal(98))  # scope defaults to the plan's unit


def test_non_admins_cannot_open_the_target_form(client, users, plan) -> None:  # noqa: ANN001
    for user in (users.rita, users.ivan, users.alice):
        client.force_login(user)
        assert client.get(reverse("plans:target_create", args=["p23"])).status_code == 403


def _form_data(target: Target, **changes: object) -> dict[str, object]:
    data = {
        "section": target.section_id, "code": target.code, "text": target.text, "kind": target.kind,
        "indicator": target.indicator_id or "", "comparator": target.comparator, "target_value": target.target_value,
        "path_mode": target.path_mode, "at_risk_margin": target.at_risk_margin, "order": target.order,
        "scope": target.scope_id, "version": target.version,
    }  # fmt: skip
    data.update(changes)
    return data


def test_changing_a_published_value_in_the_browser_needs_a_reason_and_shows_history(client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    target = Target.objects.get(code="T05")
    url = reverse("plans:target_update", args=["p23", "T05"])

    refused = client.post(url, _form_data(target, target_value="98"))
    assert refused.status_code == 200
    assert "已发布工作要点的目标值变更须填写原因。" in refused.content.decode()
    target.refresh_from_db()
    assert target.target_value == Decimal(99)

    saved = client.post(url, _form_data(target, target_value="98", reason="省厅口径调整"))
    assert saved.status_code == 302
    page = client.get(url).content.decode()
    assert "省厅口径调整" in page
    # the history names the field as the form labels it, not by its code
    assert re.search(r"<td>目标值</td><td>99</td><td>98</td><td>省厅口径调整</td>", page)
    assert "<td>target_value</td>" not in page
    # a choice is shown by its label too
    target.refresh_from_db()
    client.post(url, _form_data(target, path_mode="linear", reason="改为线性路径"))
    page = client.get(url).content.decode()
    assert re.search(r"<td>预期路径</td><td>每期均须达标</td><td>从基线线性推进</td><td>改为线性路径</td>", page), page
    stale = client.post(url, _form_data(target, owner_name="x"))  # the version read before the last save
    assert "数据已被他人修改" in stale.content.decode()


def test_preview_without_js_and_as_json(client, users, plan, tree) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    target = Target.objects.get(code="T05")
    # "预览" posts the form: nothing saved, the page shows 97 against 96 → met.
    response = client.post(reverse("plans:target_update", args=["p23", "T05"]),
                           _form_data(target, target_value="96", preview="1"))  # fmt: skip
    assert response.status_code == 200
    assert "badge badge-met" in response.content.decode()
    target.refresh_from_db()
    assert target.target_value == Decimal(99)

    params = {"indicator": target.indicator_id, "comparator": "gte", "target_value": "99", "scope": tree.city.pk}
    data = client.get(reverse("plans:target_preview", args=["p23"]), params).json()
    # 97 vs 99: 97 ≥ 94.05 → at risk.
    assert (data["period"], data["actual"], data["expected"], data["status"]) == ("2023Q1", 97.0, 99.0, "at_risk")
    assert (
        client.get(reverse("plans:target_preview", args=["p23"]), {**params, "comparator": "lte"}).json()["status"]
        == "met"
    )


def test_the_live_preview_and_the_preview_button_show_what_saving_stores(client, users, plan, tree) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    target = Target.objects.get(code="T05")
    url = reverse("plans:target_update", args=["p23", "T05"])
    # A linear path from a baseline of 90: Q1 expects 92.25, so 97 is on track (a flat path would say at risk).
    data = _form_data(target, path_mode="linear", baseline_value="90", reason="改为线性路径")
    live = client.get(reverse("plans:target_preview", args=["p23"]), {**data, "target": "T05"}).json()
    button = client.post(url, {**data, "preview": "1"}).content.decode()
    assert client.post(url, data).status_code == 302
    saved = Progress.objects.get(target=target, org_unit=tree.city, period__code="2023Q1")
    assert (saved.status, saved.expected) == ("on_track", Decimal("92.25"))
    assert (live["status"], live["actual"], live["expected"]) == (saved.status, float(saved.actual or 0), 92.25)
    assert "badge badge-on_track" in button


def test_an_edit_without_a_scope_keeps_the_target_scope(client, users, plan, tree) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    target = Target.objects.get(code="T05")
    url = reverse("plans:target_update", args=["p23", "T05"])
    assert "badge badge-at_risk" in client.post(url, _form_data(target, scope="", preview="1")).content.decode()
    assert client.post(url, _form_data(target, scope="", owner_name="基教科")).status_code == 302
    target.refresh_from_db()
    assert (target.scope, target.owner_name) == (tree.city, "基教科")


def test_sections_work_items_and_path_points_are_edited_in_the_browser(client, users, plan, q1) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    assert client.post(reverse("plans:section_create", args=["p23"]),
                       {"code": "quality", "title": "教育质量", "order": 3}).status_code == 302  # fmt: skip
    section = plan.sections.get(code="quality")
    item = {"section": section.pk, "number": 13, "title": "课堂改革", "text": "……"}
    assert client.post(reverse("plans:workitem_create", args=["p23"]), item).status_code == 302
    duplicate = client.post(
        reverse("plans:section_create", args=["p23"]), {"code": "quality", "title": "x", "order": 4}
    )
    assert "同一工作要点中部分代码不能重复" in duplicate.content.decode()
    path = reverse("plans:target_path", args=["p23", "T05"])
    assert client.get(path).status_code == 200
    response = client.post(path, {"form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-0-period": q1.pk,
                                  "form-0-expected_value": "95"})  # fmt: skip
    assert response.status_code == 302
    assert Target.objects.get(code="T05").path_points.get().expected_value == Decimal(95)


def test_owner_principal_updates_the_milestone_from_their_page(client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.alice)  # principal of S1, the owner unit of T16
    page = client.get(reverse("plans:my_targets")).content.decode()
    assert "第五小学2023年秋季交付办学" in page
    url = reverse("plans:target_notes", args=["p23", "T16"])
    evidence = SimpleUploadedFile("验收.pdf", b"%PDF-1.4 ok", content_type="application/pdf")
    response = client.post(
        url, {"text": "通过竣工验收", "milestone_status": "done", "evidence": evidence, "reported_on": "2023-09-28"}
    )
    assert response.status_code == 302
    target = Target.objects.get(code="T16")
    note = target.notes.get()
    assert (note.reported_on, note.milestone_status) == (datetime.date(2023, 9, 28), "done")
    # Awaiting review: not done, not met.
    assert target.milestone_status != "done"
    assert not target.progress.filter(status="met").exists()
    bad = client.post(url, {"text": "x", "evidence": SimpleUploadedFile("a.pdf", b"not a pdf")})
    assert "文件内容与扩展名不符。" in bad.content.decode()

    client.force_login(users.kate)  # another principal: not hers
    assert "第五小学" not in client.get(reverse("plans:my_targets")).content.decode()
    assert client.post(url, {"text": "x"}).status_code in (403, 404)


def test_my_targets_shows_a_milestones_due_month(client, users, plan, tree) -> None:  # noqa: ANN001
    section = plan.sections.first()
    Target.objects.create(plan=plan, section=section, code="M1", text="课后服务全覆盖", kind=TargetKind.MILESTONE,
                          scope=tree.city, owner_unit=tree.s1, start_month=3, due_month=6)  # fmt: skip
    Target.objects.create(plan=plan, section=section, code="M2", text="食堂改造", kind=TargetKind.MILESTONE,
                          scope=tree.city, owner_unit=tree.s1, due_month=11)  # fmt: skip
    client.force_login(users.alice)  # principal of S1, the owner unit
    page = client.get(reverse("plans:my_targets")).content.decode()
    row = re.search(r"M1 课后服务全覆盖.*?</tr>", page, re.S)
    assert row is not None
    assert f"3–6 月（{plan.year}-06-30）" in row.group(0)
    other = re.search(r"M2 食堂改造.*?</tr>", page, re.S)
    assert other is not None
    assert f"11 月底前（{plan.year}-11-30）" in other.group(0)


def test_bureau_reviews_notes(client, users, plan) -> None:  # noqa: ANN001
    target = Target.objects.get(code="T16")
    note = TargetNote.objects.create(target=target, author=users.alice, text="进展")
    client.force_login(users.bea)
    url = reverse("plans:note_review", args=["p23", "T16", note.pk])
    client.post(url, {"decision": "return", "comment": "请补充照片"})
    note.refresh_from_db()
    assert (note.review_status, note.review_comment) == ("returned", "请补充照片")
    client.force_login(users.alice)
    assert client.post(url, {"decision": "accept"}).status_code == 403


def test_my_targets_query_count_is_constant(client, users, plan, tree) -> None:  # noqa: ANN001
    client.force_login(users.alice)
    url = reverse("plans:my_targets")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        return len(ctx.captured_queries)

    few = queries()
    section = plan.sections.first()
    for i in range(10):
        Target.objects.create(plan=plan, section=section, code=f"M{i}", text="m", kind=TargetKind.MILESTONE,
                              scope=tree.city, owner_unit=tree.s1)  # fmt: skip
    recompute_progress()
    # session, user, memberships, targets (with note counts), current period, progress.
    assert queries() == few


def test_plan_workbook_export_and_import_pages(client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    response = client.get(reverse("plans:plan_export", args=["p23"]))
    assert response.status_code == 200
    content = b"".join(response)
    workbook = load_workbook(io.BytesIO(content))
    assert workbook["目标"]["A2"].value == "T05"
    workbook["目标"]["H2"] = "abc"
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("plan.xlsx", buffer.getvalue())
    page = client.post(reverse("plans:plan_import"), {"file": upload}).content.decode()
    assert "“目标”表第 2 行 H 列（目标值）：请填写数字。" in page
    ok = client.post(reverse("plans:plan_import"), {"file": SimpleUploadedFile("plan.xlsx", content)})
    assert ok.status_code == 302
    assert TargetChange.objects.filter(target__code="T05").count() == 0  # nothing changed: no history rows
    client.force_login(users.ivan)
    assert client.get(reverse("plans:plan_export", args=["p23"])).status_code == 403
