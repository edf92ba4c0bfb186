"""The submission workflow services: saving values, versions, validation, states and roles."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied

from indicators.models import PendingRecompute
from portal.errors import ServiceError, StateError, VersionConflict
from submissions import workflow
from submissions.models import (
    Channel,
    HistoryAction,
    PeriodException,
    Submission,
    SubmissionHistory,
    SubmissionStatus,
    Value,
)
from tests.submissions.conftest import S1_CLEAN, make_submission


def stored(submission: Submission) -> dict[str, Decimal | None]:
    return dict(Value.objects.filter(submission=submission).values_list("figure__code", "value"))


# --- saving values ---


def test_a_principal_saves_a_draft_and_every_change_is_in_the_history(setup, users, tree):
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    assert submission.version == 1

    result = workflow.save_values(
        submission,
        users.alice,
        {"pri_new_entrants": "120", "pri_enrolled": 600},
        version=1,
        channel=Channel.WEB,
    )

    submission.refresh_from_db()
    assert submission.version == 2
    assert stored(submission) == {"pri_new_entrants": Decimal(120), "pri_enrolled": Decimal(600)}
    assert sorted(result.changed) == ["pri_enrolled", "pri_new_entrants"]
    rows = SubmissionHistory.objects.filter(submission=submission, action=HistoryAction.VALUE, figure__isnull=False)
    assert {(r.figure.code, r.old_value, r.new_value, r.channel, r.user, r.version) for r in rows} == {
        ("pri_new_entrants", None, Decimal(120), "web", users.alice, 2),
        ("pri_enrolled", None, Decimal(600), "web", users.alice, 2),
    }

    # A second save changing one value records only that one, old → new.
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 121, "pri_enrolled": 600}, version=2)
    last = SubmissionHistory.objects.filter(submission=submission, version=3).get()
    assert (last.figure.code, last.old_value, last.new_value) == (
        "pri_new_entrants",
        Decimal(120),
        Decimal(121),
    )


def test_a_stale_version_is_a_conflict_and_changes_nothing(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, pri_new_entrants=100)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 101}, version=1)  # now version 2

    with pytest.raises(VersionConflict) as caught:
        workflow.save_values(submission, users.alice, {"pri_new_entrants": 999}, version=1)

    assert caught.value.status_code == 409
    assert "数据已被他人修改" in caught.value.errors["version"][0]
    assert stored(submission) == {"pri_new_entrants": Decimal(101)}
    assert Submission.objects.get(pk=submission.pk).version == 2


@pytest.mark.parametrize(
    ("code", "raw", "message"),
    [
        ("pri_new_entrants", "abc", "请输入数字"),
        ("pri_new_entrants", "12.5", "须为整数"),
        ("pri_new_entrants", -1, "不能小于 0"),
        ("pri_enrolled", 5001, "不能大于 5000"),
        ("pri_new_entrants", True, "请输入数字"),
        ("kg_enrolled", 10, "本单位不填报此项"),
        ("no_such_figure", 10, "未知的填报项"),
    ],
)
def test_a_bad_value_names_the_field_and_nothing_is_stored(setup, users, tree, code, raw, message):
    submission = make_submission(tree.s1, setup.q1)

    with pytest.raises(ServiceError) as caught:
        # The valid value next to the bad one must not be stored either.
        workflow.save_values(submission, users.alice, {"pri_new_entrants_migrant": 5, code: raw}, version=1)

    assert message in caught.value.errors[code][0]
    assert stored(submission) == {}
    assert Submission.objects.get(pk=submission.pk).version == 1


def test_decimal_figures_take_up_to_four_decimals(setup, users, tree):
    submission = workflow.open_submission(users.bea, tree.d1, setup.q1)
    workflow.save_values(submission, users.bea, {"pop_age6": "1,234.5"}, version=1)
    assert stored(submission) == {"pop_age6": Decimal("1234.5")}
    with pytest.raises(ServiceError) as caught:
        workflow.save_values(submission, users.bea, {"pop_age6": "1.23456"}, version=2)
    assert "4 位小数" in caught.value.errors["pop_age6"][0]


def test_an_empty_value_clears_it_and_is_never_stored_as_zero(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, pri_new_entrants=100)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": ""}, version=1)
    assert stored(submission) == {"pri_new_entrants": None}


def test_a_principal_cannot_touch_another_units_submission(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, pri_new_entrants=100)
    with pytest.raises(PermissionDenied):
        workflow.save_values(submission, users.bob, {"pri_new_entrants": 1}, version=1)
    with pytest.raises(PermissionDenied):
        workflow.open_submission(users.bob, tree.s1, setup.q1)
    with pytest.raises(PermissionDenied):
        workflow.submit(submission, users.bob)
    assert stored(submission) == {"pri_new_entrants": Decimal(100)}


# --- periods ---


def test_a_locked_period_refuses_edits_unless_the_unit_has_an_exception(setup, users, tree, clock):
    submission = make_submission(tree.s1, setup.q1)
    clock.move_to(datetime.datetime(2023, 5, 2, 10, 0, tzinfo=datetime.UTC))  # locks_on was 04-30

    with pytest.raises(ServiceError) as caught:
        workflow.save_values(submission, users.alice, {"pri_new_entrants": 1}, version=1)
    assert "已锁定" in caught.value.errors["period"][0]

    PeriodException.objects.create(period=setup.q1, org_unit=tree.s1, reason="补报", granted_by=users.bea)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 1}, version=1)
    assert stored(submission) == {"pri_new_entrants": Decimal(1)}


def test_a_period_that_has_not_opened_refuses_a_new_submission(setup, users, tree, clock):
    clock.move_to(datetime.datetime(2022, 12, 1, 10, 0, tzinfo=datetime.UTC))
    with pytest.raises(ServiceError) as caught:
        workflow.open_submission(users.alice, tree.s1, setup.q1)
    assert "尚未开放" in caught.value.errors["period"][0]


# --- validation at submit ---


def test_submit_needs_every_value(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, pri_new_entrants=100)
    with pytest.raises(ServiceError) as caught:
        workflow.submit(submission, users.alice)
    assert set(caught.value.errors) == {"pri_new_entrants_migrant", "pri_enrolled", "central_joint_research"}
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.DRAFT


def test_a_hard_rule_saves_as_draft_but_blocks_submit(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    # 120 migrants > 100 entrants breaks the error rule.
    result = workflow.save_values(submission, users.alice, S1_CLEAN | {"pri_new_entrants_migrant": 120}, version=1)
    assert [i.key for i in result.issues] == ["migrant_le_entrants"]

    with pytest.raises(ServiceError) as caught:
        workflow.submit(submission, users.alice, version=2)
    assert caught.value.errors == {"pri_new_entrants_migrant": ["外来生数不能超过新生数"]}
    # An explanation does not lift an error.
    workflow.save_values(submission, users.alice, {}, explanations={"migrant_le_entrants": "真的"}, version=2)
    with pytest.raises(ServiceError):
        workflow.submit(submission, users.alice, version=3)


def test_strict_batch_refuses_a_hard_rule_outright(setup, users, tree):
    edit = workflow.Edit(tree.s1, S1_CLEAN | {"pri_new_entrants_migrant": 120}, ref=7)
    with pytest.raises(workflow.BatchError) as caught:
        workflow.save_batch(users.alice, setup.q1, [edit], channel=Channel.EXCEL, strict=True)
    assert caught.value.items == [workflow.BatchItem(7, "pri_new_entrants_migrant", "外来生数不能超过新生数")]
    assert not Submission.objects.exists()


def test_a_warning_needs_a_written_explanation_which_the_reviewer_sees(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    # 400 entrants > 600 enrolled × 0.5 = 300 → warning.
    workflow.save_values(submission, users.alice, S1_CLEAN | {"pri_new_entrants": 400}, version=1)
    with pytest.raises(ServiceError) as caught:
        workflow.submit(submission, users.alice, version=2)
    assert "请在说明中填写原因" in caught.value.errors["pri_new_entrants"][0]

    workflow.save_values(
        submission, users.alice, {}, explanations={"entrants_half_enrolled": "新校区首年招生"}, version=2
    )
    workflow.submit(submission, users.alice, version=3)

    snap = workflow.snapshot(Submission.objects.get(pk=submission.pk))
    assert snap.submission.status == SubmissionStatus.SUBMITTED
    assert [i.key for i in snap.issues] == ["entrants_half_enrolled"]
    assert snap.submission.explanations == {"entrants_half_enrolled": "新校区首年招生"}
    assert SubmissionHistory.objects.filter(submission=submission, action=HistoryAction.EXPLAIN).count() == 1


def test_a_stock_figure_moving_more_than_its_share_warns(setup, users, tree):
    make_submission(tree.s1, setup.q4, status=SubmissionStatus.APPROVED, pri_enrolled=600)
    submission = make_submission(tree.s1, setup.q1)
    # 600 → 800 is +33.3 % > 30 %: warning. (Entrants 100 ≤ 800 × 0.5, so no other warning.)
    result = workflow.save_values(submission, users.alice, S1_CLEAN | {"pri_enrolled": 800}, version=1)
    assert [(i.key, i.field) for i in result.issues] == [("change_pri_enrolled", "pri_enrolled")]
    assert "变动 33.3%" in result.issues[0].message
    # 600 → 780 is exactly +30 %: not more than the share, no warning.
    result = workflow.save_values(submission, users.alice, {"pri_enrolled": 780}, version=2)
    assert result.issues == []


def test_a_zero_report_can_be_submitted_without_values(setup, users, tree):
    submission = workflow.open_submission(users.bea, tree.d1, setup.q1)
    workflow.save_values(submission, users.bea, {}, is_zero_report=True, version=1)
    workflow.submit(submission, users.bea, version=2)
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.SUBMITTED


# --- the state machine, per role ---

S = SubmissionStatus


def _do(action, submission, user):
    if action == "submit":
        return workflow.submit(submission, user)
    if action == "approve":
        return workflow.approve(submission, user)
    if action == "return":
        return workflow.return_submission(submission, user, reason="请核对新生数")
    return workflow.reopen(submission, user, reason="数据有误")


# (action, from status, user, expected: new status or the exception raised)
MATRIX = [
    ("submit", S.DRAFT, "alice", S.SUBMITTED),
    ("submit", S.RETURNED, "alice", S.SUBMITTED),
    ("submit", S.DRAFT, "bea", S.SUBMITTED),
    ("submit", S.DRAFT, "rita", PermissionDenied),  # reviewers review, they don't submit
    ("submit", S.DRAFT, "ivan", PermissionDenied),
    ("submit", S.DRAFT, "bob", PermissionDenied),
    ("submit", S.SUBMITTED, "alice", StateError),
    ("submit", S.APPROVED, "alice", StateError),
    ("approve", S.SUBMITTED, "rita", S.APPROVED),
    ("approve", S.SUBMITTED, "bea", S.APPROVED),
    ("approve", S.SUBMITTED, "rob", PermissionDenied),  # reviewer of the other district
    ("approve", S.SUBMITTED, "alice", PermissionDenied),  # principals don't approve their own
    ("approve", S.SUBMITTED, "ivan", PermissionDenied),
    ("approve", S.DRAFT, "rita", StateError),
    ("approve", S.RETURNED, "rita", StateError),
    ("approve", S.APPROVED, "rita", StateError),
    ("return", S.SUBMITTED, "rita", S.RETURNED),
    ("return", S.SUBMITTED, "alice", PermissionDenied),
    ("return", S.SUBMITTED, "rob", PermissionDenied),
    ("return", S.DRAFT, "rita", StateError),
    ("return", S.APPROVED, "rita", StateError),  # approved needs a reopen by the bureau
    ("reopen", S.APPROVED, "bea", S.DRAFT),
    ("reopen", S.APPROVED, "rita", PermissionDenied),  # reviewers cannot reopen
    ("reopen", S.APPROVED, "alice", PermissionDenied),
    ("reopen", S.SUBMITTED, "bea", StateError),
    ("reopen", S.DRAFT, "bea", StateError),
]


@pytest.mark.parametrize(("action", "status", "who", "expected"), MATRIX)
def test_state_transitions_per_role(setup, users, tree, action, status, who, expected):
    submission = make_submission(tree.s1, setup.q1, status=status, **S1_CLEAN)
    user = getattr(users, who)
    if isinstance(expected, str):
        result = _do(action, submission, user)
        assert result.status == expected
        assert Submission.objects.get(pk=submission.pk).version == 2
        assert SubmissionHistory.objects.filter(submission=submission, action=action, user=user).count() == 1
    else:
        with pytest.raises(expected):
            _do(action, submission, user)
        fresh = Submission.objects.get(pk=submission.pk)
        assert (fresh.status, fresh.version) == (status, 1)
        assert not SubmissionHistory.objects.filter(submission=submission).exists()


def test_return_and_reopen_need_a_reason_and_record_who_and_when(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=S.SUBMITTED, **S1_CLEAN)
    with pytest.raises(ServiceError) as caught:
        workflow.return_submission(submission, users.rita, reason="  ")
    assert caught.value.errors == {"reason": ["请填写原因"]}

    workflow.return_submission(submission, users.rita, reason="外来生数偏高", version=1)
    fresh = Submission.objects.get(pk=submission.pk)
    assert (fresh.status, fresh.return_reason, fresh.returned_by) == (S.RETURNED, "外来生数偏高", users.rita)
    assert fresh.returned_at is not None
    history = SubmissionHistory.objects.get(submission=submission, action=HistoryAction.RETURN)
    assert (history.note, history.user, history.version) == ("外来生数偏高", users.rita, 2)


def test_a_stale_version_on_a_workflow_step_is_a_conflict(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=S.SUBMITTED, **S1_CLEAN)
    workflow.return_submission(submission, users.rita, reason="请核对", version=1)
    with pytest.raises(VersionConflict):
        workflow.approve(submission, users.bea, version=1)
    assert Submission.objects.get(pk=submission.pk).status == S.RETURNED


# --- recompute hook ---


def test_approving_enqueues_the_recompute_once_after_commit(setup, users, tree, django_capture_on_commit_callbacks):
    submission = make_submission(tree.s1, setup.q1, status=S.SUBMITTED, **S1_CLEAN)
    with mock.patch("indicators.tasks.process_pending_recompute_task.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            workflow.approve(submission, users.rita, version=1)
        # Nothing is sent before the commit …
        delay.assert_not_called()
        for callback in callbacks:
            callback()
    # … and exactly once after it, naming the recorded (unit, period).
    pending = PendingRecompute.objects.get()
    assert (pending.org_unit_id, pending.period_id) == (tree.s1.pk, setup.q1.pk)
    delay.assert_called_once_with(pending.pk)


def test_saving_or_submitting_does_not_enqueue_a_recompute(setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    workflow.save_values(submission, users.alice, S1_CLEAN, version=1)
    workflow.submit(submission, users.alice, version=2)
    assert not PendingRecompute.objects.exists()


# --- bulk approve ---


def test_bulk_approve_takes_only_clean_submissions(setup, users, tree):
    clean = make_submission(tree.s1, setup.q1, status=S.SUBMITTED, **S1_CLEAN)
    # S2 warns (entrants 400 > enrolled 600 × 0.5), explained, still needs a human look.
    warned = make_submission(
        tree.s2,
        setup.q1,
        status=S.SUBMITTED,
        pri_new_entrants=400,
        pri_new_entrants_migrant=0,
        pri_enrolled=600,
    )
    draft = make_submission(tree.k1, setup.q1, kg_enrolled=90)
    other = make_submission(
        tree.s3,
        setup.q1,
        status=S.SUBMITTED,
        pri_new_entrants=1,
        pri_new_entrants_migrant=0,
        pri_enrolled=600,
    )

    result = workflow.bulk_approve(users.rita, [clean, warned, draft, other])

    assert [s.pk for s in result.approved] == [clean.pk]
    assert {s.pk for s, _reason in result.skipped} == {warned.pk, draft.pk, other.pk}
    assert Submission.objects.get(pk=clean.pk).status == S.APPROVED
    assert Submission.objects.get(pk=warned.pk).status == S.SUBMITTED
    assert Submission.objects.get(pk=other.pk).status == S.SUBMITTED  # D2 is rob's, not rita's


# --- batch (the Excel import's entry point) ---


def test_a_batch_with_one_bad_cell_stores_nothing_and_names_the_cell(setup, users, tree):
    edits = [
        workflow.Edit(tree.s1, S1_CLEAN, ref=3),
        workflow.Edit(tree.s2, {"pri_new_entrants": 50, "pri_enrolled": "五百"}, ref=4),
    ]
    with pytest.raises(workflow.BatchError) as caught:
        workflow.save_batch(users.bea, setup.q1, edits, channel=Channel.EXCEL)
    assert caught.value.items == [workflow.BatchItem(4, "pri_enrolled", "请输入数字")]
    assert caught.value.errors == {"4.pri_enrolled": ["请输入数字"]}
    assert not Submission.objects.exists()
    assert not Value.objects.exists()


def test_a_batch_creates_submissions_and_records_the_excel_channel(setup, users, tree):
    existing = make_submission(tree.s2, setup.q1, pri_new_entrants=10)
    edits = [
        workflow.Edit(tree.s1, S1_CLEAN, ref=3),
        workflow.Edit(tree.s2, {"pri_new_entrants": 50, "pri_enrolled": 500}, ref=4),
    ]
    results = workflow.save_batch(users.bea, setup.q1, edits, channel=Channel.EXCEL)

    s1 = Submission.objects.get(org_unit=tree.s1, period=setup.q1)
    assert stored(s1) == {k: Decimal(v) for k, v in S1_CLEAN.items()}
    assert stored(existing) == {"pri_new_entrants": Decimal(50), "pri_enrolled": Decimal(500)}
    assert Submission.objects.get(pk=existing.pk).version == 2
    assert [r.submission.org_unit for r in results] == [tree.s1, tree.s2]
    change = SubmissionHistory.objects.get(submission=existing, figure__code="pri_new_entrants")
    assert (change.old_value, change.new_value, change.channel) == (Decimal(10), Decimal(50), "excel")


def test_top_area_figures_are_reported_by_districts_and_towns_directly_under_the_bureau(setup, tree):
    from schools.models import Level, OrgUnit
    from submissions.models import Figure
    from submissions.validation import applies_to

    population = Figure.objects.create(code="pop_age_5", name="5周岁人口", reported_by_top_areas=True)
    town = OrgUnit.objects.create(code="TOWN", name="白沙镇", level=Level.TOWNSHIP, parent=tree.city)
    # D1 (district) and a town under the bureau report it; T1 (a 学区 inside D1), schools and the bureau don't,
    # so the population is never counted twice up the tree.
    assert [u.code for u in (tree.d1, tree.d2, town, tree.t1, tree.s1, tree.city) if applies_to(population, u)] == [
        "D1",
        "D2",
        "TOWN",
    ]
