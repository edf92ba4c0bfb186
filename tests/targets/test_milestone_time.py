"""Milestones with real time (issue 13 §5): start and due month, completion date, status per quarter from dated
notes, a "done" note waiting for its review, and the notes and work items of the API."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from plans.models import Plan, PlanStatus, Section, WorkItem
from portal.errors import ServiceError
from targets import targets_service as service
from targets.models import MilestoneStatus, Progress, Target, TargetKind, TargetNote
from targets.workbook import TARGET_SHEET, ImportErrors, export_plan, import_plan


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    return Plan.objects.create(
        code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.DRAFT
    )


@pytest.fixture
def section(plan: Plan) -> Section:
    return Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)


def milestone(users, section: Section, code: str, scope=None, **extra: object) -> Target:  # noqa: ANN001
    fields = {"section": section, "code": code, "text": f"{code} 招生工作", "kind": TargetKind.MILESTONE, **extra}
    if scope is not None:
        fields["scope"] = scope
    return service.create_target(users.bea, section.plan, fields)


def statuses(target: Target) -> list[str]:
    rows = Progress.objects.filter(target=target, org_unit_id=target.scope_id).order_by("period__quarter")
    return [row.status for row in rows]


def detail(target: Target, quarter: int) -> dict:
    return Progress.objects.get(target=target, org_unit_id=target.scope_id, period__quarter=quarter).detail


# --- Status per quarter ---


def test_a_milestone_finished_in_august_is_met_only_from_the_third_quarter(users, quarters, section) -> None:  # noqa: ANN001
    # "2–7 月招生", finished on 15 August: under way in Q1 and Q2 (inside its window), met from Q3 on.
    enrolment = milestone(users, section, "T01", start_month=2, due_month=7, completed_on=datetime.date(2023, 8, 15))
    assert enrolment.milestone_status == MilestoneStatus.DONE
    assert statuses(enrolment) == ["on_track", "on_track", "met", "met"]
    assert detail(enrolment, 1)["due_date"] == "2023-07-31"
    assert detail(enrolment, 1)["start_date"] == "2023-02-01"
    assert detail(enrolment, 3)["completed_on"] == "2023-08-15"
    assert "completed_on" not in detail(enrolment, 2)

    # "3 月评审", finished in August: due by 31 March, so Q2 is behind until it was done.
    review = milestone(users, section, "T02", due_month=3, completed_on=datetime.date(2023, 8, 15))
    assert statuses(review) == ["on_track", "off_track", "met", "met"]
    assert detail(review, 2)["overdue"] is True


def test_before_its_start_month_a_milestone_is_not_judged(users, quarters, section) -> None:  # noqa: ANN001
    autumn = milestone(users, section, "T03", start_month=9, due_month=11)
    assert statuses(autumn)[:2] == ["no_data", "no_data"]
    assert detail(autumn, 1)["reason"] == "before_start"
    # Its window has begun by the end of Q3; by the end of Q4 (judged today, years later) it is overdue.
    assert statuses(autumn)[2:] == ["on_track", "off_track"]


def test_notes_and_evidence_belong_to_the_quarter_they_report_on(users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T04", start_month=2, due_month=7, owner_unit=None)
    pdf = SimpleUploadedFile("方案.pdf", b"%PDF-1.7 ...", content_type="application/pdf")
    # Written years later (today), each note reports on its own day: its quarter follows that day.
    first = service.add_note(users.bea, target, text="发布招生方案", reported_on=datetime.date(2023, 2, 10),
                             evidence=pdf)  # fmt: skip
    second = service.add_note(users.bea, target, text="完成报名", reported_on=datetime.date(2023, 5, 20))
    assert (first.period, second.period) == (quarters[0], quarters[1])

    assert [n["id"] for n in detail(target, 1)["notes"]] == [first.pk]
    assert detail(target, 1)["evidence_count"] == 1
    assert [n["id"] for n in detail(target, 2)["notes"]] == [second.pk]
    assert detail(target, 2)["evidence_count"] == 0
    assert detail(target, 2)["notes"][0]["date"] == "2023-05-20"
    assert detail(target, 3)["notes"] == []


def test_a_done_note_awaiting_review_does_not_make_the_milestone_met(users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T05", due_month=9, milestone_status=MilestoneStatus.IN_PROGRESS)
    note = service.add_note(users.bea, target, text="已完成", reported_on=datetime.date(2023, 5, 5),
                            milestone_status=MilestoneStatus.DONE)  # fmt: skip
    target.refresh_from_db()
    assert (target.milestone_status, target.completed_on) == (MilestoneStatus.IN_PROGRESS, None)
    assert "met" not in statuses(target)
    assert detail(target, 2)["awaiting_review"] is True

    # Returned: still not done (and the note's "done" no longer counts).
    service.review_note(users.bea, note, accept=False, comment="请补充验收材料")
    assert "met" not in statuses(target)
    assert "awaiting_review" not in detail(target, 2)

    # A second note is accepted: done from the day it reports on, so met from that quarter only.
    again = service.add_note(users.bea, target, text="补充验收", reported_on=datetime.date(2023, 8, 1),
                             milestone_status=MilestoneStatus.DONE)  # fmt: skip
    service.review_note(users.bea, again, accept=True)
    target.refresh_from_db()
    assert (target.milestone_status, target.completed_on) == (MilestoneStatus.DONE, datetime.date(2023, 8, 1))
    assert statuses(target) == ["no_data", "on_track", "met", "met"]


def test_the_state_of_an_earlier_quarter_comes_from_the_notes_known_then(users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T06")
    service.add_note(users.bea, target, text="受阻", reported_on=datetime.date(2023, 4, 10),
                     milestone_status=MilestoneStatus.BLOCKED)  # fmt: skip
    service.add_note(users.bea, target, text="恢复推进", reported_on=datetime.date(2023, 8, 10),
                     milestone_status=MilestoneStatus.IN_PROGRESS)  # fmt: skip
    assert statuses(target) == ["no_data", "at_risk", "on_track", "on_track"]


# --- Validation: one target service for form, API and workbook ---


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"start_month": 7, "due_month": 2}, {"due_month": ["完成月份不能早于开始月份。"]}),
        ({"start_month": 0}, {"start_month": ["月份须在 1 到 12 之间。"]}),
        ({"due_month": 13}, {"due_month": ["月份须在 1 到 12 之间。"]}),
        ({"completed_on": datetime.date(2024, 1, 3)}, {"completed_on": ["完成日期须在工作要点年度（2023年）内。"]}),
        (
            {"completed_on": datetime.date(2023, 5, 1), "milestone_status": MilestoneStatus.IN_PROGRESS},
            {"milestone_status": ["已填写完成日期的里程碑，状态须为“已完成”。"]},
        ),
    ],
)
def test_bad_months_and_dates_are_refused_and_nothing_is_stored(users, quarters, section, fields, errors) -> None:  # noqa: ANN001
    with pytest.raises(ServiceError) as caught:
        milestone(users, section, "T09", **fields)
    assert caught.value.errors == errors
    assert not Target.objects.exists()


def test_months_belong_to_milestones_and_a_kind_switch_clears_them(users, quarters, section) -> None:  # noqa: ANN001
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, section.plan, {"section": section, "code": "N1", "text": "定性",
                                                       "kind": TargetKind.NARRATIVE, "due_month": 3})  # fmt: skip
    assert caught.value.errors == {"due_month": ["只有里程碑目标设开始月份、完成月份和完成日期。"]}
    target = milestone(users, section, "T10", start_month=2, due_month=7)
    service.update_target(users.bea, target, {"kind": TargetKind.NARRATIVE}, version=target.version)
    target.refresh_from_db()
    assert (target.start_month, target.due_month, target.completed_on) == (None, None, None)


def test_a_note_reporting_outside_the_plan_year_or_its_quarter_is_refused(users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T11")
    with pytest.raises(ServiceError) as caught:
        service.add_note(users.bea, target, text="x", reported_on=datetime.date(2022, 12, 1))
    assert caught.value.errors == {"reported_on": ["进展日期须在工作要点年度（2023年）内。"]}
    with pytest.raises(ServiceError) as caught:
        service.add_note(users.bea, target, text="x", reported_on=datetime.date(2023, 5, 1), period=quarters[0])
    assert caught.value.errors == {"reported_on": ["进展日期不在所选季度内。"]}
    assert not TargetNote.objects.exists()


# --- API ---


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_targets_take_the_window_and_refuse_bad_months(users, quarters, section) -> None:  # noqa: ANN001
    url = "/api/v1/plans/p23/targets/"
    body = {"code": "M1", "section": "goals", "text": "2-7月份完成招生", "kind": "milestone",
            "start_date": "2023-02-01", "due_month": 7}  # fmt: skip
    response = api(users.bea).post(url, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["start_month"], data["due_month"], data["start_date"], data["completed_on"]) == (
        2,
        7,
        "2023-02-01",
        None,
    )
    bad = api(users.bea).post(url, {**body, "code": "M2", "start_date": None, "start_month": 8}, format="json")
    assert bad.status_code == 400
    assert "完成月份不能早于开始月份。" in str(bad.json())
    late = api(users.bea).patch(f"{url}M1/", {"version": data["version"], "completed_on": "2024-02-01"}, format="json")
    assert late.status_code == 400
    assert "完成日期须在工作要点年度（2023年）内。" in str(late.json())
    assert list(Target.objects.values_list("code", "completed_on")) == [("M1", None)]


def test_api_notes_are_listed_and_written_within_the_scope(users, tree, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T12", scope=tree.d1, owner_unit=tree.s1, due_month=9)
    url = "/api/v1/plans/p23/targets/T12/notes/"
    response = api(users.alice).post(  # the owner school's principal
        url, {"text": "完成报名", "reported_on": "2023-05-20", "milestone_status": "done"}, format="json"
    )
    assert response.status_code == 201, response.json()
    note = response.json()
    assert (note["reported_on"], note["period"], note["milestone_status"], note["review_status"]) == (
        "2023-05-20",
        "2023Q2",
        "done",
        "pending",
    )
    assert "met" not in statuses(target)  # awaiting review

    listed = api(users.rita).get(url)  # the district's reviewer reads them
    assert listed.status_code == 200
    assert [n["text"] for n in listed.json()] == ["完成报名"]
    assert api(users.rita).post(url, {"text": "x"}, format="json").status_code == 403
    assert api(users.bob).get(url).status_code == 404  # another district's principal
    assert api(users.bob).post(url, {"text": "x"}, format="json").status_code == 404
    bad = api(users.alice).post(url, {"text": "x", "reported_on": "2024-01-02"}, format="json")
    assert bad.status_code == 400
    assert "进展日期须在工作要点年度（2023年）内。" in str(bad.json())
    assert TargetNote.objects.count() == 1

    review_url = f"{url}{note['id']}/review/"
    assert api(users.alice).post(review_url, {"decision": "accept"}, format="json").status_code == 403
    assert api(users.bob).post(review_url, {"decision": "accept"}, format="json").status_code == 404
    assert api(users.bea).post(review_url, {"decision": "return"}, format="json").status_code == 400  # no comment
    accepted = api(users.bea).post(review_url, {"decision": "accept"}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["review_status"] == "accepted"
    target.refresh_from_db()
    assert target.completed_on == datetime.date(2023, 5, 20)
    assert statuses(target) == ["no_data", "met", "met", "met"]


def test_api_work_items_list_create_and_patch(users, quarters, section) -> None:  # noqa: ANN001
    WorkItem.objects.create(section=section, number=1, title="扩大学前资源")
    url = "/api/v1/plans/p23/work-items/"
    assert [w["title"] for w in api(users.alice).get(url).json()] == ["扩大学前资源"]
    created = api(users.bea).post(url, {"section": "goals", "title": "加强体育"}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["number"], created.json()["section"]) == (2, "goals")
    assert api(users.alice).post(url, {"section": "goals", "title": "x"}, format="json").status_code == 403
    duplicate = api(users.bea).post(url, {"section": "goals", "number": 1, "title": "x"}, format="json")
    assert duplicate.status_code == 400
    assert "同一部分中序号不能重复" in str(duplicate.json())

    item_url = f"{url}{created.json()['id']}/"
    patched = api(users.bea).patch(item_url, {"title": "加强学校体育"}, format="json")
    assert patched.status_code == 200
    assert WorkItem.objects.get(pk=created.json()["id"]).title == "加强学校体育"
    assert api(users.alice).patch(item_url, {"title": "x"}, format="json").status_code == 403
    assert api(users.bea).patch(item_url, {"section": "nope"}, format="json").status_code == 400
    assert WorkItem.objects.count() == 2


# --- Workbook and plan drafts ---


def _workbook_with(plan: Plan, values: dict[str, object]) -> io.BytesIO:
    workbook = load_workbook(io.BytesIO(export_plan(plan)))
    sheet = workbook[TARGET_SHEET]
    headers = [cell.value for cell in sheet[1]]
    row = sheet.max_row
    for header, value in values.items():
        sheet.cell(row=row, column=headers.index(header) + 1, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "plan.xlsx"
    return buffer


def test_the_workbook_carries_the_window_and_refuses_a_bad_row(users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T13")
    import_plan(users.bea, _workbook_with(section.plan, {"开始月份": 2, "完成月份": 7, "完成日期": "2023-08-15"}))
    target.refresh_from_db()
    assert (target.start_month, target.due_month, target.completed_on, target.milestone_status) == (
        2,
        7,
        datetime.date(2023, 8, 15),
        MilestoneStatus.DONE,
    )
    with pytest.raises(ImportErrors) as caught:
        import_plan(users.bea, _workbook_with(section.plan, {"开始月份": 9, "完成月份": 3}))
    assert "完成月份不能早于开始月份。" in str([e.message for e in caught.value.cell_errors])
    target.refresh_from_db()
    assert (target.start_month, target.due_month) == (2, 7)  # nothing stored


def test_a_committed_draft_keeps_the_months_the_document_gives(users, tree, quarters) -> None:  # noqa: ANN001
    text = (
        "2023年东区教育工作要点\n\n一、主要目标\n"
        "1.安全工作。完成全区中小学校舍安全排查(3月份)。2-7月份完成新生招生工作。\n"
    )
    client = api(users.bea)
    body = client.post("/api/v1/plan-drafts/", {"text": text, "year": 2023}, format="json").json()
    months = [(t["start_month"], t["due_month"]) for t in body["targets"]]
    assert months == [(None, 3), (2, 7)]
    response = client.post(f"/api/v1/plan-drafts/{body['id']}/commit/", {"version": body["version"]}, format="json")
    assert response.status_code == 201, response.json()
    rows = Target.objects.filter(kind=TargetKind.MILESTONE).order_by("order")
    assert [(t.start_month, t.due_month) for t in rows] == [(None, 3), (2, 7)]


# --- The target form ---


def test_the_form_shows_the_window_for_milestones_and_refuses_a_bad_one(client, users, quarters, section) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("plans:target_create", args=["p23"])
    page = client.get(url, {"kind": "milestone"}).content.decode()
    for name in ("start_month", "due_month", "completed_on"):
        assert re.search(rf'<div class="field" data-field="{name}"(?![^>]*hidden)[^>]*>', page), name
    assert "如“2–7月招生”填 7" in page
    threshold = client.get(url, {"kind": "threshold"}).content.decode()
    assert re.search(r'<div class="field" data-field="due_month"[^>]*hidden', threshold)

    body = {"section": section.pk, "code": "T20", "text": "2-7月份完成招生", "kind": "milestone",
            "start_month": "7", "due_month": "2", "path_mode": "linear", "at_risk_margin": "0.05",
            "order": "20"}  # fmt: skip
    refused = client.post(url, body)
    assert refused.status_code == 200
    assert "完成月份不能早于开始月份。" in refused.content.decode()
    assert not Target.objects.exists()

    assert client.post(url, {**body, "start_month": "2", "due_month": "7"}).status_code == 302
    assert Target.objects.values_list("start_month", "due_month").get() == (2, 7)


def test_the_target_page_shows_the_window_and_the_completion_date(client, users, quarters, section) -> None:  # noqa: ANN001
    target = milestone(users, section, "T21", start_month=2, due_month=7, completed_on=datetime.date(2023, 8, 15))
    client.force_login(users.bea)
    page = client.get(target.get_absolute_url(), {"period": "2023Q2"}).content.decode()
    assert "2–7 月" in page
    assert "2023-08-15" in page


def test_api_notes_take_evidence_as_multipart_and_check_it(users, tree, quarters, section) -> None:  # noqa: ANN001
    milestone(users, section, "T22", scope=tree.d1, owner_unit=tree.s1)
    url = "/api/v1/plans/p23/targets/T22/notes/"
    pdf = SimpleUploadedFile("验收.pdf", b"%PDF-1.7 ok", content_type="application/pdf")
    response = api(users.alice).post(url, {"text": "通过验收", "reported_on": "2023-09-01", "evidence": pdf},
                                     format="multipart")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["has_evidence"] is True
    fake = SimpleUploadedFile("验收.pdf", b"MZ not a pdf", content_type="application/pdf")
    refused = api(users.alice).post(url, {"text": "x", "evidence": fake}, format="multipart")
    assert refused.status_code == 400
    assert "文件内容与扩展名不符。" in str(refused.json())
    assert TargetNote.objects.count() == 1
