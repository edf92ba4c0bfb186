"""Checking the submission form as the principal types (POST submissions/<id>/check/).

The endpoint runs the same service as a save (``workflow.check_values``: ``parse_value``, the 不适用 check, the
rules and the change warnings) and stores nothing; its messages are compared with what a real save says.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.errors import ServiceError
from schools.models import Level, Ownership, SchoolType
from submissions import workflow
from submissions.models import Figure, Submission, SubmissionHistory, SubmissionStatus, Value
from tests.conftest import make_unit
from tests.submissions.conftest import S1_CLEAN, make_submission


def check(client, submission: Submission, **fields: Any):
    url = reverse("submissions:submission_check", args=[submission.pk])
    data = {"version": submission.version}
    data.update({f"v_{code}": value for code, value in fields.items() if not code.startswith(("na_", "x_"))})
    data.update({code: value for code, value in fields.items() if code.startswith(("na_", "x_"))})
    return client.post(url, data)


def messages_of(payload: dict[str, Any], code: str, level: str | None = None) -> list[str]:
    return [m["text"] for m in payload["figures"][code]["messages"] if level is None or m["level"] == level]


def save_says(user, submission: Submission, values: dict[str, Any], not_applicable: tuple[str, ...] = ()):
    """What a real save says about these values: its refusal ({code: [message]}) or its rule issues; rolled back."""
    try:
        with transaction.atomic():
            result = workflow.save_values(
                submission, user, values, version=submission.version, not_applicable=not_applicable
            )
            transaction.set_rollback(True)
    except ServiceError as exc:
        return exc.errors, []
    return {}, result.issues


def snapshot_of_db(submission: Submission) -> tuple[Any, ...]:
    submission.refresh_from_db()
    return (
        submission.version,
        submission.updated_at,
        submission.explanations,
        list(Value.objects.filter(submission=submission).values_list("figure__code", "value", "not_applicable")),
        SubmissionHistory.objects.filter(submission=submission).count(),
    )


@pytest.fixture
def draft(setup, tree):
    return make_submission(tree.s1, setup.q1, **S1_CLEAN)


def test_a_value_out_of_range_gets_the_saves_message(client, users, draft):
    client.force_login(users.alice)
    typed = {**S1_CLEAN, "pri_enrolled": "6000"}
    response = check(client, draft, **typed)
    assert response.status_code == 200
    refused, _ = save_says(users.alice, draft, typed)
    assert refused["pri_enrolled"] == ["不能大于 5000"]
    assert messages_of(response.json(), "pri_enrolled", "error") == refused["pri_enrolled"]
    assert response.json()["open"] == 1
    assert response.json()["open_text"] == "还有 1 处需要处理才能提交。"


def test_not_a_number_and_a_fraction_of_an_integer_are_refused_as_a_save_would(client, users, draft):
    client.force_login(users.alice)
    typed = {**S1_CLEAN, "pri_new_entrants": "abc", "central_joint_research": "1.5"}
    payload = check(client, draft, **typed).json()
    refused, _ = save_says(users.alice, draft, typed)
    assert messages_of(payload, "pri_new_entrants", "error") == refused["pri_new_entrants"] == ["请输入数字"]
    assert messages_of(payload, "central_joint_research", "error") == refused["central_joint_research"]


def test_an_error_rule_is_reported_on_its_first_figure_as_the_save_reports_it(client, users, draft):
    client.force_login(users.alice)
    typed = {**S1_CLEAN, "pri_new_entrants_migrant": "150"}  # more migrants than entrants
    payload = check(client, draft, **typed).json()
    _, issues = save_says(users.alice, draft, typed)
    assert [(i.key, i.field, i.message) for i in issues] == [
        ("migrant_le_entrants", "pri_new_entrants_migrant", "外来生数不能超过新生数")
    ]
    assert payload["figures"]["pri_new_entrants_migrant"]["messages"] == [
        {"level": "error", "text": "外来生数不能超过新生数", "key": "migrant_le_entrants"}
    ]
    assert payload["open"] == 1


def test_a_warning_and_a_change_warning_come_with_their_keys_and_count_until_explained(client, users, setup, tree):
    before = make_submission(tree.s1, setup.q4, status=SubmissionStatus.APPROVED, pri_enrolled=600)
    assert before.pk
    draft = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    client.force_login(users.alice)
    typed = {**S1_CLEAN, "pri_enrolled": "150"}  # entrants > half the enrolled, and −75 % on last quarter
    payload = check(client, draft, **typed).json()
    _, issues = save_says(users.alice, draft, typed)
    said = {(m["key"], m["text"]) for code in payload["figures"] for m in payload["figures"][code]["messages"]}
    assert said == {(i.key, i.message) for i in issues}
    assert {i.key for i in issues} == {"entrants_half_enrolled", "change_pri_enrolled"}
    assert all(m["level"] == "warning" for code in payload["figures"] for m in payload["figures"][code]["messages"])
    assert payload["open"] == 2  # two warnings without an explanation block a submit
    explained = check(client, draft, **typed, x_entrants_half_enrolled="扩班", x_change_pri_enrolled="学校分设").json()
    assert explained["open"] == 0
    assert explained["open_text"] == ""
    assert explained["figures"]["pri_enrolled"]["messages"]  # still said, no longer blocking


def test_not_applicable_is_checked_as_a_save_checks_it(client, users, draft):
    client.force_login(users.alice)
    ticked = {**S1_CLEAN, "central_joint_research": "", "na_central_joint_research": "on"}
    # A figure that does not allow 不适用: the save's refusal.
    payload = check(client, draft, **ticked).json()
    refused, _ = save_says(users.alice, draft, {**S1_CLEAN, "central_joint_research": ""}, ("central_joint_research",))
    assert refused["central_joint_research"] == ["此项不允许填“不适用”"]
    assert messages_of(payload, "central_joint_research") == refused["central_joint_research"]
    # Allowed: 不适用 answers the figure, nothing to say, nothing open.
    Figure.objects.filter(code="central_joint_research").update(allows_not_applicable=True)
    payload = check(client, draft, **ticked).json()
    assert messages_of(payload, "central_joint_research") == []
    assert payload["open"] == 0
    # An empty required figure without 不适用 is open (counted), as a submit would refuse it.
    payload = check(client, draft, **{**S1_CLEAN, "central_joint_research": ""}).json()
    assert payload["open"] == 1


def test_the_check_stores_nothing(client, users, draft):
    client.force_login(users.alice)
    before = snapshot_of_db(draft)
    response = check(
        client, draft, **{**S1_CLEAN, "pri_enrolled": "700", "pri_new_entrants": "99"}, x_entrants_half_enrolled="说明"
    )
    assert response.status_code == 200
    assert snapshot_of_db(draft) == before


def test_other_units_submissions_are_refused_by_the_scope(client, users, setup, tree):
    other = make_submission(tree.s3, setup.q1, **S1_CLEAN)
    sibling = make_submission(tree.s2, setup.q1)
    client.force_login(users.alice)
    assert check(client, other, **S1_CLEAN).status_code == 404  # outside her scope: as if missing
    client.force_login(users.rita)  # reviewer of D1: sees S2's draft, does not fill it
    assert check(client, sibling, **S1_CLEAN).status_code == 403
    assert check(client, other, **S1_CLEAN).status_code == 404


def test_a_submission_that_cannot_be_edited_says_why(client, users, setup, tree):
    submitted = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.alice)
    response = check(client, submitted, **S1_CLEAN)
    assert response.status_code == 409
    assert "不能修改数据" in response.json()["errors"]["non_field_errors"][0]


def test_the_check_needs_post_and_a_csrf_token(users, draft):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users.alice)
    url = reverse("submissions:submission_check", args=[draft.pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url, {"v_pri_enrolled": "1"}).status_code == 403


def test_query_count_does_not_grow_with_the_number_of_schools(client, users, setup, tree, draft):
    client.force_login(users.alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert check(client, draft, **{**S1_CLEAN, "pri_enrolled": "6000"}).status_code == 200
        return len(ctx)

    few = queries()
    for n in range(30):
        school = make_unit(
            f"X{n}", f"学校{n}", Level.SCHOOL, tree.t1, school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC
        )
        make_submission(school, setup.q1, **S1_CLEAN)
        make_submission(school, setup.q4, pri_enrolled=500)
    assert queries() == few


def test_the_form_loads_the_checker_only_when_editable(client, users, setup, tree, draft):
    client.force_login(users.alice)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "js/submission-check.js" in page
    assert reverse("submissions:submission_check", args=[draft.pk]) in page
    assert 'data-figure="pri_enrolled"' in page
    client.force_login(users.rita)
    assert "js/submission-check.js" not in client.get(draft.get_absolute_url()).content.decode()


def test_what_still_blocks_a_submit_is_given_per_row_beyond_the_rule_messages(client, users, draft):
    client.force_login(users.alice)
    typed = {**S1_CLEAN, "central_joint_research": "", "pri_enrolled": "150"}  # a missing figure, a warning
    payload = check(client, draft, **typed).json()
    assert payload["figures"]["central_joint_research"]["blocking"] == [
        {"level": "error", "text": "请填写此项", "key": ""}
    ]
    # the unexplained warning is said by its rule message already: not repeated as a blocking line
    assert payload["figures"]["pri_new_entrants"]["blocking"] == []
    assert payload["open"] == 2


def test_the_form_keeps_saying_what_blocks_after_a_refused_submit(client, users, draft):
    client.force_login(users.alice)
    assert "data-show-blocking" not in client.get(draft.get_absolute_url()).content.decode()
    data = {"version": draft.version, "op": "submit"}
    data.update({f"v_{code}": value for code, value in S1_CLEAN.items() if code != "pri_enrolled"})
    refused = client.post(draft.get_absolute_url(), data)
    assert refused.status_code == 400
    assert "data-show-blocking" in refused.content.decode()
