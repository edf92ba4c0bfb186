"""A count of designations says the same in the engine and in progress: one unit filter, one open rule
(``indicators/unit_filter.py``: a unit closed on or before a period's last day does not count in it; an inactive
unit counts in no period)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from indicators import engine
from indicators.models import Aggregation, Indicator
from plans.models import Plan, PlanStatus, Section
from schools.models import Designation, DesignationKind, OrgUnit, Ownership, SchoolType
from targets.models import Comparator, Progress, Target, TargetKind
from targets.progress import recompute_progress
from tests.conftest import Tree
from tests.indicators.engine_data import period, value

D = Decimal


def test_a_closed_kindergartens_designation_counts_alike_in_engine_and_progress(tree: Tree) -> None:
    quarters = [period(2023, q) for q in (1, 2, 3, 4)]
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    # K1 stays open; K2 closes on 1 June (active, a closing date); K3 was closed (inactive) with no date.
    tree.k2.closed_on = datetime.date(2023, 6, 1)
    tree.k2.save()
    k3 = OrgUnit.objects.create(
        code="K3",
        name="西区第三幼儿园",
        level="school",
        parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN,
        ownership=Ownership.PUBLIC,
        is_active=False,
    )
    for unit in (tree.k1, tree.k2, k3):
        Designation.objects.create(org_unit=unit, kind=kind, granted_on=datetime.date(2023, 2, 1))
    count = Indicator.objects.create(
        code="model_kg",
        name="示范园",
        aggregation=Aggregation.COUNT_DESIGNATIONS,
        designation_kind=kind,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    plan = Plan.objects.create(code="p23", title="2023", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    section = Section.objects.create(plan=plan, code="s", title="s", order=1)
    target = Target.objects.create(
        plan=plan,
        section=section,
        code="T1",
        text="示范园 2 所",
        kind=TargetKind.COUNT_UNITS,
        scope=tree.city,
        indicator=count,
        comparator=Comparator.GTE,
        target_value=D(2),
    )

    engine.full_recompute()
    recompute_progress()

    by_engine = [value(count, tree.city, q, places=0) or D(0) for q in quarters]
    by_progress = [Progress.objects.get(target=target, org_unit=tree.city, period=q).actual or D(0) for q in quarters]
    # Q1: K1 and K2 (closing only in June); from Q2 on, K1 alone; K3 never.
    assert by_engine == [D(2), D(1), D(1), D(1)]
    assert by_progress == by_engine
    q4 = Progress.objects.get(target=target, org_unit=tree.city, period=quarters[3])
    assert [u["code"] for u in q4.detail["units"]] == ["K1"]
