"""Count targets by designation level ("省优质园 20 所") and units opened in the year ("新建幼儿园 20 所").

The engine (SQL) and the target progress (``targets/progress.py`` ``_count_units``) both count one level only.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from indicators import engine, explain
from indicators.models import Aggregation
from plans.models import Plan, PlanStatus, Section
from schools.models import Designation, DesignationKind, DesignationLevel, Level, OrgUnit, Ownership, SchoolType
from targets.models import Comparator, Progress, Target, TargetKind
from targets.progress import recompute_progress
from tests.conftest import Tree
from tests.indicators.engine_data import indicator, period, value

D = Decimal


def _grant(unit: OrgUnit, kind: DesignationKind, level: str, day: datetime.date) -> None:
    Designation.objects.create(org_unit=unit, kind=kind, level=level, granted_on=day)


def _quality(tree: Tree) -> DesignationKind:
    kind = DesignationKind.objects.create(code="quality_kg", name="优质园")
    _grant(tree.k1, kind, DesignationLevel.PROVINCE, datetime.date(2023, 2, 1))
    _grant(tree.k2, kind, DesignationLevel.CITY, datetime.date(2023, 2, 1))
    _grant(tree.s1, kind, DesignationLevel.PROVINCE, datetime.date(2023, 5, 1))
    return kind


def test_the_engine_counts_one_level_of_designation(tree: Tree) -> None:
    kind = _quality(tree)
    province = indicator(
        "province_quality_kg",
        aggregation=Aggregation.COUNT_DESIGNATIONS,
        designation_kind=kind,
        designation_level=DesignationLevel.PROVINCE,
    )
    every = indicator("quality_kg", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind)
    q1, q2 = period(2023, 1), period(2023, 2)
    engine.full_recompute()
    assert value(province, tree.city, q1) == D(1)  # K1 (province); K2 is city level
    assert value(province, tree.city, q2) == D(2)  # + S1
    assert value(every, tree.city, q1) == D(2)
    assert value(province, tree.d2, q1) == D(0)
    assert explain.explain(province, tree.city, q1).numerator == D(1)


def test_a_level_filter_is_refused_on_other_aggregations(tree: Tree) -> None:
    bad = indicator("sum_with_level", aggregation=Aggregation.SUM, designation_level=DesignationLevel.PROVINCE)
    assert "designation_level" in engine.validate_definition(bad, set())


def test_a_count_target_counts_one_level(tree: Tree) -> None:
    kind = _quality(tree)
    quarters = [period(2023, q) for q in (1, 2, 3, 4)]
    province = indicator(
        "province_quality_kg",
        aggregation=Aggregation.COUNT_DESIGNATIONS,
        designation_kind=kind,
        designation_level=DesignationLevel.PROVINCE,
    )
    plan = Plan.objects.create(code="p23", title="要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    section = Section.objects.create(plan=plan, code="s", title="s", order=1)
    target = Target.objects.create(
        plan=plan,
        section=section,
        code="T1",
        text="省优质园 2 所",
        kind=TargetKind.COUNT_UNITS,
        scope=tree.city,
        indicator=province,
        comparator=Comparator.GTE,
        target_value=D(2),
    )
    recompute_progress()
    rows = {p.period_id: p for p in Progress.objects.filter(target=target, org_unit=tree.city)}
    assert rows[quarters[0].pk].actual == D(1)
    assert sorted(u["code"] for u in rows[quarters[1].pk].detail["units"]) == ["K1", "S1"]
    assert rows[quarters[1].pk].actual == D(2)  # K2 (city level) never counts


def test_units_opened_in_the_year_are_counted(tree: Tree) -> None:
    school = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC, "school_type": SchoolType.KINDERGARTEN}
    OrgUnit.objects.create(code="K7", name="新幼一", parent=tree.t1, opened_on=datetime.date(2023, 3, 1), **school)
    OrgUnit.objects.create(code="K8", name="新幼二", parent=tree.d2, opened_on=datetime.date(2023, 9, 1), **school)
    OrgUnit.objects.create(code="K9", name="旧幼", parent=tree.d2, opened_on=datetime.date(2022, 9, 1), **school)
    OrgUnit.objects.create(
        code="P7",
        name="新小学",
        parent=tree.d2,
        opened_on=datetime.date(2023, 3, 1),
        level=Level.SCHOOL,
        school_type=SchoolType.PRIMARY,
    )
    opened = indicator(
        "new_kindergartens",
        aggregation=Aggregation.COUNT_OPENED_UNITS,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    q1, q3 = period(2023, 1), period(2023, 3)
    q1_next_year = period(2024, 1)
    assert engine.validate_definition(opened, set()) == {}
    engine.full_recompute()
    assert value(opened, tree.city, q1) == D(1)  # K7 (March); the primary school P7 is not a kindergarten
    assert value(opened, tree.city, q3) == D(2)  # + K8 (September)
    assert value(opened, tree.d2, q3) == D(1)  # K8; K9 opened last year
    assert value(opened, tree.city, q1_next_year) == D(0)  # a new year starts from zero
    assert explain.explain(opened, tree.city, q3).numerator == D(2)


def test_a_count_target_counts_units_opened_in_the_plan_year(tree: Tree) -> None:
    school = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC, "school_type": SchoolType.KINDERGARTEN}
    OrgUnit.objects.create(code="K7", name="新幼一", parent=tree.t1, opened_on=datetime.date(2023, 3, 1), **school)
    OrgUnit.objects.create(code="K8", name="新幼二", parent=tree.d2, opened_on=datetime.date(2023, 9, 1), **school)
    quarters = [period(2023, q) for q in (1, 2, 3, 4)]
    opened = indicator(
        "new_kindergartens",
        aggregation=Aggregation.COUNT_OPENED_UNITS,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    engine.full_recompute()
    plan = Plan.objects.create(code="p23", title="要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    section = Section.objects.create(plan=plan, code="s", title="s", order=1)
    target = Target.objects.create(
        plan=plan,
        section=section,
        code="T1",
        text="新建幼儿园 2 所",
        kind=TargetKind.COUNT_UNITS,
        scope=tree.city,
        indicator=opened,
        comparator=Comparator.GTE,
        target_value=D(2),
    )
    recompute_progress()
    rows = {p.period_id: p for p in Progress.objects.filter(target=target, org_unit=tree.city)}
    assert [rows[q.pk].actual for q in quarters] == [D(1), D(1), D(2), D(2)]
    assert rows[quarters[3].pk].status == "met"
    assert Progress.objects.get(target=target, org_unit=tree.d2, period=quarters[3]).actual == D(1)


def test_opening_a_unit_recomputes_the_opened_count(tree: Tree, django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    quarters = [period(2023, q) for q in (1, 2, 3, 4)]
    opened = indicator(
        "new_kindergartens",
        aggregation=Aggregation.COUNT_OPENED_UNITS,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    engine.full_recompute()
    assert [value(opened, tree.city, q) for q in quarters] == [D(0)] * 4
    school = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC, "school_type": SchoolType.KINDERGARTEN}
    with django_capture_on_commit_callbacks(execute=True):
        unit = OrgUnit.objects.create(
            code="K7", name="新幼", parent=tree.d2, opened_on=datetime.date(2023, 5, 1), **school
        )
    assert [value(opened, tree.city, q) for q in quarters] == [D(0), D(1), D(1), D(1)]
    with django_capture_on_commit_callbacks(execute=True):
        unit.opened_on = datetime.date(2023, 8, 1)
        unit.save()
    assert [value(opened, tree.city, q) for q in quarters] == [D(0), D(0), D(1), D(1)]
    assert [value(opened, tree.d2, q) for q in quarters] == [D(0), D(0), D(1), D(1)]
