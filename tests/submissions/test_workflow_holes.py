"""Issue 16: holes in the submission workflow and the pages around it.

- bulk approval's ``next`` field only redirects within the site;
- the web workflow actions answer 404 for a submission outside the user's scope, as for a missing one;
- a save that changes nothing does not move the version (and writes no history row);
- explanation keys must be rule codes (or ``change_<figure>``), bounded in number; a lone surrogate is a 400;
- toggling 零报告 is recorded in the submission's history;
- the target preview answers 400, not 500, on a non-numeric id.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from submissions.models import Submission, SubmissionHistory, SubmissionStatus
from submissions.workflow import MAX_EXPLANATIONS
from tests.submissions.conftest import S1_CLEAN, make_submission


def _detail(submission: Submission) -> str:
    return reverse("submissions:submission_detail", args=[submission.pk])


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", "http:\\\\evil.example"])
def test_bulk_approve_does_not_redirect_off_site(client: Client, setup, users, tree, target: str) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.rita)
    response = client.post(reverse("submissions:review_bulk_approve"), {"ids": [submission.pk], "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("submissions:review_list")


def test_bulk_approve_still_returns_to_a_local_page(client: Client, setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.rita)
    local = reverse("submissions:review_list") + "?period=2023Q1"
    response = client.post(reverse("submissions:review_bulk_approve"), {"ids": [submission.pk], "next": local})
    assert response["Location"] == local
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.APPROVED


@pytest.mark.parametrize("action", ["approve", "return", "reopen", "delete"])
def test_web_actions_answer_the_same_for_out_of_scope_and_missing(client: Client, setup, users, tree, action) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.rob)  # reviewer of the other district
    data = {"version": submission.version, "reason": "请核实"}
    out_of_scope = client.post(reverse("submissions:submission_action", args=[submission.pk, action]), data)
    missing = client.post(reverse("submissions:submission_action", args=[submission.pk + 999, action]), data)
    assert (out_of_scope.status_code, missing.status_code) == (404, 404)
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.SUBMITTED


def test_a_visible_submission_the_user_may_not_act_on_is_still_403(client: Client, setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.alice)  # her own school: she sees it, she does not approve it
    response = client.post(reverse("submissions:submission_action", args=[submission.pk, "approve"]), {"version": 1})
    assert response.status_code == 403


def test_an_api_save_that_changes_nothing_keeps_the_version(setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    api = APIClient()
    api.force_authenticate(users.alice)
    url = f"/api/v1/submissions/{submission.pk}/"
    response = api.patch(url, {"version": 1, "values": S1_CLEAN, "is_zero_report": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 1
    assert Submission.objects.get(pk=submission.pk).version == 1
    assert not SubmissionHistory.objects.filter(submission=submission).exists()
    changed = api.patch(url, {"version": 1, "values": {"pri_new_entrants": 101}}, format="json")
    assert changed.json()["version"] == 2
    assert SubmissionHistory.objects.filter(submission=submission, version=2).count() == 1


def test_a_form_save_that_changes_nothing_keeps_the_version(client: Client, setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    client.force_login(users.alice)
    post = {f"v_{code}": str(value) for code, value in S1_CLEAN.items()} | {"version": "1"}
    assert client.post(_detail(submission), post).status_code == 302
    assert Submission.objects.get(pk=submission.pk).version == 1
    assert not SubmissionHistory.objects.filter(submission=submission).exists()


@pytest.mark.parametrize(
    "explanations",
    [
        {"no_such_rule": "扩招"},
        {'=HYPERLINK("http://evil.example","x")': "扩招"},
        {f"k{i}": "x" for i in range(MAX_EXPLANATIONS + 1)},
    ],
    ids=["unknown", "formula", "too-many"],
)
def test_explanation_keys_must_be_rule_codes(setup, users, tree, explanations) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1)
    api = APIClient()
    api.force_authenticate(users.alice)
    body = {"version": 1, "values": {"pri_new_entrants": 5}, "explanations": explanations}
    response = api.patch(f"/api/v1/submissions/{submission.pk}/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["explanations"]
    submission.refresh_from_db()
    assert (submission.version, submission.explanations) == (1, {})


def test_known_explanation_keys_are_stored(setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1)
    api = APIClient()
    api.force_authenticate(users.alice)
    explanations = {"entrants_half_enrolled": "扩招", "change_pri_enrolled": "新校区启用"}
    body = {"version": 1, "values": {}, "explanations": explanations}
    response = api.patch(f"/api/v1/submissions/{submission.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    assert Submission.objects.get(pk=submission.pk).explanations == explanations


@pytest.mark.parametrize("where", ["key", "text"])
def test_a_lone_surrogate_in_an_explanation_is_a_400(setup, users, tree, where: str) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1)
    api = APIClient()
    api.force_authenticate(users.alice)
    pair = '"\\ud800": "x"' if where == "key" else '"entrants_half_enrolled": "\\udfff"'
    raw = '{"version": 1, "values": {}, "explanations": {' + pair + "}}"
    response = api.generic("PATCH", f"/api/v1/submissions/{submission.pk}/", raw, content_type="application/json")
    assert response.status_code == 400
    assert json.loads(response.content)["errors"]
    assert Submission.objects.get(pk=submission.pk).explanations == {}


def test_toggling_zero_report_is_in_the_history(client: Client, setup, users, tree) -> None:  # noqa: ANN001
    submission = make_submission(tree.s1, setup.q1)
    api = APIClient()
    api.force_authenticate(users.alice)
    url = f"/api/v1/submissions/{submission.pk}/"
    assert api.patch(url, {"version": 1, "is_zero_report": True}, format="json").json()["version"] == 2
    assert api.patch(url, {"version": 2, "is_zero_report": False}, format="json").json()["version"] == 3
    notes = list(SubmissionHistory.objects.filter(submission=submission).values_list("version", "note", "channel"))
    assert notes == [(2, "标记为零报告", "api"), (3, "取消零报告", "api")]
    history = api.get(f"{url}history/").json()
    assert [h["note"] for h in history] == ["标记为零报告", "取消零报告"]
    client.force_login(users.alice)
    assert "标记为零报告" in client.get(_detail(submission)).content.decode()


@pytest.mark.parametrize("param", ["indicator", "scope"])
@pytest.mark.parametrize("value", ["abc", "1.5", "١", "9" * 40])
def test_the_target_preview_answers_400_on_a_non_numeric_id(client: Client, users, tree, param, value) -> None:  # noqa: ANN001
    from plans.models import Plan

    Plan.objects.create(code="p23", title="计划", year=2023, owner_unit=tree.city)
    client.force_login(users.bea)
    response = client.get(reverse("plans:target_preview", args=["p23"]), {param: value})
    assert response.status_code == 400
    assert param in response.json()["errors"]
