"""Who reports what (issue 13 §1): one AND-ed rule with region, ownership and periods; required and optional
figures; 不适用 as a third state in the workflow, the API, the principal's form, the Excel template and history.

Tree: CITY ── D1 (东区) ── T1 ── S1 (central primary), S2 (primary), K1 (kindergarten)
           └─ D2 (西区) ── S3 (primary), K2 (kindergarten, inclusive private). Every school but K2 is public.
"""

from __future__ import annotations

import importlib
import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from portal.errors import ServiceError
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions import workflow
from submissions.forms import FigureForm
from submissions.models import Figure, SubmissionHistory, SubmissionStatus, Value
from submissions.reporting import ReportedBy, active_figures, applies_to, figures_for_unit
from submissions.xlsx import DATA_SHEET
from tests.submissions.conftest import S1_CLEAN, make_period
from tests.submissions.test_xlsx_support import columns, download, fill, rows, upload

ROOT = Path(__file__).resolve().parents[2]


def codes(units) -> set[str]:  # noqa: ANN001
    return {unit.code for unit in units}


def test_conditions_are_and_ed_and_the_set_form_agrees_with_the_rule(tree) -> None:
    figure = Figure.objects.create(
        code="east_public_primary",
        name="东区公办小学",
        reported_by_school_types=[SchoolType.PRIMARY, SchoolType.NINE_YEAR],
        reported_by_ownership=[Ownership.PUBLIC],
    )
    figure.reported_by_within.set([tree.d1])
    figure = active_figures()[0]
    units = list(OrgUnit.objects.all())
    by_rule = codes(unit for unit in units if applies_to(figure, unit))
    by_query = codes(OrgUnit.objects.filter(ReportedBy.of(figure).q()))
    # Primary AND public AND inside D1: S1 and S2 — not S3 (西区), not K1 (kindergarten), not D1 itself.
    assert by_rule == by_query == {"S1", "S2"}
    assert ReportedBy.of(figure).sentence() == "东区的公办小学和九年一贯制学校，共 2 个单位"
    # Levels and types were OR-ed: a district-level figure with school types now names nobody.
    both = ReportedBy(levels=[Level.DISTRICT], school_types=[SchoolType.PRIMARY])
    assert not any(both.matches(unit) for unit in units)
    assert both.units() == 0


def test_a_figure_reports_only_between_its_periods(tree, setup) -> None:
    q2 = make_period(2023, 2)
    figure = Figure.objects.create(
        code="new_in_2023q1", name="新增项", reported_by_school_types=[SchoolType.PRIMARY], from_period=setup.q1,
        until_period=setup.q1,
    )  # fmt: skip
    pool = active_figures()
    assert figure not in figures_for_unit(tree.s1, pool, setup.q4)  # added later: 2022Q4 is not incomplete
    assert figure in figures_for_unit(tree.s1, pool, setup.q1)
    assert figure not in figures_for_unit(tree.s1, pool, q2)


