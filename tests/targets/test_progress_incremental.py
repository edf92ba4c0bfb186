"""An approval recomputes only the Progress rows its values feed (targets.progress.recompute_progress_for_unit).

The approvals run as the Celery task runs them: a PendingRecompute row, ``indicators.recompute.process_pending``
(values of the unit and its ancestors), then, after commit, ``values_changed`` → the targets' receiver. The
nightly full run (``recompute_progress()``) must then find nothing to change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from indicators import engine, recompute
from indicators.models import Aggregation, Indicator, PendingRecompute
from plans.models import Plan, PlanStatus, Section
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import Period
from targets import progress
from targets.models import Comparator, PathMode, Progress, Target, TargetKind
from targets.progress import recompute_progress
from targets.queries import fill_failing_values
from tests.conftest import Tree
from tests.indicators.engine_data import figure, indicator, period, report, stock

D = Decimal
SCHOOL = {"level": Level.SCHOOL, "school_type": SchoolType.PRIMARY, "ownership": Ownership.PUBLIC}


@dataclass
class World:
    quarters: list[Period]
    schools: dict[str, OrgUnit]
    d3: OrgUnit
    targets: dict[str, Target]
    rate: Indicator
    tree: Tree


def _school_figures(ontime: int, size: int | None = 40, research: int | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {"pri_new_entrants": 10, "pri_new_entrants_ontime": ontime}
    if size is not None:
        figures["pri_grade1_max_class_size"] = size
    if research is not None:
        figures["central_joint_research"] = research
    return figures


@pytest.fixture
def world(tree: Tree) -> World:
    """Three districts, six primary schools (two central), every kind of target checked per school and in sum."""
    quarters = [period(2023, q) for q in range(1, 5)]
    for code in ("pri_new_entrants", "pri_new_entrants_ontime", "central_joint_research"):
        figure(code)
    stock("pri_grade1_max_class_size")
    d3 = OrgUnit.objects.create(code="D3", name="北区", level=Level.DISTRICT, parent=tree.city)
    schools = {
        "S1": tree.s1,  # D1, central
        "S2": tree.s2,  # D1
        "S3": tree.s3,  # D2
        "S4": OrgUnit.objects.create(code="S4", name="北区第一小学", parent=d3, **SCHOOL),
        "S5": OrgUnit.objects.create(code="S5", name="北区第二小学", parent=d3, **SCHOOL),
        "C6": OrgUnit.objects.create(code="C6", name="北区中心小学", parent=d3, is_central=True, **SCHOOL),
    }
    rate = indicator("ontime_rate", "pri_new_entrants_ontime", "pri_new_entrants", factor=D(100))
    entrants = indicator("entrants", "pri_new_entrants")
    size = indicator("max_class", "pri_grade1_max_class_size", aggregation=Aggregation.MAX)
    research = indicator(
        "research", "central_joint_research", aggregation=Aggregation.SUM, unit_filter_central_only=True
    )
    plan = Plan.objects.create(
        code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED
    )
    section = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)

    def add(code: str, kind: str, scope: OrgUnit, **extra: Any) -> Target:
        return Target.objects.create(plan=plan, section=section, code=code, text=code, kind=kind, scope=scope, **extra)

    each = {"indicator": rate, "comparator": Comparator.GTE, "target_value": D(90), "applies_to_each_unit": True}
    targets = {
        "agg": add("agg", TargetKind.THRESHOLD, tree.city, indicator=rate, comparator=Comparator.GTE,
                   target_value=D(95)),
        "each": add("each", TargetKind.THRESHOLD, tree.city, path_mode=PathMode.FLAT, **each),
        "each_d1": add("each_d1", TargetKind.THRESHOLD, tree.d1, path_mode=PathMode.FLAT, **each),
        "each_d2": add("each_d2", TargetKind.THRESHOLD, tree.d2, path_mode=PathMode.FLAT, **each),
        "limit": add(
            "limit", TargetKind.LIMIT, tree.city, indicator=size, comparator=Comparator.LTE, target_value=D(55)
        ),
        "freq": add(
            "freq",
            TargetKind.FREQUENCY,
            tree.city,
            indicator=research,
            comparator=Comparator.GTE,
            target_value=D(2),
            per_unit_minimum=D(2),
        ),
        "qty": add("qty", TargetKind.QUANTITY, tree.city, indicator=entrants, comparator=Comparator.GTE,
                   target_value=D(200)),
    }  # fmt: skip
    # Rates: S3 fails (80 %), the others pass (100 %); S5 reports only from Q2 on (a first value later).
    for quarter in quarters:
        for code, school in schools.items():
            if code == "S5" and quarter.quarter == 1:
                continue
            ontime = 8 if code == "S3" else 10
            research_count = 1 if school.is_central else None
            report(school, quarter, **_school_figures(ontime, research=research_count))
    engine.full_recompute()
    recompute_progress()
    return World(quarters=quarters, schools=schools, d3=d3, targets=targets, rate=rate, tree=tree)


def approve(unit: OrgUnit, quarter: Period, capture: Any, **figures: Any) -> None:
    """What an approval does: the figures saved approved, then the task (values, then progress after commit)."""
    report(unit, quarter, **figures)
    with capture(execute=True):
        pending = PendingRecompute.objects.create(org_unit=unit, period=quarter)
        recompute.process_pending(pending.pk)


def rows() -> dict[tuple[int, int, int], tuple[Any, ...]]:
    return {
        (t, p, u): (actual, expected, projection, status, detail)
        for t, p, u, actual, expected, projection, status, detail in Progress.objects.values_list(
            "target_id", "period_id", "org_unit_id", "actual", "expected", "projection", "status", "detail"
        )
    }


def test_one_approval_updates_the_failing_list_without_reading_every_school(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    each, q1 = world.targets["each"], world.quarters[0]
    city = world.tree.city
    before = Progress.objects.get(target=each, period=q1, org_unit=city)
    # Q1: S3 80 % fails; S1, S2, S3, S4, C6 have a value (S5 reports from Q2).
    assert before.detail["failing_units"] == [{"code": "S3", "name": "西区实验小学"}]
    assert (before.detail["failing_count"], before.detail["units_checked"]) == (1, 5)

    full_read = mock.patch.object(progress, "recompute_progress", side_effect=AssertionError("read every school"))
    with full_read:
        # S2 approved again with 7 of 10 on time: 70 % fails too.
        approve(world.schools["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(7))

    after = Progress.objects.get(target=each, period=q1, org_unit=city)
    # Path order: S2 (D1) before S3 (D2). 3 of 5 comply = 60 % < 95 % → off track.
    assert after.detail["failing_units"] == [
        {"code": "S2", "name": "东区第二小学"},
        {"code": "S3", "name": "西区实验小学"},
    ]
    fill_failing_values([after])  # what the pages and the API show: each school's value of the quarter
    assert after.typed_detail.failing_units == [
        {"code": "S2", "name": "东区第二小学", "value": 70.0},
        {"code": "S3", "name": "西区实验小学", "value": 80.0},
    ]
    assert (after.detail["failing_count"], after.detail["units_checked"], after.detail["units_complying"]) == (
        2,
        5,
        3,
    )
    assert after.status == "off_track"
    # The city's rate: on time (S1 10 + S2 7 + S3 8 + S4 10 + C6 10) / entrants (5 × 10) = 45 / 50 = 90 %.
    assert after.actual is not None
    assert round(after.actual, 2) == D("90.00")
    # The aggregate rate of D1: (10 + 7) / 20 = 85 %.
    d1_row = Progress.objects.get(target=world.targets["agg"], period=q1, org_unit=world.tree.d1)
    assert d1_row.actual is not None
    assert round(d1_row.actual, 2) == D("85.00")


def test_a_listed_school_still_failing_with_a_new_value_leaves_the_stored_list_as_it_was(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    each, q1 = world.targets["each"], world.quarters[0]
    limit = world.targets["limit"]
    stored = {
        (t, p, u): detail
        for t, p, u, detail in Progress.objects.filter(target__in=[each, world.targets["each_d2"]]).values_list(
            "target_id", "period_id", "org_unit_id", "detail"
        )
    }
    limit_rows = dict(Progress.objects.filter(target=limit).values_list("pk", "computed_at"))

    # S3 fails at 80 %; approved again at 70 % of Q1 it still fails: the same schools are listed, the same counts.
    approve(world.schools["S3"], q1, django_capture_on_commit_callbacks, **_school_figures(7))

    after = {
        (t, p, u): detail
        for t, p, u, detail in Progress.objects.filter(target__in=[each, world.targets["each_d2"]]).values_list(
            "target_id", "period_id", "org_unit_id", "detail"
        )
    }
    assert after == stored  # the rows' actual moved (the rates), their lists did not
    # The max class size did not move: the limit's rows were not rewritten at all.
    assert dict(Progress.objects.filter(target=limit).values_list("pk", "computed_at")) == limit_rows
    row = Progress.objects.get(target=each, period=q1, org_unit=world.tree.city)
    fill_failing_values([row])
    assert row.typed_detail.failing_units == [{"code": "S3", "name": "西区实验小学", "value": 70.0}]
    assert progress.recompute_progress() == 0  # what the full recompute writes


def test_an_approval_in_one_district_rewrites_no_row_of_another(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    d1, d2 = world.tree.d1, world.tree.d2
    outside = Progress.objects.exclude(org_unit__path__startswith=d1.path).exclude(org_unit__code="CITY")
    stamps = dict(outside.values_list("pk", "computed_at"))
    d1_rows = dict(Progress.objects.filter(org_unit=d1).values_list("pk", "computed_at"))
    # D2's own target: (D2, its schools S3 and K2) × 4 quarters; the city's targets have D2 and D3 rows too.
    assert Progress.objects.filter(target=world.targets["each_d2"], pk__in=list(stamps)).count() == 12
    assert Progress.objects.filter(target=world.targets["each"], org_unit=d2, pk__in=list(stamps)).count() == 4

    approve(world.schools["S1"], world.quarters[1], django_capture_on_commit_callbacks, **_school_figures(6))

    # D2's target, and the D2 and D3 rows of the city's targets: untouched.
    assert dict(Progress.objects.filter(pk__in=list(stamps)).values_list("pk", "computed_at")) == stamps
    # D1's rows of Q2 on did change (S1's rate fell below 90 %).
    moved = Progress.objects.filter(pk__in=list(d1_rows)).exclude(computed_at__in=list(d1_rows.values()))
    assert moved.exists()
    assert (
        Progress.objects.get(target=world.targets["each_d1"], period=world.quarters[1], org_unit__code="D1").detail[
            "failing_count"
        ]
        == 1
    )


def test_incremental_approvals_equal_the_full_recompute(
    world: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short failing list, so that truncated lists (and their fallback) are exercised too.
    monkeypatch.setattr(progress, "FAILING_LIMIT", 2)
    recompute_progress()
    q1, q2, q3, q4 = world.quarters
    s = world.schools
    approvals: list[tuple[str, Period, dict[str, Any]]] = [
        ("S2", q2, _school_figures(5)),  # a passing school fails
        ("S4", q1, _school_figures(6)),  # a third failing school: the list of 2 is full
        ("S1", q3, _school_figures(10, size=60, research=3)),  # a class-size breach; research ahead of pace
        ("S3", q1, _school_figures(10)),  # a listed failing school recovers while more fail than listed
        ("C6", q1, _school_figures(10, research=0)),  # a central school behind the pace
        ("C6", q3, _school_figures(10, research=0)),
        ("S5", q1, _school_figures(4)),  # a first value (S5 had none in Q1)
        ("S2", q2, _school_figures(10)),  # back to passing
        ("S1", q3, _school_figures(10, size=40, research=1)),  # the breach is gone
        ("C6", q4, _school_figures(10, research=5)),
        ("S4", q1, {"pri_new_entrants": None, "pri_new_entrants_ontime": None}),  # a value removed
    ]
    for code, quarter, figures in approvals:
        approve(s[code], quarter, django_capture_on_commit_callbacks, **figures)
        incremental = rows()
        # The nightly run computes every target once: it must find every row as the approvals left it.
        assert recompute_progress() == 0, (code, quarter.code)
        assert rows() == incremental, (code, quarter.code)
    statuses = set(Progress.objects.filter(org_unit__code="CITY").values_list("status", flat=True))
    assert {"off_track", "met"} <= statuses  # the world was not trivially all one status


def _replay_s2(world: World, started: Any, **extra: Any) -> None:
    """S2's approval announced again (S2 was at 100 % before it): its change added to the stored rows once more."""
    progress.recompute_progress_for_unit(
        unit_ids=world.schools["S2"].ancestor_ids,
        changed_unit_id=world.schools["S2"].pk,
        period_ids=[q.pk for q in world.quarters],
        indicator_ids=[world.rate.pk],
        previous={(world.rate.pk, q.pk): D(100) for q in world.quarters},
        since=started,
        **extra,
    )


