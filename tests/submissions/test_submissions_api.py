"""The submissions API: same rules as the web form, natural keys, scope, 409 on a stale version."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from submissions.models import Figure, Period, Submission, SubmissionHistory, SubmissionStatus, Value
from tests.submissions.conftest import S1_CLEAN, make_submission


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_a_principal_creates_fills_and_submits_through_the_api(api, setup, users, tree):
    as_user(api, users.alice)
    created = api.post("/api/v1/submissions/", {"org_unit": "S1", "period": "2023Q1"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["org_unit"], body["period"], body["status"], body["version"]) == ("S1", "2023Q1", "draft", 1)

    patched = api.patch(f"/api/v1/submissions/{body['id']}/", {"version": 1, "values": S1_CLEAN}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["values"] == S1_CLEAN
    assert patched.json()["version"] == 2

    submitted = api.post(f"/api/v1/submissions/{body['id']}/submit/", {"version": 2}, format="json")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"

    history = api.get(f"/api/v1/submissions/{body['id']}/history/").json()
    changes = [(h["figure"], h["old"], h["new"], h["channel"], h["user"]) for h in history if h["figure"]]
    assert ("pri_new_entrants", None, 100, "api", "alice") in changes
    assert [h["action"] for h in history][-1] == "submit"


def test_a_stale_patch_is_409_and_nothing_changes(api, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, pri_new_entrants=100)
    submission.version = 3
    submission.save()
    response = as_user(api, users.alice).patch(
        f"/api/v1/submissions/{submission.pk}/", {"version": 2, "values": {"pri_new_entrants": 5}}, format="json"
    )
    assert response.status_code == 409
    assert "数据已被他人修改" in response.json()["errors"]["version"][0]
    assert Value.objects.get(submission=submission).value == Decimal(100)


def test_a_bad_value_is_400_naming_the_figure_and_translated_per_language(api, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    url = f"/api/v1/submissions/{submission.pk}/"
    response = as_user(api, users.alice).patch(url, {"version": 1, "values": {"pri_enrolled": 9999}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"pri_enrolled": ["不能大于 5000"]}}
    assert not Value.objects.exists()


@pytest.mark.parametrize(
    ("explanations", "field", "message"),
    [
        # Found by the form fuzzer on PostgreSQL: jsonb cannot hold \u0000, the UPDATE failed with a 500.
        ({"\u0000": "扩招"}, "explanations", "说明对应的规则代码无效"),
        ({"r" * 101: "扩招"}, "explanations", "说明对应的规则代码无效"),
        ({"entrants_half_enrolled": "扩\u0007招"}, "explanations.entrants_half_enrolled", "说明含有无法保存的控制字符"),
    ],
)
def test_an_explanation_with_control_characters_is_400_and_nothing_is_stored(
    api, setup, users, tree, explanations, field, message
):
    submission = make_submission(tree.s1, setup.q1)
    url = f"/api/v1/submissions/{submission.pk}/"
    body = {"version": 1, "values": {"pri_new_entrants": 5}, "explanations": explanations}
    response = as_user(api, users.alice).patch(url, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}
    submission.refresh_from_db()
    assert (submission.version, submission.explanations) == (1, {})
    assert not Value.objects.exists()


def test_scope_404_for_reads_403_for_writes(api, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    as_user(api, users.bob)
    assert api.get(f"/api/v1/submissions/{submission.pk}/").status_code == 404
    assert api.get(f"/api/v1/submissions/{submission.pk}/history/").status_code == 404
    assert api.get("/api/v1/submissions/").json()["results"] == []
    patch = api.patch(f"/api/v1/submissions/{submission.pk}/", {"version": 1, "values": {}}, format="json")
    assert patch.status_code == 403
    as_user(api, users.rob)  # reviewer of the other district
    assert api.post(f"/api/v1/submissions/{submission.pk}/approve/", {}, format="json").status_code == 403
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.SUBMITTED


def test_reviewer_returns_and_admin_reopens_with_reasons(api, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    url = f"/api/v1/submissions/{submission.pk}/"
    as_user(api, users.rita)
    no_reason = api.post(url + "return/", {"version": 1}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == {"reason": ["请填写原因"]}
    returned = api.post(url + "return/", {"version": 1, "reason": "外来生数请核对"}, format="json")
    assert returned.json()["status"] == "returned"
    assert returned.json()["return_reason"] == "外来生数请核对"
    # Approving a returned submission is a state error: 409.
    assert api.post(url + "approve/", {}, format="json").status_code == 409

    submission.refresh_from_db()
    submission.status = SubmissionStatus.APPROVED
    submission.save()
    assert api.post(url + "reopen/", {"reason": "x"}, format="json").status_code == 403
    reopened = as_user(api, users.bea).post(url + "reopen/", {"reason": "发现录入错误"}, format="json")
    assert reopened.json()["status"] == "draft"
    assert SubmissionHistory.objects.filter(submission=submission, action="reopen", channel="api").count() == 1


def test_the_list_is_scoped_and_filtered_with_warnings(api, setup, users, tree):
    make_submission(tree.s1, setup.q1, **(S1_CLEAN | {"pri_new_entrants": 400}))  # warns: 400 > 600 × 0.5
    make_submission(tree.k1, setup.q1, status=SubmissionStatus.SUBMITTED, kg_enrolled=80)
    make_submission(tree.s3, setup.q1, pri_new_entrants=1)
    body = as_user(api, users.rita).get("/api/v1/submissions/?period=2023Q1").json()
    assert [row["org_unit"] for row in body["results"]] == ["S1", "K1"]
    assert body["results"][0]["warnings"][0]["code"] == "entrants_half_enrolled"
    body = api.get("/api/v1/submissions/?status=submitted").json()
    assert [row["org_unit"] for row in body["results"]] == ["K1"]


# --- figures and periods ---


def test_only_bureau_admins_define_figures(api, setup, users):
    payload = {
        "code": "pri_classes", "name": "小学班级数", "value_type": "integer", "time_aggregation": "stock",
        "unit_aggregation": "sum", "min_value": 0, "max_value": 500,
        "reported_by": {"school_types": ["primary"], "levels": []},
    }  # fmt: skip
    assert as_user(api, users.rita).post("/api/v1/figures/", payload, format="json").status_code == 403
    created = as_user(api, users.bea).post("/api/v1/figures/", payload, format="json")
    assert created.status_code == 201, created.json()
    figure = Figure.objects.get(code="pri_classes")
    assert (figure.reported_by_school_types, figure.max_value) == (["primary"], Decimal(500))
    read = api.get("/api/v1/figures/pri_classes/").json()
    assert read["reported_by"] == {
        "levels": [],
        "school_types": ["primary"],
        "ownership": [],
        "within": [],
        "central_only": False,
        "top_areas": False,
    }
    assert read["max_value"] == 500

    bad = api.patch("/api/v1/figures/pri_classes/", {"min_value": 600}, format="json")
    assert bad.status_code == 400
    assert "max_value" in bad.json()["errors"]


def test_periods_are_created_by_code(api, setup, users):
    as_user(api, users.bea)
    payload = {"code": "2023q2", "opens_on": "2023-07-01", "due_on": "2023-07-10", "locks_on": "2023-07-31"}
    created = api.post("/api/v1/periods/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["code"], created.json()["quarter"]) == ("2023Q2", 2)
    assert Period.objects.filter(year=2023, quarter=2).exists()
    bad = api.post("/api/v1/periods/", payload | {"code": "2023Q5"}, format="json")
    assert bad.status_code == 400
    assert api.get("/api/v1/periods/2023Q1/").json()["due_on"] == "2023-04-10"


def test_a_figure_created_without_a_range_answers_with_the_default_minimum(api, setup, users):
    created = as_user(api, users.bea).post("/api/v1/figures/", {"code": "api_fig", "name": "接口填报项"}, format="json")
    assert created.status_code == 201, created.content[:300]
    assert (created.json()["min_value"], created.json()["max_value"]) == (0, None)


@pytest.mark.parametrize("raw", ["1e999999999", "-1e999999999", "1e15"])
def test_a_huge_exponent_is_a_clear_error_not_a_crash(api, setup, users, tree, raw):
    submission = make_submission(tree.s1, setup.q1)
    response = as_user(api, users.alice).patch(
        f"/api/v1/submissions/{submission.pk}/", {"version": 1, "values": {"pri_new_entrants": raw}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"pri_new_entrants": ["数值过大"]}}
    assert not Value.objects.filter(submission=submission).exists()
