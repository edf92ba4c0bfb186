"""Excel round-trip: download a template, fill it with openpyxl, upload it, values stored (or none)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from schools.models import Level, Membership, OrgUnit, Ownership, Role, SchoolType
from submissions import workflow
from submissions.models import Channel, Submission, SubmissionHistory, SubmissionStatus, Value
from submissions.xlsx import CODE_ROW, DATA_SHEET, KEY_SHEET, TemplateKey, build_template
from tests.submissions.test_xlsx_support import columns, download, fill, rows, upload

pytestmark = pytest.mark.django_db


def stored(unit) -> dict[str, Decimal | None]:
    return dict(Value.objects.filter(submission__org_unit=unit).values_list("figure__code", "value"))


def test_a_principal_downloads_a_template_of_their_school(client, users, setup):
    # given
    client.force_login(users.alice)
    # when
    content = download(client, "2023Q1", "S1")
    # then
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[DATA_SHEET]
    assert workbook.sheetnames == [DATA_SHEET, "说明", KEY_SHEET]
    assert workbook[KEY_SHEET].sheet_state == "veryHidden"
    # S1 is a central primary school: it reports the 4 primary figures (form order 1..4), nothing else.
    assert [c.value for c in sheet[CODE_ROW]] == [
        "unit",
        "name",
        "status",
        "pri_new_entrants",
        "pri_new_entrants_migrant",
        "pri_enrolled",
        "central_joint_research",
    ]
    assert sheet.row_dimensions[CODE_ROW].hidden
    assert sheet["A1"].value == "单位代码"
    assert sheet["D1"].value == "小学新生数"
    assert sheet["A3"].value == "S1"
    assert sheet["C3"].value == "未填报"
    assert sheet.max_row == 3
    assert sheet.freeze_panes == "D3"
    # One numeric validation per figure column; pri_enrolled has max_value 5000 (min 0 is the default).
    by_range = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert by_range["F3"].type == "whole"
    assert (by_range["F3"].formula1, by_range["F3"].formula2) == ("0", "5000")
    # The key names the period, the unit row and the figure columns.
    token = workbook[KEY_SHEET]["A1"].value
    key = TemplateKey.unsign(token)
    assert (key.period, key.units, key.versions) == ("2023Q1", ["S1"], [None])
    assert key.figures == ["pri_new_entrants", "pri_new_entrants_migrant", "pri_enrolled", "central_joint_research"]


def test_round_trip_stores_the_values_with_excel_history(client, users, setup, tree):
    # given
    client.force_login(users.alice)
    content = download(client, "2023Q1", "S1")
    filled = fill(
        content,
        {
            ("S1", "pri_new_entrants"): 100,
            ("S1", "pri_new_entrants_migrant"): 10,
            ("S1", "pri_enrolled"): "600",  # typed as text: accepted like the web form does
            ("S1", "central_joint_research"): 3,
        },
    )
    # when
    response = upload(client, filled, "2023Q1")
    # then
    assert response.status_code == 200
    assert "导入成功" in response.content.decode()
    assert stored(tree.s1) == {
        "pri_new_entrants": Decimal(100),
        "pri_new_entrants_migrant": Decimal(10),
        "pri_enrolled": Decimal(600),
        "central_joint_research": Decimal(3),
    }
    submission = Submission.objects.get(org_unit=tree.s1, period=setup.q1)
    assert submission.status == SubmissionStatus.DRAFT
    history = SubmissionHistory.objects.filter(submission=submission, figure__isnull=False)
    assert history.count() == 4
    assert set(history.values_list("channel", flat=True)) == {Channel.EXCEL}
    assert set(history.values_list("user__username", flat=True)) == {"alice"}


def test_download_prefills_stored_values_and_uploading_it_unchanged_stores_nothing(client, users, setup, tree):
    # given: S1 saved 100 entrants through the web form (version 1 → 2)
    client.force_login(users.alice)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 100}, version=submission.version)
    content = download(client, "2023Q1", "S1")
    col = columns(content)
    sheet = load_workbook(io.BytesIO(content))[DATA_SHEET]
    assert sheet.cell(row=3, column=col["pri_new_entrants"]).value == 100
    assert sheet["C3"].value == "草稿"
    history_before = SubmissionHistory.objects.count()
    # when
    response = upload(client, content, "2023Q1")
    # then
    assert response.status_code == 200
    assert SubmissionHistory.objects.count() == history_before
    assert Submission.objects.get(pk=submission.pk).version == submission.version + 1


def test_a_district_template_has_one_row_per_unit_and_stores_every_row(client, users, setup, tree):
    # given: bea (bureau admin, acting as the district's data clerk) downloads D1's template
    client.force_login(users.bea)
    content = download(client, "2023Q1", "D1")
    # D1 reports the district population; T1 (学区) reports nothing and is left out; S1, S2, K1 follow.
    assert list(rows(content)) == ["D1", "S1", "S2", "K1"]
    sheet = load_workbook(io.BytesIO(content))[DATA_SHEET]
    col = columns(content)
    # K1 (kindergarten) does not report primary figures: its cell is greyed out.
    assert sheet.cell(row=6, column=col["pri_new_entrants"]).fill.fgColor.rgb.endswith("DDDDDD")
    filled = fill(
        content,
        {
            ("D1", "pop_age6"): 812.5,
            ("S2", "pri_new_entrants"): 80,
            ("S2", "pri_new_entrants_migrant"): 5,
            ("K1", "kg_enrolled"): 240,
        },
    )
    # when
    response = upload(client, filled, "2023Q1")
    # then: three units stored, S1 (row left empty) untouched — no submission created for it
    assert response.status_code == 200, response.content.decode()[-2000:]
    assert stored(tree.d1) == {"pop_age6": Decimal("812.5")}
    assert stored(tree.s2) == {"pri_new_entrants": Decimal(80), "pri_new_entrants_migrant": Decimal(5)}
    assert stored(tree.k1) == {"kg_enrolled": Decimal(240)}
    assert not Submission.objects.filter(org_unit=tree.s1).exists()


def test_one_bad_cell_stores_nothing_and_names_the_cell(client, users, setup, tree):
    # given
    client.force_login(users.bea)
    content = download(client, "2023Q1", "D1")
    filled = fill(
        content,
        {
            ("S1", "pri_new_entrants"): 100,
            ("S2", "pri_new_entrants"): 80,
            ("S2", "pri_enrolled"): 6000,  # over max_value 5000
            ("K1", "kg_enrolled"): 240,
        },
    )
    # when
    response = upload(client, filled, "2023Q1")
    # then: S2 is row 5; columns D kg_enrolled, E pop_age6, F entrants, G migrants, H enrolled → 填报!H5
    body = response.content.decode()
    assert response.status_code == 400
    assert "填报!H5" in body
    assert "不能大于 5000" in body
    assert "未保存任何数据" in body
    assert Value.objects.count() == 0
    assert Submission.objects.count() == 0


def test_an_error_rule_refuses_the_upload_and_points_at_its_first_figure(client, users, setup, tree):
    # given: 12 migrants among 10 entrants breaks the error rule migrant ≤ entrants
    client.force_login(users.alice)
    filled = fill(
        download(client, "2023Q1", "S1"),
        {("S1", "pri_new_entrants"): 10, ("S1", "pri_new_entrants_migrant"): 12},
    )
    # when
    response = upload(client, filled, "2023Q1")
    # then: the rule's first figure is pri_new_entrants_migrant, column E of S1's row 3
    assert response.status_code == 400
    assert "填报!E3" in response.content.decode()
    assert "外来生数不能超过新生数" in response.content.decode()
    assert Value.objects.count() == 0


def test_a_text_cell_is_named_with_a_chinese_message(client, users, setup, tree):
    client.force_login(users.alice)
    filled = fill(download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): "一百"})
    response = upload(client, filled, "2023Q1")
    assert response.status_code == 400
    assert "填报!D3" in response.content.decode()
    assert "请输入数字" in response.content.decode()
    assert Value.objects.count() == 0


def test_a_change_made_after_download_is_a_conflict_and_nothing_is_stored(client, users, setup, tree):
    # given: the template was downloaded at version 2, then the web form saved again (version 3)
    client.force_login(users.alice)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 100}, version=1)
    content = download(client, "2023Q1", "S1")
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 101}, version=2)
    filled = fill(content, {("S1", "pri_enrolled"): 600})
    # when
    response = upload(client, filled, "2023Q1")
    # then
    assert response.status_code == 409
    assert "数据已被他人修改" in response.content.decode()
    assert stored(tree.s1) == {"pri_new_entrants": Decimal(101)}


def test_a_submitted_unit_left_unchanged_does_not_block_the_others(client, users, setup, tree):
    # given: S1 already submitted 100 entrants; S2 is filled in the district template
    submission = Submission.objects.create(org_unit=tree.s1, period=setup.q1, status=SubmissionStatus.SUBMITTED)
    Value.objects.create(submission=submission, figure=setup.figures["pri_new_entrants"], value=100)
    client.force_login(users.bea)
    content = download(client, "2023Q1", "D1")
    # when: S1's row untouched
    response = upload(client, fill(content, {("S2", "pri_new_entrants"): 80}), "2023Q1")
    # then
    assert response.status_code == 200
    assert stored(tree.s2) == {"pri_new_entrants": Decimal(80)}
    # when: S1's row changed in a fresh template → refused with the row named (S1 is row 4).
    # (The first template is stale now: its empty S2 row would silently clear the 80 → 409, see test_xlsx_api.)
    content = download(client, "2023Q1", "D1")
    response = upload(client, fill(content, {("S1", "pri_new_entrants"): 90}), "2023Q1")
    assert response.status_code == 400
    assert "填报!A4" in response.content.decode()
    assert "已提交" in response.content.decode()
    assert stored(tree.s1) == {"pri_new_entrants": Decimal(100)}


def test_a_reviewer_gets_a_read_only_template_and_cannot_upload_it(client, users, setup, tree):
    client.force_login(users.rita)
    content = download(client, "2023Q1", "D1")
    assert list(rows(content)) == ["D1", "S1", "S2", "K1"]
    response = upload(client, fill(content, {("S2", "pri_new_entrants"): 80}), "2023Q1")
    assert response.status_code == 403
    assert "没有以下单位的填报权限" in response.content.decode()
    assert Value.objects.count() == 0


def test_a_principal_cannot_download_another_schools_template(client, users, setup):
    client.force_login(users.bob)
    response = client.get("/submissions/excel/template/", {"period": "2023Q1", "unit": "S1"})
    assert response.status_code == 404


def test_an_inspector_has_nothing_to_download(client, users, setup):
    # Inspectors only view and export: no unit is theirs to submit or review.
    client.force_login(users.ivan)
    response = client.get("/submissions/excel/template/", {"period": "2023Q1", "unit": "D1"})
    assert response.status_code == 403


def test_the_upload_page_renders_for_a_principal(client, users, setup):
    client.force_login(users.alice)
    response = client.get("/submissions/excel/upload/", {"period": "2023Q1", "unit": "S1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "下载模板" in body
    assert 'name="file"' in body


def _add_schools(parent: OrgUnit, count: int) -> None:
    for i in range(count):
        OrgUnit.objects.create(
            code=f"X{i:03d}",
            name=f"新增小学{i}",
            level=Level.SCHOOL,
            school_type=SchoolType.PRIMARY,
            ownership=Ownership.PUBLIC,
            parent=parent,
        )


def test_template_download_and_upload_query_counts_do_not_grow_with_units(users, setup, tree):
    """The template is an export and the upload a batch: neither may cost a query per unit.

    Download (6): the user's memberships, active figures, their regions (one prefetch), units in scope under the root,
    submissions (version, status) under the root, stored values under the root.
    Upload: 5 of ours — units by code, memberships, figures by code, stored submissions, stored
    values — then workflow.save_batch's fixed set (active figures, rules, submissions FOR UPDATE,
    previous period and values, bulk inserts/updates; pinned by its own tests, so only compared
    here between the short and the long template).
    """

    def measure(root: OrgUnit) -> tuple[int, int]:
        user = users.bea
        user._scope_grants = None  # count the membership query every time
        with CaptureQueriesContext(connection) as down:
            content = build_template(user, setup.q1, root)
        codes = [code for code in rows(content) if code.startswith(("S", "X"))]
        filled = fill(content, {(code, "pri_new_entrants"): 50 for code in codes})
        from submissions.xlsx import import_template

        user._scope_grants = None
        with CaptureQueriesContext(connection) as up:
            import_template(io.BytesIO(filled), user=user, period=setup.q1)
        return len(down), len(up)

    few = measure(tree.d2)  # S3, K2 (S3 gets a value)
    _add_schools(tree.d1, 25)
    many = measure(tree.d1)  # D1, S1, S2, K1 + 25 new schools (27 primary rows get a value)
    assert few[0] == many[0] == 6
    assert few[1] == many[1]


def test_decimal_values_are_prefilled_plainly_and_survive_an_unchanged_round_trip(client, users, setup, tree):
    # given: D1's population stored as 1000.0000 and 812.5 would come back as 1000 and 812.5
    submission = Submission.objects.create(org_unit=tree.d1, period=setup.q1)
    Value.objects.create(submission=submission, figure=setup.figures["pop_age6"], value=Decimal("1000.0000"))
    client.force_login(users.bea)
    content = download(client, "2023Q1", "D1")
    sheet = load_workbook(io.BytesIO(content))[DATA_SHEET]
    # then: D1 is row 3, pop_age6 column E; written as the number 1000 (not "1E+3")
    assert sheet["E3"].value == 1000
    response = upload(client, content, "2023Q1")
    assert response.status_code == 200
    assert not SubmissionHistory.objects.filter(figure__isnull=False).exists()


def test_a_principal_of_several_schools_gets_one_template_for_all_of_them(client, users, setup, tree):
    # given: alice is also principal of S3 (in the other district); no unit in the query
    Membership.objects.create(user=users.alice, org_unit=tree.s3, role=Role.PRINCIPAL)
    client.force_login(users.alice)
    response = client.get("/submissions/excel/template/", {"period": "2023Q1"})
    assert response.status_code == 200
    content = response.content
    assert list(rows(content)) == ["S1", "S3"]
    # when
    filled = fill(content, {("S1", "pri_new_entrants"): 100, ("S3", "pri_new_entrants"): 70})
    response = upload(client, filled, "2023Q1")
    # then
    assert response.status_code == 200
    assert stored(tree.s1) == {"pri_new_entrants": Decimal(100)}
    assert stored(tree.s3) == {"pri_new_entrants": Decimal(70)}
