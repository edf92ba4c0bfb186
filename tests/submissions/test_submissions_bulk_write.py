"""The set-based writes behind ``workflow.save_batch`` (``submissions.bulk_sql``), on SQLite and PostgreSQL.

PostgreSQL loads rows with COPY (its own text escaping), updates values from arrays and creates
submissions with one INSERT … RETURNING; SQLite takes chunked statements. Both must store exactly
what the ORM would: every value, old → new history, versions, and awkward text verbatim.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions import workflow
from submissions.models import Channel, HistoryAction, Submission, SubmissionHistory, Value


def values_of(submission: Submission) -> dict[str, Decimal | None]:
    return dict(Value.objects.filter(submission=submission).values_list("figure__code", "value"))


def test_explanation_text_with_tabs_newlines_and_backslashes_reaches_the_history_verbatim(setup, users, tree):
    # COPY's text format gives tab, newline, CR and backslash a meaning: they must arrive unchanged.
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    text = "第一行\t制表\n第二行\\N 反斜杠\r\n\\t 结束"
    workflow.save_values(
        submission, users.alice, {"pri_new_entrants": 10}, version=1, explanations={"entrants_half_enrolled": text}
    )
    note = SubmissionHistory.objects.get(submission=submission, action=HistoryAction.EXPLAIN).note
    assert note == f"entrants_half_enrolled: {text}"
    submission.refresh_from_db()
    assert submission.explanations == {"entrants_half_enrolled": text}


def test_a_changed_value_is_updated_in_place_and_a_cleared_one_keeps_its_row_as_null(setup, users, tree):
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 100, "pri_enrolled": 600}, version=1)
    before = dict(Value.objects.filter(submission=submission).values_list("figure__code", "pk"))

    workflow.save_values(submission, users.alice, {"pri_new_entrants": "120.0", "pri_enrolled": None}, version=2)

    assert values_of(submission) == {"pri_new_entrants": Decimal(120), "pri_enrolled": None}
    assert dict(Value.objects.filter(submission=submission).values_list("figure__code", "pk")) == before
    changes = SubmissionHistory.objects.filter(submission=submission, version=3).order_by("figure__code")
    assert [(h.figure.code, h.old_value, h.new_value, h.channel, h.user) for h in changes] == [
        ("pri_enrolled", Decimal(600), None, Channel.WEB, users.alice),
        ("pri_new_entrants", Decimal(100), Decimal(120), Channel.WEB, users.alice),
    ]


def test_one_batch_creates_new_submissions_and_updates_existing_ones(setup, users, tree):
    existing = workflow.open_submission(users.bea, tree.s1, setup.q1)
    workflow.save_values(existing, users.bea, {"pri_new_entrants": 5}, version=1)
    edits = [
        workflow.Edit(tree.s1, {"pri_new_entrants": 7, "pri_enrolled": 70}, version=2, ref=3),
        workflow.Edit(tree.s2, {"pri_new_entrants": 8, "pri_enrolled": Decimal("80")}, ref=4),
    ]

    results = workflow.save_batch(users.bea, setup.q1, edits, channel=Channel.EXCEL, strict=True)

    created = Submission.objects.get(org_unit=tree.s2, period=setup.q1)
    assert [r.submission.pk for r in results] == [existing.pk, created.pk]
    assert [r.submission.version for r in results] == [3, 1]
    existing.refresh_from_db()
    assert (existing.version, created.version, created.status) == (3, 1, "draft")
    assert values_of(existing) == {"pri_new_entrants": Decimal(7), "pri_enrolled": Decimal(70)}
    assert values_of(created) == {"pri_new_entrants": Decimal(8), "pri_enrolled": Decimal(80)}
    new_rows = SubmissionHistory.objects.filter(submission=created).order_by("pk")
    assert [(h.action, h.figure_id is None, h.new_value, h.version, h.channel, h.user) for h in new_rows] == [
        (HistoryAction.VALUE, True, None, 1, Channel.EXCEL, users.bea),  # "创建填报"
        (HistoryAction.VALUE, False, Decimal(8), 1, Channel.EXCEL, users.bea),
        (HistoryAction.VALUE, False, Decimal(80), 1, Channel.EXCEL, users.bea),
    ]


def _schools(tree, count: int) -> list[OrgUnit]:
    return [
        OrgUnit.objects.create(
            code=f"BULK{i:03d}",
            name=f"批量小学{i}",
            level=Level.SCHOOL,
            school_type=SchoolType.PRIMARY,
            ownership=Ownership.PUBLIC,
            parent=tree.t1,
        )
        for i in range(count)
    ]


def test_the_number_of_statements_does_not_grow_with_the_batch(setup, users, tree):
    def statements(units: list[OrgUnit]) -> int:
        edits = [workflow.Edit(u, {"pri_new_entrants": 10, "pri_enrolled": 100}) for u in units]
        with CaptureQueriesContext(connection) as queries:
            workflow.save_batch(users.bea, setup.q1, edits, channel=Channel.EXCEL)
        return len(queries.captured_queries)

    units = _schools(tree, 34)
    statements(units[:1])  # warm-up: loads bea's memberships once (then cached on the user)
    # 3 and 30 new submissions with 2 values each: the same statements, only longer.
    assert statements(units[1:4]) == statements(units[4:34])
    assert Value.objects.filter(submission__org_unit__in=units).count() == 68
