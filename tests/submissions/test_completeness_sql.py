"""The completeness board is counted in SQL: ``applies_to_q`` picks exactly the units ``applies_to`` picks, and
the board's query count does not grow with the number of units."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions import completeness
from submissions.models import Figure, Period, Submission, SubmissionStatus
from submissions.validation import applies_to, applies_to_q, reports_any_q
from tests.conftest import Personas, Tree

FIGURE_KINDS = [
    {},  # every school
    {"reported_by_levels": ["district"]},
    {"reported_by_levels": ["township", "district"]},
    {"reported_by_school_types": ["primary"]},
    {"reported_by_school_types": ["primary"], "reported_by_central_only": True},
    {"reported_by_school_types": ["kindergarten", ""]},
    {"reported_by_top_areas": True},
    {"reported_by_top_areas": True, "reported_by_central_only": True},
    {"reported_by_top_areas": True, "reported_by_levels": ["school"], "reported_by_central_only": True},
    {"reported_by_central_only": True},
    {"is_active": False},
]


@pytest.mark.parametrize("kind", FIGURE_KINDS)
def test_applies_to_q_picks_the_units_applies_to_picks(tree: Tree, kind: dict[str, object]) -> None:
    figure = Figure.objects.create(code="f", name="f", **kind)
    units = list(OrgUnit.objects.all())
    in_python = {unit.code for unit in units if applies_to(figure, unit)}
    in_sql = set(OrgUnit.objects.filter(applies_to_q(figure)).values_list("code", flat=True))
    assert in_sql == in_python


def test_no_figures_means_no_expected_unit(tree: Tree) -> None:
    assert not OrgUnit.objects.filter(reports_any_q([])).exists()


def _period() -> Period:
    day = datetime.date(2023, 4, 15)
    return Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)


def test_board_counts_zero_reports_and_lists_missing_in_path_order(tree: Tree, users: Personas) -> None:
    Figure.objects.create(code="pupils", name="在校生数")  # every school: S1, S2, K1, S3, K2
    period = _period()
    Submission.objects.create(org_unit=tree.s1, period=period, status=SubmissionStatus.APPROVED, is_zero_report=True)
    Submission.objects.create(org_unit=tree.k1, period=period, status=SubmissionStatus.RETURNED)
    Submission.objects.create(org_unit=tree.k2, period=period, status=SubmissionStatus.SUBMITTED)
    board = completeness.board(users.bea, period, datetime.date(2023, 4, 16))
    rows = {row["name"]: row for row in board.rows}
    # 东区: S1 approved (zero report), S2 not started, K1 returned → 1 of 3 done.
    assert {k: rows["东区"][k] for k in ("expected", "approved", "returned", "not_started", "zero_report")} == {
        "expected": 3, "approved": 1, "returned": 1, "not_started": 1, "zero_report": 1,
    }  # fmt: skip
    assert rows["东区"]["rate"] == 33.3
    # 西区: S3 not started, K2 submitted → 50 %.
    assert (rows["西区"]["expected"], rows["西区"]["submitted"], rows["西区"]["rate"]) == (2, 1, 50.0)
    assert (board.total["expected"], board.total["zero_report"], board.total["rate"]) == (5, 1, 40.0)
    assert [(m["code"], m["status"], m["district"], m["overdue"]) for m in board.missing] == [
        ("S2", "未填报", "东区", True),
        ("K1", "已退回", "东区", True),
        ("S3", "未填报", "西区", True),
    ]
    # A reviewer of 东区 sees only 东区's units.
    own = completeness.board(users.rita, period, datetime.date(2023, 4, 1))
    assert [row["name"] for row in own.rows] == ["东区"]
    assert [m["code"] for m in own.missing] == ["S2", "K1"]
    assert own.missing[0]["overdue"] is False


def test_board_query_count_does_not_grow_with_units(tree: Tree, users: Personas) -> None:
    Figure.objects.create(code="pupils", name="在校生数")
    period = _period()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            completeness.board(users.bea, period, datetime.date(2023, 4, 1))
        return len(captured.captured_queries)

    queries()  # the first call also reads the user's memberships (then cached on the user)
    few = queries()
    for i in range(30):
        unit = OrgUnit.objects.create(
            code=f"N{i}", name=f"新校{i}", level=Level.SCHOOL, parent=tree.d2 if i % 2 else tree.t1,
            school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC,
        )  # fmt: skip
        if i % 3 == 0:
            Submission.objects.create(org_unit=unit, period=period, status=SubmissionStatus.SUBMITTED)
    many = queries()
    # Figures and their regions (one prefetch), the GROUP BY counts, district names, the missing units.
    assert few == many == 5
    board = completeness.board(users.bea, period, datetime.date(2023, 4, 1))
    assert board.total["expected"] == 35
    assert board.total["submitted"] == 10
