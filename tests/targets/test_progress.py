"""Progress per kind and comparator over four quarters, statuses computed by hand in the comments.

IndicatorValue rows are written directly (the engine is tested elsewhere); margins are the default 5 %.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from schools.models import Designation, DesignationKind, Level, OrgUnit, Ownership, SchoolType
from submissions.models import Period
from targets.models import (
    Comparator,
    MilestoneStatus,
    NoteReview,
    PathMode,
    Progress,
    Target,
    TargetKind,
    TargetNote,
    TargetPathPoint,
)
from targets.progress import recompute_progress
from targets.queries import fill_failing_values

D = Decimal


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    return Plan.objects.create(
        code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED
    )


@pytest.fixture
def section(plan: Plan) -> Section:
    return Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)


def indicator(code: str, **extra: object) -> Indicator:
    return Indicator.objects.create(code=code, name=code, **extra)


def target(section: Section, code: str, kind: str, scope: OrgUnit, **extra: object) -> Target:
    return Target.objects.create(
        plan=section.plan, section=section, code=code, text=code, kind=kind, scope=scope, **extra
    )


def values(ind: Indicator, unit: OrgUnit, quarters: list[Period], numbers: list[object]) -> None:
    for period, number in zip(quarters, numbers, strict=True):
        if number is not None:
            IndicatorValue.objects.create(
                indicator=ind, org_unit=unit, period=period, value=D(str(number)), computed_at=timezone.now()
            )


def statuses(t: Target, unit: OrgUnit) -> list[str]:
    rows = Progress.objects.filter(target=t, org_unit=unit).order_by("period__quarter")
    return [row.status for row in rows]


def row(t: Target, unit: OrgUnit, quarter: int) -> Progress:
    return Progress.objects.get(target=t, org_unit=unit, period__quarter=quarter)


# --- threshold ---


def test_threshold_gte_flat_is_met_at_risk_off_track_and_no_data(tree, quarters, section) -> None:  # noqa: ANN001
    rate = indicator("rate")
    t = target(
        section,
        "T05",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rate,
        comparator=Comparator.GTE,
        target_value=D(99),
        path_mode=PathMode.FLAT,
    )
    values(rate, tree.city, quarters, [99.5, 97, 90, None])
    values(rate, tree.d1, quarters, [99, None, None, None])

    recompute_progress()

    # Q1 99.5 ≥ 99 met; Q2 97 ≥ 99 − 4.95 = 94.05 at risk; Q3 90 < 94.05 off track; Q4 no value.
    assert statuses(t, tree.city) == ["met", "at_risk", "off_track", "no_data"]
    assert row(t, tree.city, 2).expected == D(99)
    # Children rows: D1 has 99 in Q1 (met), D2 has nothing.
    assert statuses(t, tree.d1) == ["met", "no_data", "no_data", "no_data"]
    assert statuses(t, tree.d2) == ["no_data"] * 4


def test_threshold_linear_path_from_baseline(tree, quarters, section) -> None:  # noqa: ANN001
    rate = indicator("rate")
    t = target(
        section,
        "T06",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rate,
        comparator=Comparator.GTE,
        target_value=D(98),
        baseline_value=D(90),
        path_mode=PathMode.LINEAR,
    )
    values(rate, tree.city, quarters, [92.5, 93, 99, 97])

    recompute_progress()

    # Baseline 90 at the end of 2022, target 98 in 2023Q4: expected 92, 94, 96, 98.
    # Q1 92.5 ≥ 92 on track; Q2 93 ≥ 94 × 0.95 at risk; Q3 99 ≥ 98 met; Q4 97 < 98 at the due period: off track.
    assert [row(t, tree.city, q).expected for q in (1, 2, 3, 4)] == [D(92), D(94), D(96), D(98)]
    assert statuses(t, tree.city) == ["on_track", "at_risk", "met", "off_track"]


def test_threshold_lte_eq_and_range(tree, quarters, section) -> None:  # noqa: ANN001
    rank = indicator("rank")
    lte = target(
        section,
        "T08",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rank,
        comparator=Comparator.LTE,
        target_value=D(4),
        path_mode=PathMode.FLAT,
    )
    equal = target(
        section,
        "T10",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rank,
        comparator=Comparator.EQ,
        target_value=D(100),
        path_mode=PathMode.FLAT,
    )
    ranged = target(
        section,
        "R1",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rank,
        comparator=Comparator.RANGE,
        target_value=D(3),
        target_value_max=D(5),
        range_is_ceiling=True,  # the plan says 5 is a ceiling (else above 5 is met: tests/targets/test_per_unit_rules)
        path_mode=PathMode.FLAT,
    )
    values(rank, tree.city, quarters, [3, D("4.1"), 6, None])

    recompute_progress()

    # ≤ 4: 3 met; 4.1 ≤ 4 + 0.2 at risk; 6 off track; nothing in Q4.
    assert statuses(lte, tree.city) == ["met", "at_risk", "off_track", "no_data"]
    # = 100: 3, 4.1 and 6 are all far below 95 (100 − 5 %): off track.
    assert statuses(equal, tree.city) == ["off_track", "off_track", "off_track", "no_data"]
    # 3..5: 3 and 4.1 inside (met); 6 is 1 above 5, more than 5 × 5 % = 0.25: off track.
    assert statuses(ranged, tree.city) == ["met", "met", "off_track", "no_data"]


def test_threshold_eq_exactly_met_and_range_at_risk(tree, quarters, section) -> None:  # noqa: ANN001
    rate = indicator("rate")
    equal = target(
        section,
        "T10",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rate,
        comparator=Comparator.EQ,
        target_value=D(100),
        path_mode=PathMode.FLAT,
    )
    ranged = target(
        section,
        "R1",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rate,
        comparator=Comparator.RANGE,
        target_value=D(95),
        target_value_max=D(99),
        range_is_ceiling=True,
        path_mode=PathMode.FLAT,
    )
    values(rate, tree.city, quarters, [100, D("99.9"), 101, 80])

    recompute_progress()

    # = 100: 100 met; 99.9 ≥ 95 at risk; 101 ≥ 100 (above, not equal) on track; 80 at the due period off track.
    assert statuses(equal, tree.city) == ["met", "at_risk", "on_track", "off_track"]
    # 95..99: 100 is 1 above 99 ≤ 4.95 at risk; 99.9 at risk; 101 at risk (2 ≤ 4.95); 80 due, off track.
    assert statuses(ranged, tree.city) == ["at_risk", "at_risk", "at_risk", "off_track"]


def test_threshold_every_unit_must_comply_lists_the_failing_units(tree, quarters, section) -> None:  # noqa: ANN001
    rate = indicator("rate")
    t = target(
        section,
        "T11",
        TargetKind.THRESHOLD,
        tree.city,
        indicator=rate,
        comparator=Comparator.GTE,
        target_value=D(99),
        path_mode=PathMode.FLAT,
        applies_to_each_unit=True,
    )
    values(rate, tree.city, quarters, [D("99.2"), None, None, D("99.2")])
    values(rate, tree.d1, quarters, [99, None, None, 99])
    values(rate, tree.d2, quarters, [D("99.5"), None, None, D("99.5")])
    values(rate, tree.s1, quarters, [100, None, None, 100])
    values(rate, tree.s2, quarters, [98, None, None, 98])
    values(rate, tree.s3, quarters, [D("99.5"), None, None, D("99.5")])

    recompute_progress()

    # The aggregate 99.2 meets 99, but S2 (98) fails: 2 of 3 schools comply = 66.7 % < 95 % → off track.
    q1 = row(t, tree.city, 1)
    assert q1.status == "off_track"
    assert q1.actual == D("99.2")
    assert [u["code"] for u in q1.detail["failing_units"]] == ["S2"]
    assert (q1.detail["units_checked"], q1.detail["units_complying"]) == (3, 2)
    # D1 contains S2: off track; D2 only S3 (99.5): met.
    assert row(t, tree.d1, 1).status == "off_track"
    assert row(t, tree.d2, 1).status == "met"
    assert row(t, tree.d2, 1).detail["failing_units"] == []
    assert row(t, tree.city, 4).status == "off_track"


# --- quantity ---


def test_quantity_ytd_with_projection_and_sub_target(tree, quarters, section) -> None:  # noqa: ANN001
    entrants = indicator("kg_new_entrants", aggregation=Aggregation.SUM)
    migrants = indicator("kg_new_entrants_migrant", aggregation=Aggregation.SUM)
    total = target(
        section,
        "T01",
        TargetKind.QUANTITY,
        tree.city,
        indicator=entrants,
        comparator=Comparator.EQ,
        target_value=D(23000),
    )
    sub = target(
        section,
        "T02",
        TargetKind.QUANTITY,
        tree.city,
        indicator=migrants,
        comparator=Comparator.EQ,
        target_value=D(2000),
        part_of=total,
    )
    # Stored values are year to date (the engine sums flow figures over Q1..q): 5500, +4500, +9000, +4500.
    values(entrants, tree.city, quarters, [5500, 10000, 19000, 23500])
    values(entrants, tree.d1, quarters, [2000, None, None, None])
    values(migrants, tree.city, quarters, [600, None, None, None])

    recompute_progress()

    # YTD 5500, 10000, 19000, 23500; linear from 0 to 23000: expected 5750, 11500, 17250, 23000.
    # Q1: 5500 ≥ 5750 × 0.95 = 5462.5 at risk; projection 5500 × 4 = 22000 ≥ 21850 at risk too.
    # Q2: 10000 < 11500 × 0.95 = 10925 off track; projection 20000 < 21850 off track.
    # Q3: 19000 ≥ 17250 on track; projection 19000 × 4 / 3 = 25333 on track.  Q4: 23500 ≥ 23000 met.
    assert statuses(total, tree.city) == ["at_risk", "off_track", "on_track", "met"]
    assert [row(total, tree.city, q).actual for q in (1, 2, 3, 4)] == [D(5500), D(10000), D(19000), D(23500)]
    assert row(total, tree.city, 2).projection == D(20000)
    assert row(total, tree.city, 1).expected == D(5750)
    # Sub-target: 600 ≥ 500 expected in Q1, projection 2400: on track; listed under the parent.
    assert row(sub, tree.city, 1).status == "on_track"
    assert row(total, tree.city, 1).detail["sub_targets"] == [{"code": "T02", "actual": 600.0, "status": "on_track"}]
    # A child row shows the district's contribution (2000 by Q1), no own status.
    d1 = row(total, tree.d1, 1)
    assert (d1.actual, d1.status, d1.detail["contribution"]) == (D(2000), "no_data", True)


def test_an_autumn_intake_is_not_judged_before_its_assess_from_quarter(tree, quarters, section) -> None:  # noqa: ANN001
    entrants = indicator("pri_new_entrants", aggregation=Aggregation.SUM)
    total = target(
        section, "T07", TargetKind.QUANTITY, tree.city, indicator=entrants, comparator=Comparator.GTE,
        target_value=D(23000), assess_from=quarters[2],
    )  # fmt: skip
    # First-graders arrive in September: nothing in spring, the whole intake by Q3.
    values(entrants, tree.city, quarters, [0, 0, 23833, 23833])
    values(entrants, tree.d1, quarters, [0, 0, 6000, 6000])

    recompute_progress()

    # Q1/Q2 keep their value (0) but get neither an expected value nor a status; Q3 is judged as usual.
    assert statuses(total, tree.city) == ["no_data", "no_data", "met", "met"]
    spring = row(total, tree.city, 2)
    assert (spring.actual, spring.expected, spring.projection) == (D(0), None, None)
    assert spring.detail == {"version": 1, "reason": "before_assessment", "assess_from": "2023Q3"}
    # A district's share stays a contribution, also before the season.
    district = row(total, tree.d1, 1).detail
    assert district == {"version": 1, "reason": "before_assessment", "assess_from": "2023Q3", "contribution": True}
    # Without the assess-from quarter the same spring is off track (linear path 5750 by Q1): the setting decides.
    Target.objects.filter(pk=total.pk).update(assess_from=None)
    recompute_progress(target_ids=[total.pk])
    assert statuses(total, tree.city)[:2] == ["off_track", "off_track"]


def test_a_rate_assessed_from_q3_has_no_status_in_spring(tree, quarters, section) -> None:  # noqa: ANN001
    ontime = indicator("pri_ontime_entry_rate", unit="%")
    rate = target(
        section, "T10", TargetKind.THRESHOLD, tree.city, indicator=ontime, comparator=Comparator.GTE,
        target_value=D(100), path_mode=PathMode.FLAT, assess_from=quarters[2],
    )  # fmt: skip
    values(ontime, tree.city, quarters, [0, 0, D("99.6"), D("99.6")])
    recompute_progress()
    # 99.6 < 100 flat: Q3 at risk (within 5 %), Q4 off track (due and not met); spring not judged.
    assert statuses(rate, tree.city) == ["no_data", "no_data", "at_risk", "off_track"]


def test_quantity_off_track_projection_is_what_decides(tree, quarters, section) -> None:  # noqa: ANN001
    entrants = indicator("pri_new_entrants", aggregation=Aggregation.SUM)
    t = target(
        section,
        "T07",
        TargetKind.QUANTITY,
        tree.city,
        indicator=entrants,
        comparator=Comparator.GTE,
        target_value=D(23000),
        path_mode=PathMode.LINEAR,
        baseline_value=D(0),
    )
    values(entrants, tree.city, quarters, [2000, 4000, 4000, 4000])  # year to date: nothing after Q2

    recompute_progress()

    # Q2: YTD 4000, expected 11500 → off track by the path as well; projection 4000 × 4 / 2 = 8000,
    # far below 23000 × 0.95: the year-end projection is recorded and marks it off track.
    q2 = row(t, tree.city, 2)
    assert (q2.actual, q2.projection, q2.status) == (D(4000), D(8000), "off_track")
    # Q3 and Q4 have no new quarter but YTD stays 4000: still measured, still off track.
    assert statuses(t, tree.city) == ["off_track", "off_track", "off_track", "off_track"]


def test_quantity_with_milestone_path_ignores_the_pace(tree, quarters, section) -> None:  # noqa: ANN001
    entrants = indicator("pri_new_entrants", aggregation=Aggregation.SUM)
    t = target(
        section,
        "T07",
        TargetKind.QUANTITY,
        tree.city,
        indicator=entrants,
        comparator=Comparator.GTE,
        target_value=D(23000),
        path_mode=PathMode.MILESTONES,
    )
    # Entrants arrive in September: the bureau's own path.
    TargetPathPoint.objects.create(target=t, period=quarters[0], expected_value=D(500))
    TargetPathPoint.objects.create(target=t, period=quarters[1], expected_value=D(1000))
    values(entrants, tree.city, quarters, [600, 1100, 22100, 23100])  # year to date: +600, +500, +21000, +1000

    recompute_progress()

    # Q1 600 ≥ 500 on track (the pace projection 2400 is not used with explicit milestones);
    # Q2 1100 ≥ 1000 on track; Q3 expected halfway 1000 → 23000 = 12000, 22100 ≥ 12000 on track; Q4 23100 met.
    assert [row(t, tree.city, q).expected for q in (1, 2, 3, 4)] == [D(500), D(1000), D(12000), D(23000)]
    assert statuses(t, tree.city) == ["on_track", "on_track", "on_track", "met"]


# --- count of units ---


def test_count_units_counts_designations_granted_in_the_plan_year(tree, quarters, section) -> None:  # noqa: ANN001
    kind = DesignationKind.objects.create(code="standard_kg", name="标准化幼儿园")
    k3 = OrgUnit.objects.create(
        code="K3",
        name="西区第三幼儿园",
        level=Level.SCHOOL,
        parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN,
        ownership=Ownership.PUBLIC,
    )
    k4 = OrgUnit.objects.create(
        code="K4",
        name="西区第四幼儿园",
        level=Level.SCHOOL,
        parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN,
        ownership=Ownership.PUBLIC,
    )
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2022, 5, 1))  # before
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 2, 10))
    Designation.objects.create(org_unit=tree.k2, kind=kind, granted_on=datetime.date(2023, 8, 1))
    Designation.objects.create(org_unit=k3, kind=kind, granted_on=datetime.date(2023, 11, 20))
    Designation.objects.create(
        org_unit=k4, kind=kind, granted_on=datetime.date(2023, 3, 1), revoked_on=datetime.date(2023, 5, 1)
    )
    count = indicator("designations_standard_kg", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind)
    t = target(
        section, "T03", TargetKind.COUNT_UNITS, tree.city, indicator=count, comparator=Comparator.GTE, target_value=D(3)
    )

    recompute_progress()

    # Counted by quarter end: Q1 K1 + K4 (revoked only in May) = 2; Q2 K1 = 1; Q3 K1, K2 = 2; Q4 K1, K2, K3 = 3.
    # Linear 0 → 3: expected 0.75, 1.5, 2.25, 3.
    # Q1 2 ≥ 0.75 on track; Q2 1 < 1.425 off track; Q3 2 < 2.1375 off track; Q4 3 ≥ 3 met.
    assert [row(t, tree.city, q).actual for q in (1, 2, 3, 4)] == [D(2), D(1), D(2), D(3)]
    assert statuses(t, tree.city) == ["on_track", "off_track", "off_track", "met"]
    assert [u["code"] for u in row(t, tree.city, 4).detail["units"]] == ["K1", "K2", "K3"]
    # Drill-down: D1 holds K1, D2 holds K2 and K3.
    assert (row(t, tree.d1, 4).actual, row(t, tree.d2, 4).actual) == (D(1), D(2))


# --- limit ---


def test_zero_tolerance_breach_by_a_single_unit(tree, quarters, section) -> None:  # noqa: ANN001
    cases = indicator("illegal_tutoring_cases", aggregation=Aggregation.SUM)
    t = target(
        section, "T36", TargetKind.LIMIT, tree.city, indicator=cases, comparator=Comparator.LTE, target_value=D(0)
    )
    values(cases, tree.city, quarters, [0, 1, None, 0])
    values(cases, tree.d1, quarters, [0, 1, None, 0])
    values(cases, tree.d2, quarters, [0, 0, None, 0])
    for school, numbers in ((tree.s1, [0, 0, None, 0]), (tree.s2, [0, 1, None, 0]), (tree.s3, [0, 0, None, 0])):
        values(cases, school, quarters, numbers)

    recompute_progress()

    # One case at S2 in Q2: the city and D1 are off track (no risk band for zero tolerance), D2 met.
    assert statuses(t, tree.city) == ["met", "off_track", "no_data", "met"]
    q2 = row(t, tree.city, 2)
    # Stored without the value (an approval moving it rewrites nothing); readers join it back.
    assert q2.detail["failing_units"] == [{"code": "S2", "name": "东区第二小学"}]
    fill_failing_values([q2])
    assert q2.typed_detail.failing_units == [{"code": "S2", "name": "东区第二小学", "value": 1.0}]
    assert statuses(t, tree.d1) == ["met", "off_track", "no_data", "met"]
    assert statuses(t, tree.d2) == ["met", "met", "no_data", "met"]


def test_limit_on_a_max_breaks_even_within_the_margin(tree, quarters, section) -> None:  # noqa: ANN001
    size = indicator("max_grade1_class_size", aggregation=Aggregation.MAX)
    t = target(
        section, "T47", TargetKind.LIMIT, tree.city, indicator=size, comparator=Comparator.LTE, target_value=D(45)
    )
    values(size, tree.city, quarters, [44, 47, None, None])
    values(size, tree.s1, quarters, [44, 45, None, None])
    values(size, tree.s3, quarters, [40, 47, None, None])

    recompute_progress()

    # 47 is within 5 % of 45 but a limit has no risk band: off track, S3 listed.
    assert statuses(t, tree.city)[:2] == ["met", "off_track"]
    assert [u["code"] for u in row(t, tree.city, 2).detail["failing_units"]] == ["S3"]


# --- frequency ---


def test_frequency_per_unit_with_one_failing_central_school(tree, quarters, section) -> None:  # noqa: ANN001
    school = {"level": Level.SCHOOL, "school_type": SchoolType.PRIMARY, "ownership": Ownership.PUBLIC}
    c2 = OrgUnit.objects.create(code="C2", name="东区第二中心小学", parent=tree.t1, is_central=True, **school)
    c3 = OrgUnit.objects.create(code="C3", name="西区中心小学", parent=tree.d2, is_central=True, **school)
    research = indicator("central_joint_research", aggregation=Aggregation.SUM, unit_filter_central_only=True)
    t = target(
        section,
        "T51",
        TargetKind.FREQUENCY,
        tree.city,
        indicator=research,
        comparator=Comparator.GTE,
        target_value=D(3),
        per_unit_minimum=D(3),
    )
    # Year to date, as the engine stores a flow: per quarter S1 1, 1, 2, 1; C2 2, 2, 2, 1; C3 2, 1, 2, 1.
    values(research, tree.s1, quarters, [1, 2, 4, 5])
    values(research, c2, quarters, [2, 4, 6, 7])
    values(research, c3, quarters, [2, 3, 5, 6])
    values(research, tree.s2, quarters, [5, 10, 15, 20])  # not a central school: not counted

    recompute_progress()

    # Q1 (mid H1, pace 1.5): S1 1 < 1.5 fails; 2 of 3 = 66.7 % → off track.
    # Q2 (H1 total): S1 2 < 3 fails, C2 4, C3 3 comply → 66.7 % off track, S1 listed.
    # Q3 (mid H2): all ≥ 1.5 but none at 3 yet → on track.  Q4: S1 3, C2 3, C3 3 → met.
    assert statuses(t, tree.city) == ["off_track", "off_track", "on_track", "met"]
    q2 = row(t, tree.city, 2)
    assert q2.detail["failing_units"] == [{"code": "S1", "name": "东区中心小学", "value": 2.0}]
    assert (q2.detail["units_qualifying"], q2.detail["units_complying"]) == (3, 2)
    assert round(q2.actual, 2) == D("66.67")
    # D1 has S1 and C2 (50 % → off track); D2 has C3 only (met in Q2).
    assert row(t, tree.d1, 2).status == "off_track"
    assert row(t, tree.d2, 2).status == "met"


# --- milestone and narrative ---


def test_milestone_overdue_is_off_track_and_done_is_met(tree, quarters, section, users) -> None:  # noqa: ANN001
    t = target(
        section,
        "T16",
        TargetKind.MILESTONE,
        tree.city,
        due_date=datetime.date(2023, 9, 30),
        milestone_status=MilestoneStatus.IN_PROGRESS,
    )

    recompute_progress()

    # In progress until the due date (end of Q3); by the end of Q4 it is overdue.
    assert statuses(t, tree.city) == ["on_track", "on_track", "on_track", "off_track"]
    assert row(t, tree.city, 4).detail["overdue"] is True
    # Milestones have no drill-down rows.
    assert not Progress.objects.filter(target=t, org_unit=tree.d1).exists()

    Target.objects.filter(pk=t.pk).update(milestone_status=MilestoneStatus.DONE)
    recompute_progress(target_ids=[t.pk])
    assert statuses(t, tree.city) == ["met"] * 4


def test_a_milestone_due_on_the_last_day_of_the_year_turns_off_track_once_it_has_passed(
    tree,
    quarters,
    section,  # noqa: ANN001
) -> None:
    t = target(
        section,
        "T18",
        TargetKind.MILESTONE,
        tree.city,
        due_date=datetime.date(2023, 12, 31),
        milestone_status=MilestoneStatus.IN_PROGRESS,
    )
    with time_machine.travel(datetime.datetime(2023, 12, 30, 12, tzinfo=datetime.UTC)):
        recompute_progress()
    assert statuses(t, tree.city) == ["on_track"] * 4  # not due yet
    with time_machine.travel(datetime.datetime(2024, 1, 5, 12, tzinfo=datetime.UTC)):
        recompute_progress()
    # Was never off track: "min(today, end of Q4) > 12-31" cannot hold. Q1–Q3 end before the due date.
    assert statuses(t, tree.city) == ["on_track", "on_track", "on_track", "off_track"]
    assert row(t, tree.city, 4).detail["overdue"] is True


def test_milestone_not_started_without_notes_has_no_data(tree, quarters, section) -> None:  # noqa: ANN001
    t = target(section, "T12", TargetKind.MILESTONE, tree.city)
    recompute_progress()
    assert statuses(t, tree.city) == ["no_data"] * 4


def test_narrative_follows_the_review_of_each_quarter_note(tree, quarters, section, users) -> None:  # noqa: ANN001
    t = target(section, "T17", TargetKind.NARRATIVE, tree.city)
    TargetNote.objects.create(
        target=t, period=quarters[0], author=users.bea, text="Q1", review_status=NoteReview.ACCEPTED
    )
    TargetNote.objects.create(target=t, period=quarters[1], author=users.bea, text="Q2")
    TargetNote.objects.create(
        target=t, period=quarters[2], author=users.bea, text="Q3", review_status=NoteReview.RETURNED
    )

    recompute_progress()

    # accepted → met, pending → on track, returned → at risk, no note → no data.
    assert statuses(t, tree.city) == ["met", "on_track", "at_risk", "no_data"]


def test_a_quantifiable_target_without_indicator_has_no_data(tree, quarters, section) -> None:  # noqa: ANN001
    t = target(section, "T33", TargetKind.QUANTITY, tree.city)
    recompute_progress()
    assert statuses(t, tree.city) == ["no_data"] * 4
    assert row(t, tree.city, 1).detail == {"version": 1, "reason": "no_indicator"}


# --- the recompute itself ---


def test_recompute_of_one_quarter_rewrites_that_quarter_and_the_later_ones(tree, quarters, section) -> None:  # noqa: ANN001
    entrants = indicator("kg_new_entrants", aggregation=Aggregation.SUM)
    t = target(section, "T01", TargetKind.QUANTITY, tree.city, indicator=entrants, target_value=D(100))
    values(entrants, tree.city, quarters, [10, 30, 60, 100])  # year to date: 10, +20, +30, +40
    recompute_progress()
    # Q2 approved again with 50 instead of 20: the engine moves Q2 and every later YTD value by 30.
    for quarter, ytd in ((1, 40), (2, 90), (3, 130)):
        IndicatorValue.objects.filter(indicator=entrants, org_unit=tree.city, period=quarters[quarter]).update(
            value=D(ytd)
        )

    written = recompute_progress(period_ids=[quarters[1].pk], indicator_ids=[entrants.pk])

    # Q2, Q3, Q4 × (CITY, D1, D2) = 9 rows recomputed; only CITY's 3 changed (D1 and D2 have no values: their
    # rows are the same and are not rewritten). YTD at Q4 = 10 + 50 + 30 + 40 = 130, not a sum of YTD rows.
    assert written == 3
    assert row(t, tree.city, 4).actual == D(130)
    assert row(t, tree.city, 2).actual == D(40)
    assert row(t, tree.city, 1).actual == D(10)


def test_recompute_is_idempotent(tree, quarters, section) -> None:  # noqa: ANN001
    rate = indicator("rate")
    target(section, "T05", TargetKind.THRESHOLD, tree.city, indicator=rate, target_value=D(99))
    values(rate, tree.city, quarters, [99, 98, 97, 96])
    recompute_progress()
    first = list(Progress.objects.order_by("pk").values_list("target", "period", "org_unit", "status"))
    recompute_progress()
    # 4 quarters × (CITY, D1, D2) rows, same after a second run.
    assert len(first) == 12
    assert list(Progress.objects.order_by("pk").values_list("target", "period", "org_unit", "status")) == first


def _add_schools(parent: OrgUnit, count: int, ind: Indicator, periods: list[Period]) -> None:
    for i in range(count):
        unit = OrgUnit.objects.create(
            code=f"X{parent.code}{i}",
            name=f"x{i}",
            level=Level.SCHOOL,
            parent=parent,
            school_type=SchoolType.PRIMARY,
            ownership=Ownership.PUBLIC,
            is_central=True,
        )
        values(ind, unit, periods, [1, 2, 3, 4])


def test_recompute_query_count_does_not_grow_with_units(tree, quarters, section) -> None:  # noqa: ANN001
    cases = indicator("cases", aggregation=Aggregation.SUM, unit_filter_central_only=True)
    target(section, "L", TargetKind.LIMIT, tree.city, indicator=cases, comparator=Comparator.LTE, target_value=D(0))
    target(section, "F", TargetKind.FREQUENCY, tree.city, indicator=cases, per_unit_minimum=D(3))
    target(section, "N", TargetKind.NARRATIVE, tree.city)
    _add_schools(tree.t1, 2, cases, quarters)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            recompute_progress()
        return len(ctx.captured_queries)

    few = count()
    _add_schools(tree.d2, 25, cases, quarters)
    # Queries: targets ids, targets, children of scopes, periods, aggregate values, school values,
    # qualifying schools, notes, then savepoint + upsert + cleanup + release — whatever the number of units.
    assert count() == few


def test_the_nightly_task_reaches_milestones_which_have_no_indicator(tree, quarters, section) -> None:  # noqa: ANN001
    from indicators.tasks import full_recompute_task

    t = target(
        section,
        "T18",
        TargetKind.MILESTONE,
        tree.city,
        due_date=datetime.date(2023, 9, 30),
        milestone_status=MilestoneStatus.IN_PROGRESS,
    )
    assert not Progress.objects.filter(target=t).exists()

    full_recompute_task.delay()  # eager in tests: the fan-out and the progress pass run in-process

    assert statuses(t, tree.city) == ["on_track", "on_track", "on_track", "off_track"]


# --- end to end with the engine's own rows (flows are year to date) ---


def test_quantity_and_frequency_read_the_engines_year_to_date_rows(tree, quarters, section) -> None:  # noqa: ANN001
    """A flow of 10 per quarter is 40 by Q4, not 10 + 20 + 30 + 40 = 100 (bug reported by G)."""
    from indicators import engine
    from tests.indicators.engine_data import figure, report

    figure("pri_new_entrants")
    figure("central_joint_research")
    entrants = Indicator.objects.create(code="entrants", name="招生", numerator="pri_new_entrants", aggregation="sum")
    research = Indicator.objects.create(
        code="research", name="联合教研", numerator="central_joint_research", aggregation="sum",
        unit_filter_central_only=True,
    )  # fmt: skip
    quantity = target(section, "T07", TargetKind.QUANTITY, tree.city, indicator=entrants, target_value=D(40))
    frequency = target(
        section, "T51", TargetKind.FREQUENCY, tree.city, indicator=research, target_value=D(2), per_unit_minimum=D(2)
    )
    for period in quarters:
        # S1 (central) holds 1 joint research session every quarter: 2 per semester, H1 and H2.
        report(tree.s1, period, pri_new_entrants=10, central_joint_research=1)
    engine.full_recompute()  # on commit, the progress follows; called here directly as well
    recompute_progress()

    assert [row(quantity, tree.city, q).actual for q in (1, 2, 3, 4)] == [D(10), D(20), D(30), D(40)]
    assert row(quantity, tree.city, 4).status == "met"
    # H2: the year-to-date 3 and 4 less Q2's 2 — 1 session by Q3 (on pace), 2 by Q4 (met).
    assert statuses(frequency, tree.city) == ["on_track", "met", "on_track", "met"]
    assert row(frequency, tree.city, 3).detail["failing_units"] == []