def test_no_new_copy_of_the_rule() -> None:
    # The rule reads the reporting fields of a figure; only reporting.py may (a form or serializer names them as
    # field names in strings, not as attributes of a figure).
    pattern = re.compile(r"\.reported_by_(levels|school_types|ownership|within|top_areas|central_only)\b")
    copies = [
        str(path.relative_to(ROOT))
        for app in ("portal", "schools", "submissions", "indicators", "plans", "targets", "reports", "notifications")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        and path.name != "reporting.py"
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []


def test_the_data_migration_keeps_who_reports_or_stops(tree) -> None:
    migration = importlib.import_module("submissions.migrations.0007_figure_reported_by_and")
    same = Figure.objects.create(
        code="all_schools", name="所有学校", reported_by_levels=[Level.SCHOOL], reported_by_school_types=["primary"]
    )
    migration._or_to_and(apps, None)
    same.refresh_from_db()
    assert same.reported_by_school_types == []  # "school" OR primary = every school = levels ["school"]
    Figure.objects.create(
        code="mixed", name="混合", reported_by_levels=[Level.DISTRICT], reported_by_school_types=["primary"]
    )
    with pytest.raises(RuntimeError, match="mixed"):
        migration._or_to_and(apps, None)


# --- required, optional and 不适用 in the workflow ---


def make_optional_and_na(setup) -> None:  # noqa: ANN001
    Figure.objects.filter(code="central_joint_research").update(required=False)
    Figure.objects.filter(code="pri_enrolled").update(allows_not_applicable=True)


def test_submit_refuses_only_missing_required_figures_and_na_answers_one(users, setup, tree) -> None:
    make_optional_and_na(setup)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    values = {"pri_new_entrants": 100, "pri_new_entrants_migrant": 10}
    workflow.save_values(submission, users.alice, values, version=submission.version)
    with pytest.raises(ServiceError) as refused:
        workflow.submit(submission, users.alice)
    assert set(refused.value.errors) == {"pri_enrolled"}  # the optional activities may stay empty
    submission.refresh_from_db()
    workflow.save_values(submission, users.alice, {}, version=submission.version, not_applicable=["pri_enrolled"])
    workflow.submit(submission, users.alice)
    assert submission.status == SubmissionStatus.SUBMITTED
    stored = Value.objects.get(submission=submission, figure__code="pri_enrolled")
    assert (stored.value, stored.not_applicable) == (None, True)
    notes = SubmissionHistory.objects.filter(submission=submission, figure__code="pri_enrolled").values_list(
        "note", flat=True
    )
    assert list(notes) == ["不适用"]


def test_na_is_refused_where_not_allowed_and_together_with_a_number(users, setup, tree) -> None:
    make_optional_and_na(setup)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    with pytest.raises(ServiceError) as refused:
        workflow.save_values(
            submission, users.alice, {"pri_enrolled": 600}, version=submission.version,
            not_applicable=["pri_enrolled", "pri_new_entrants"],
        )  # fmt: skip
    assert refused.value.errors == {
        "pri_enrolled": ["“不适用”的项目不能同时填写数值"],
        "pri_new_entrants": ["此项不允许填“不适用”"],
    }
    assert not Value.objects.filter(submission=submission).exists()  # nothing half-written


def test_a_number_replaces_na(users, setup, tree) -> None:
    make_optional_and_na(setup)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    result = workflow.save_values(
        submission, users.alice, {}, version=submission.version, not_applicable=["pri_enrolled"]
    )
    workflow.save_values(submission, users.alice, {"pri_enrolled": 600}, version=result.submission.version)
    stored = Value.objects.get(submission=submission, figure__code="pri_enrolled")
    assert (stored.value, stored.not_applicable) == (600, False)


# --- API ---


def test_the_api_lists_the_figures_asked_for_and_takes_not_applicable(users, setup, tree) -> None:
    make_optional_and_na(setup)
    api = APIClient()
    api.force_authenticate(users.alice)
    created = api.post("/api/v1/submissions/", {"org_unit": "S1", "period": "2023Q1"}, format="json").json()
    assert created["figures"] == [
        {"code": "pri_new_entrants", "name": "小学新生数", "required": True},
        {"code": "pri_new_entrants_migrant", "name": "其中外来生", "required": True},
        {"code": "pri_enrolled", "name": "小学在校生数", "required": True},
        {"code": "central_joint_research", "name": "片区合作教研活动次数", "required": False},
    ]
    patched = api.patch(
        f"/api/v1/submissions/{created['id']}/",
        {"version": created["version"], "values": {"pri_new_entrants": 100}, "not_applicable": ["pri_enrolled"]},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["not_applicable"] == ["pri_enrolled"]
    assert patched.json()["values"] == {"pri_new_entrants": 100}


def test_a_figure_scope_that_selects_no_unit_is_refused_by_the_api_and_the_form(users, setup, tree) -> None:
    api = APIClient()
    api.force_authenticate(users.bea)
    payload = {
        "code": "nobody", "name": "无人填报", "value_type": "integer", "time_aggregation": "flow",
        "unit_aggregation": "sum", "reported_by": {"school_types": ["senior"], "within": ["D1"]},
    }  # fmt: skip
    refused = api.post("/api/v1/figures/", payload, format="json")
    assert refused.status_code == 400
    assert "没有任何单位" in str(refused.json())
    payload["reported_by"] = {"school_types": ["primary"], "within": ["D2"], "ownership": ["public"]}
    created = api.post("/api/v1/figures/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["reported_by"]["within"] == ["D2"]
    assert list(Figure.objects.get(code="nobody").reported_by_within.all()) == [tree.d2]
    form = FigureForm(
        data={
            "code": "x",
            "name": "x",
            "value_type": "integer",
            "time_aggregation": "flow",
            "unit_aggregation": "sum",
            "reported_by_school_types": ["senior"],
            "required": "on",
            "order": "0",
        }  # fmt: skip
    )
    assert not form.is_valid()
    assert "按这些条件没有任何单位填报此项，请调整填报条件" in form.non_field_errors()
    assert form.reported_by_sentence() == "高中，共 0 个单位"
    assert not Figure.objects.filter(code="x").exists()


def test_the_figure_page_says_who_reports(client, users, setup, tree) -> None:
    figure = Figure.objects.get(code="pri_new_entrants")
    figure.reported_by_within.set([tree.d1])
    client.force_login(users.bea)
    page = client.get(reverse("submissions:figure_update", args=["pri_new_entrants"])).content.decode()
    assert "东区的小学，共 2 个单位" in page


# --- the principal's form and the Excel template ---


def test_the_form_offers_na_and_shows_it(client, users, setup, tree) -> None:
    make_optional_and_na(setup)
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    client.force_login(users.alice)
    url = reverse("submissions:submission_detail", args=[submission.pk])
    page = client.get(url).content.decode()
    assert 'name="na_pri_enrolled"' in page
    assert 'name="na_pri_new_entrants"' not in page
    posted = {
        "version": submission.version,
        **{f"v_{code}": v for code, v in S1_CLEAN.items()},
        "na_pri_enrolled": "on",
    }
    refused = client.post(url, posted)
    assert refused.status_code == 400
    assert "“不适用”的项目不能同时填写数值" in refused.content.decode()
    posted["v_pri_enrolled"] = ""
    assert client.post(url, posted).status_code == 302
    assert Value.objects.get(submission=submission, figure__code="pri_enrolled").not_applicable


def test_the_template_marks_optional_figures_and_takes_na_where_allowed(client, users, setup, tree) -> None:
    make_optional_and_na(setup)
    client.force_login(users.alice)
    content = download(client, "2023Q1", "S1")
    sheet = load_workbook(io.BytesIO(content))[DATA_SHEET]
    col = columns(content)
    assert sheet.cell(row=1, column=col["central_joint_research"]).value == "片区合作教研活动次数（选填）"
    assert sheet.cell(row=1, column=col["pri_enrolled"]).value == "小学在校生数"
    refused = upload(client, fill(content, {("S1", "pri_new_entrants"): "不适用"}), "2023Q1")
    assert refused.status_code == 400
    assert "此项不允许填“不适用”" in refused.content.decode()
    assert "D3" in refused.content.decode()  # the cell: row 3 (S1), column D (the first figure)
    accepted = upload(client, fill(content, {("S1", "pri_enrolled"): "N/A"}), "2023Q1")
    assert accepted.status_code == 200
    assert Value.objects.get(submission__org_unit=tree.s1, figure__code="pri_enrolled").not_applicable
    again = download(client, "2023Q1", "S1")
    assert load_workbook(io.BytesIO(again))[DATA_SHEET].cell(
        row=rows(again)["S1"], column=col["pri_enrolled"]
    ).value == ("不适用")


def test_the_submission_page_costs_the_same_however_many_scoped_figures(client, users, setup, tree) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    client.force_login(users.alice)
    url = reverse("submissions:submission_detail", args=[submission.pk])

    def scoped(n: int) -> None:
        for i in range(n):
            figure = Figure.objects.create(
                code=f"scoped_{n}_{i}", name=f"区域项{i}", reported_by_school_types=[SchoolType.PRIMARY],
                from_period=setup.q4, until_period=setup.q1,
            )  # fmt: skip
            figure.reported_by_within.set([tree.d1, tree.t1])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    scoped(1)
    few = count()
    scoped(6)
    assert count() == few


def test_a_stage_figure_says_which_part_a_school_spanning_stages_reports(tree) -> None:
    from schools.models import Stage

    figure = Figure.objects.create(
        code="pri_pupils_part",
        name="小学部在校生数",
        stage=Stage.PRIMARY,
        reported_by_school_types=[SchoolType.PRIMARY, SchoolType.NINE_YEAR],
    )
    assert ReportedBy.of(figure).describe() == "小学和九年一贯制学校（九年一贯制学校只填其小学部）"
    figure.stage = Stage.JUNIOR
    figure.reported_by_school_types = [SchoolType.JUNIOR, SchoolType.NINE_YEAR, SchoolType.COMPLETE_SECONDARY]
    said = ReportedBy.of(figure).describe()
    assert said.endswith("只填其初中部）")
    assert "九年一贯制学校、完全中学只填" in said
    # Schools of one stage report the figure whole: nothing to add.
    figure.reported_by_school_types = [SchoolType.JUNIOR]
    assert ReportedBy.of(figure).describe() == "初中"
