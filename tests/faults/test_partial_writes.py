"""A database error halfway through a request leaves nothing half-written.

Each test lets the request write its first rows (values, the status change, the version bump) and then
makes a later statement of the same transaction fail with ``DatabaseError``, as a full disk, a killed
connection or a failing trigger would. Afterwards the submission's row, its values and its history are
exactly as before, and no pending recompute exists. The user is told so: pages answer 500 with the
translated error page, the API 503 with ``{"errors": {"non_field_errors": [...]}}``, both saying that
nothing was saved. On PostgreSQL one more test makes the database itself refuse the history row with a trigger.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.test import Client

from indicators.models import PendingRecompute
from submissions import workflow
from submissions.models import Submission, SubmissionHistory, SubmissionStatus, Value
from tests.faults.world import World, build_world, state_of
from tests.submissions.test_xlsx_support import download, fill, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(tree: Any) -> World:
    return build_world(tree)


@pytest.fixture
def draft(tree: Any, users: Any, world: World) -> Submission:
    """S1's draft with one value saved through the workflow (so there is history to keep intact)."""
    submission = workflow.open_submission(users.alice, tree.s1, world.period)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 90}, version=submission.version)
    return Submission.objects.get(pk=submission.pk)


@pytest.fixture
def submitted(users: Any, draft: Submission) -> Submission:
    workflow.save_values(draft, users.alice, {"pri_enrolled": 500}, version=draft.version)
    draft.refresh_from_db()
    workflow.submit(draft, users.alice, version=draft.version)
    return Submission.objects.get(pk=draft.pk)


def logged_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)  # what a browser gets: a response, not a traceback
    client.force_login(user)
    return client