def test_a_row_fully_recomputed_after_the_values_changed_is_not_counted_twice(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    each, q1 = world.targets["each"], world.quarters[0]
    started = timezone.now()  # the engine's recompute begins …
    approve(world.schools["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(7))
    row = Progress.objects.get(target=each, period=q1, org_unit=world.tree.city)
    assert row.detail["failing_count"] == 2  # S2 (70 %) and S3 (80 %)
    # … a full run (a target edit, the nightly run) rewrites the rows meanwhile, reading every school: it counts S2.
    Progress.objects.filter(target=each).delete()
    recompute_progress(target_ids=[each.pk])
    # Adding "S2 now fails" to that row again would count 3: the row was fully read after the change began, so the
    # target is read in full instead.
    _replay_s2(world, started)
    row = Progress.objects.get(target=each, period=q1, org_unit=world.tree.city)
    assert row.full_at is not None
    assert row.full_at >= started
    assert row.detail["failing_count"] == 2
    assert [unit["code"] for unit in row.detail["failing_units"]] == ["S2", "S3"]


def test_a_later_approval_of_the_same_school_is_not_counted_twice(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """Two approvals of S2 whose recomputes both finished before the first one's progress ran: the first run sees
    S2's values moved past what its recompute wrote, so it reads the targets in full instead of adding 100 → now
    (the second run adds its own change)."""
    each, q1 = world.targets["each"], world.quarters[0]
    started = timezone.now()
    approve(world.schools["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(7))
    first_after = {(world.rate.pk, q.pk): D(70) if q == q1 else D(100) for q in world.quarters}
    # The second approval's values (60 %) are written; its progress has not run yet.
    report(world.schools["S2"], q1, **_school_figures(6))
    engine.recompute_for(world.schools["S2"].pk, q1.pk)
    _replay_s2(world, started, after=first_after)
    row = Progress.objects.get(target=each, period=q1, org_unit=world.tree.city)
    assert row.detail["failing_count"] == 2  # S2 counted once, at its new value
    incremental = rows()
    assert recompute_progress() == 0
    assert rows() == incremental


def test_another_schools_approval_since_the_values_changed_needs_no_full_read(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """Approvals in different districts update the same city rows one after the other: a row rewritten by another
    approval's update (its own school's change only) is updated, not read in full (issue 17: workers scale)."""
    q1 = world.quarters[0]
    started = timezone.now()  # S4's recompute begins; S2's approval is processed meanwhile
    approve(world.schools["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(7))
    report(world.schools["S4"], q1, **_school_figures(6))
    previous = {(world.rate.pk, q.pk): D(100) for q in world.quarters}
    with django_capture_on_commit_callbacks(execute=False):
        engine.recompute_for(world.schools["S4"].pk, q1.pk)  # S4's values; its progress is announced below
    with mock.patch.object(progress, "recompute_progress", wraps=progress.recompute_progress) as full:
        # As a recompute that began before S2's approval wrote the city rows: S2's update must not force a full read.
        progress.recompute_progress_for_unit(
            unit_ids=world.schools["S4"].ancestor_ids,
            changed_unit_id=world.schools["S4"].pk,
            period_ids=[q.pk for q in world.quarters],
            indicator_ids=[world.rate.pk],
            previous=previous,
            since=started,
        )
    assert not full.called
    row = Progress.objects.get(target=world.targets["each"], period=q1, org_unit=world.tree.city)
    assert row.detail["failing_count"] == 3  # S2, S3 and S4, each counted once
    incremental = rows()
    assert recompute_progress() == 0
    assert rows() == incremental


def test_a_central_school_falling_behind_the_pace_updates_the_frequency_rows(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    freq, city = world.targets["freq"], world.tree.city

    def state(quarter: int) -> tuple[str, Any, Any, list[str]]:
        row = Progress.objects.get(target=freq, period=world.quarters[quarter - 1], org_unit=city)
        return row.status, row.actual, row.detail["failing_count"], [u["code"] for u in row.detail["failing_units"]]

    # S1 and C6 report one joint research a quarter; the minimum is 2 a semester (pace 1 in its first quarter).
    assert state(1) == ("on_track", D(100), 0, [])  # both on pace, neither at 2 yet
    assert state(2) == ("met", D(100), 0, [])
    with mock.patch.object(progress, "recompute_progress", side_effect=AssertionError("read every school")):
        approve(
            world.schools["C6"],
            world.quarters[0],
            django_capture_on_commit_callbacks,
            **_school_figures(10, research=0),
        )
    # Q1: C6 0 < pace 1 → 1 of 2 complies = 50 % → off track. Q2: C6's semester 0 + 1 = 1 < 2 → off track.
    assert state(1) == ("off_track", D(50), 1, ["C6"])
    assert state(2) == ("off_track", D(50), 1, ["C6"])
    # Q3 (mid H2): the second half counts from Q2's total: C6 2 − 1 = 1 on pace, S1 3 − 2 = 1 → on track; Q4 met.
    assert state(3) == ("on_track", D(100), 0, [])
    assert state(4) == ("met", D(100), 0, [])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_sequence_of_approvals_and_returns_equals_the_full_recompute(
    world: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Property: whatever approvals (new figures, values removed — a return reopened and approved again) come
    in whatever order, every Progress row the approvals leave is the row the full recompute writes."""
    monkeypatch.setattr(progress, "FAILING_LIMIT", 2)  # truncated lists and their fallback too
    recompute_progress()
    rng = random.Random(seed)
    codes = sorted(world.schools)
    for step in range(15):
        code, quarter = rng.choice(codes), rng.choice(world.quarters)
        figures: dict[str, Any]
        if rng.random() < 0.15:
            figures = {"pri_new_entrants": None, "pri_new_entrants_ontime": None}  # returned: nothing approved
        else:
            central = world.schools[code].is_central
            figures = _school_figures(
                rng.randint(5, 10), size=rng.choice([None, 40, 56, 60]), research=rng.randint(0, 3) if central else None
            )
        approve(world.schools[code], quarter, django_capture_on_commit_callbacks, **figures)
        incremental = rows()
        assert recompute_progress() == 0, (seed, step, code, quarter.code, figures)
        assert rows() == incremental, (seed, step, code, quarter.code, figures)


def test_a_listed_school_recovering_lets_the_next_failing_one_move_up_without_a_full_read(
    world: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "FAILING_LIMIT", 2)
    q1, s = world.quarters[0], world.schools
    approve(s["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(7))
    approve(s["S4"], q1, django_capture_on_commit_callbacks, **_school_figures(6))
    each = world.targets["each"]

    def city_row() -> tuple[list[str], int]:
        detail = Progress.objects.get(target=each, period=q1, org_unit=world.tree.city).detail
        return [unit["code"] for unit in detail["failing_units"]], detail["failing_count"]

    assert city_row() == (["S2", "S3"], 3)  # S4 fails too, beyond the list of 2
    full_read = mock.patch.object(progress, "recompute_progress", side_effect=AssertionError("read every school"))
    with full_read:
        approve(s["S2"], q1, django_capture_on_commit_callbacks, **_school_figures(10))  # S2 recovers
    assert city_row() == (["S3", "S4"], 2)  # S4 moved up, found from the list's end on
    incremental = rows()
    assert recompute_progress() == 0
    assert rows() == incremental