@contextmanager
def history_insert_fails() -> Iterator[list[str]]:
    """The bulk history INSERT of a save fails: the values and the version bump were already written."""
    original = workflow._insert_rows
    calls: list[str] = []

    def insert_rows(model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        calls.append(model.__name__)
        if model is SubmissionHistory:
            raise DatabaseError("disk full (simulated)")
        original(model, columns, rows)

    with mock.patch.object(workflow, "_insert_rows", insert_rows):
        yield calls


@contextmanager
def step_history_fails() -> Iterator[None]:
    """The history row of a workflow step fails: the status and version were already saved."""
    with mock.patch.object(SubmissionHistory.objects, "create", side_effect=DatabaseError("disk full (simulated)")):
        yield


@contextmanager
def pending_row_fails() -> Iterator[None]:
    """The approval's pending recompute row fails: status, version and history row were already written."""
    with mock.patch.object(PendingRecompute.objects, "create", side_effect=DatabaseError("disk full (simulated)")):
        yield


NOTHING_SAVED = "服务器暂时出错，本次操作没有保存任何数据，请稍后重试。"


def assert_page_says_nothing_was_saved(response: Any) -> None:
    assert response.status_code == 500
    assert NOTHING_SAVED in response.content.decode()


def assert_api_says_nothing_was_saved(response: Any) -> None:
    assert response.status_code == 503
    assert response.json() == {"errors": {"non_field_errors": [NOTHING_SAVED]}}


def assert_value_rows_were_written_first(calls: list[str]) -> None:
    # The fault really is halfway: the values went in before the history insert failed.
    assert calls == ["Value", "SubmissionHistory"]


def test_form_save(users: Any, draft: Submission) -> None:
    before = state_of(draft)
    with history_insert_fails() as calls:
        response = logged_in(users.alice).post(
            f"/submissions/{draft.pk}/",
            {"v_pri_new_entrants": "120", "v_pri_enrolled": "600", "version": draft.version, "op": "save"},
        )
    assert_value_rows_were_written_first(calls)
    assert_page_says_nothing_was_saved(response)
    assert state_of(draft) == before


def test_form_submit(users: Any, draft: Submission) -> None:
    # The form's "save and submit" is one transaction: when the submit step fails, the save goes too.
    before = state_of(draft)
    with step_history_fails():
        response = logged_in(users.alice).post(
            f"/submissions/{draft.pk}/",
            {"v_pri_new_entrants": "120", "v_pri_enrolled": "600", "version": draft.version, "op": "submit"},
        )
    assert_page_says_nothing_was_saved(response)
    assert state_of(draft) == before
    draft.refresh_from_db()
    assert draft.status == SubmissionStatus.DRAFT
    assert draft.submitted_at is None


def test_api_submit(users: Any, draft: Submission) -> None:
    workflow.save_values(draft, users.alice, {"pri_enrolled": 500}, version=draft.version)
    draft.refresh_from_db()
    before = state_of(draft)
    with step_history_fails():
        response = logged_in(users.alice).post(
            f"/api/v1/submissions/{draft.pk}/submit/", {"version": draft.version}, content_type="application/json"
        )
    assert_api_says_nothing_was_saved(response)
    assert state_of(draft) == before
    draft.refresh_from_db()
    assert draft.submitted_at is None


@pytest.mark.parametrize("fault", [step_history_fails, pending_row_fails], ids=["history", "pending-recompute"])
def test_web_approve(users: Any, submitted: Submission, fault: Any) -> None:
    before = state_of(submitted)
    with fault():
        response = logged_in(users.rita).post(f"/submissions/{submitted.pk}/approve/", {"version": submitted.version})
    assert_page_says_nothing_was_saved(response)
    assert state_of(submitted) == before
    assert not PendingRecompute.objects.exists()
    submitted.refresh_from_db()
    assert submitted.approved_at is None


def test_api_approve(users: Any, submitted: Submission) -> None:
    before = state_of(submitted)
    url = f"/api/v1/submissions/{submitted.pk}/approve/"
    with pending_row_fails():
        response = logged_in(users.rita).post(url, {"version": submitted.version}, content_type="application/json")
    assert_api_says_nothing_was_saved(response)
    assert state_of(submitted) == before
    assert not PendingRecompute.objects.exists()


def test_api_patch(users: Any, draft: Submission) -> None:
    before = state_of(draft)
    with history_insert_fails() as calls:
        response = logged_in(users.alice).patch(
            f"/api/v1/submissions/{draft.pk}/",
            {"version": draft.version, "values": {"pri_new_entrants": 120, "pri_enrolled": 600}},
            content_type="application/json",
        )
    assert_value_rows_were_written_first(calls)
    assert_api_says_nothing_was_saved(response)
    assert state_of(draft) == before


def test_excel_upload_of_a_district(tree: Any, users: Any, world: World, draft: Submission) -> None:
    # bea uploads D1's template: S1 (existing draft, changed) and S2 (new submission) in one transaction
    client = logged_in(users.bea)
    content = download(client, world.period.code, "D1")
    filled = fill(
        content,
        {
            ("S1", "pri_new_entrants"): 130,
            ("S1", "pri_enrolled"): 700,
            ("S2", "pri_new_entrants"): 20,
            ("S2", "pri_enrolled"): 200,
        },
    )
    before = state_of(draft)
    with history_insert_fails() as calls:
        response = upload(client, filled, world.period.code)
    assert_value_rows_were_written_first(calls)
    assert_page_says_nothing_was_saved(response)
    assert state_of(draft) == before
    assert not Submission.objects.filter(org_unit=tree.s2).exists()  # the new submission is gone too
    assert not Value.objects.filter(submission__org_unit=tree.s2).exists()


@pytest.fixture
def refusing_trigger(db: None) -> Iterator[None]:
    """PostgreSQL itself refuses a history row whose new value is 4321 (no Python patch involved)."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigger needs PostgreSQL (the patched tests above cover SQLite)")
    table = SubmissionHistory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION faults_refuse_history() RETURNS trigger AS $$ BEGIN "
            "IF NEW.new_value = 4321 THEN RAISE EXCEPTION 'refused by trigger'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER faults_refuse_history BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION faults_refuse_history()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS faults_refuse_history ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS faults_refuse_history()")


def patch_refused_by_trigger(users: Any, draft: Submission) -> Any:
    return logged_in(users.alice).patch(
        f"/api/v1/submissions/{draft.pk}/",
        {"version": draft.version, "values": {"pri_new_entrants": 4321, "pri_enrolled": 600}},
        content_type="application/json",
    )


def test_a_database_trigger_refusing_the_history_row_leaves_nothing(
    users: Any, draft: Submission, refusing_trigger: None
) -> None:
    before = state_of(draft)
    response = patch_refused_by_trigger(users, draft)
    assert response.status_code >= 500
    assert state_of(draft) == before


# COPY goes to psycopg2 directly: bulk_sql._copy runs it inside connection.wrap_database_errors, or this was a 500.
def test_a_database_trigger_refusing_the_history_row_is_answered_nothing_saved(
    users: Any, draft: Submission, refusing_trigger: None
) -> None:
    assert_api_says_nothing_was_saved(patch_refused_by_trigger(users, draft))
