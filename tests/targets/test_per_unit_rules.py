"""Per-unit rules at any level and any rhythm (issue 13 §3): "每个县区创建2-3所", "每个学区每月一次", a range that is
a range, targets without a number (跟踪中（无定量）), and the refusal of a per-unit rule that cannot be measured.

Tree (tests/conftest.py): CITY → D1 → T1 (学区) → S1, S2, K1; CITY → D2 → S3, K2. Statuses worked out by hand.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from indicators.models import Aggregation, Indicator
from plans.models import Plan, PlanStatus, Section
from portal.errors import ServiceError
from schools.models import Designation, DesignationKind, OrgUnit, SchoolType
from targets import targets_service
from targets.models import Comparator, EachUnitLevel, Progress, ProgressStatus, Rhythm, Target, TargetKind
from targets.progress import recompute_progress, satisfies
from targets.workbook import export_plan, import_plan
from tests.targets.test_progress import target as make
from tests.targets.test_progress import values
from tests.targets.test_progress_incremental import _school_figures, approve, world  # noqa: F401  (a fixture)
from tests.targets.test_progress_incremental import rows as _rows

D = Decimal


@pytest.fixture
def section(tree) -> Section:  # noqa: ANN001
    plan = Plan.objects.create(
        code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.DRAFT
    )
    return Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)


def rows(t: Target, unit: OrgUnit) -> list[Progress]:
    return list(Progress.objects.filter(target=t, org_unit=unit).order_by("period__quarter"))


# --- Per-district count ---


def test_each_district_creates_two_to_three(client, users, tree, quarters, section) -> None:  # noqa: ANN001
    """ "每个县区创建2-3所示范园": each district counts its own designations, and a district above 3 still meets."""
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    grants = [(tree.k1, 2), (tree.k2, 3), (tree.s1, 5), (tree.s2, 8), (tree.s3, 10)]
    for unit, month in grants:
        Designation.objects.create(org_unit=unit, kind=kind, granted_on=datetime.date(2023, month, 1))
    count = Indicator.objects.create(
        code="model_kg_count", name="示范园数", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind
    )
    t = make(
        section,
        "C1",
        TargetKind.COUNT_UNITS,
        tree.city,
        indicator=count,
        comparator=Comparator.RANGE,
        target_value=D(2),
        target_value_max=D(3),
        applies_to_each_unit=True,
        each_unit_level=EachUnitLevel.DISTRICT,
    )
    # A third district that creates four: above the range, still met (3 is not a ceiling here).
    d3 = OrgUnit.objects.create(code="D3", name="南区", level="district", parent=tree.city)
    for i in range(4):
        school = OrgUnit.objects.create(code=f"N{i}", name=f"南区{i}", level="school", parent=d3)
        Designation.objects.create(org_unit=school, kind=kind, granted_on=datetime.date(2023, 1, 15))

    recompute_progress()

    # By quarter end: D1 1, 2, 3, 3; D2 1, 1, 1, 2; D3 4 throughout. Linear path 0 → 2: 0.5, 1, 1.5, 2.
    # Q1: none meets 2–3 but D1 and D2 are on pace (≥ 0.5): on track, 1 of 3 (D3) meets.
    # Q2: D1 2 and D3 meet, D2 1 ≥ 1 on pace: on track. Q3: D2 1 < 1.5 behind: 2 of 3 on pace → off track.
    # Q4: every district within or above 2–3: met.
    city = rows(t, tree.city)
    assert [r.status for r in city] == ["on_track", "on_track", "off_track", "met"]
    assert [round(r.actual or 0, 1) for r in city] == [D("33.3"), D("66.7"), D("66.7"), D(100)]
    q3 = city[2].typed_detail
    assert [(u["code"], u["value"]) for u in q3.failing_units or []] == [("D2", 1.0)]
    assert (q3.units_checked, q3.units_complying) == (3, 2)
    # Each district's own row is about that district alone.
    assert [r.status for r in rows(t, tree.d1)] == ["on_track", "met", "met", "met"]
    assert [r.status for r in rows(t, tree.d2)] == ["on_track", "on_track", "off_track", "met"]
    # The target page names districts, with their own count, and the rule as a rule.
    client.force_login(users.bea)
    url = reverse("reports:target_detail", kwargs={"plan": "p23", "code": "C1"})
    page = client.get(url, {"period": "2023Q3"}).content.decode()
    assert "共 1 个区县未达到要求（共检查 3 个）" in page
    assert '<span class="num">1 所</span>' in page
    assert "67% 的区县达到 2–3所" in page
    assert "每个区县 2–3所" in page


def test_a_ceiling_range_fails_a_unit_above_it() -> None:
    target = Target(kind=TargetKind.THRESHOLD, comparator=Comparator.RANGE, target_value=D(2), target_value_max=D(3))
    assert [satisfies(target, D(n)) for n in (1, 2, 3, 4)] == [False, True, True, True]
    target.range_is_ceiling = True
    assert [satisfies(target, D(n)) for n in (1, 2, 3, 4)] == [False, True, True, False]


# --- Frequency at any level and rhythm ---


def test_a_xuequ_holds_a_model_lesson_every_month(tree, quarters, section) -> None:  # noqa: ANN001
    """ "每个学区每月开展一次示范课": the 学区's own count (not its schools'), three a quarter."""
    lessons = Indicator.objects.create(code="model_lessons", name="示范课次数", unit="次", aggregation=Aggregation.SUM)
    t = make(
        section,
        "F1",
        TargetKind.FREQUENCY,
        tree.d1,
        indicator=lessons,
        per_unit_minimum=D(1),
        rhythm=Rhythm.MONTH,
        each_unit_level=EachUnitLevel.TOWNSHIP,
    )
    values(lessons, tree.t1, quarters, [3, 5, 8, 11])  # year to date: 3, 2, 3, 3 in the quarters
    values(lessons, tree.s1, quarters, [0, 0, 0, 0])  # a school's own figure does not count for the 学区

    recompute_progress()

    district = rows(t, tree.d1)
    assert [r.status for r in district] == ["met", "off_track", "met", "met"]
    assert [r.actual for r in district] == [D(100), D(0), D(100), D(100)]
    q2 = district[1].typed_detail
    assert [(u["code"], u["value"]) for u in q2.failing_units or []] == [("T1", 2.0)]
    assert q2.units_qualifying == 1


def test_a_frequency_range_is_met_above_its_top_unless_it_is_a_ceiling(tree, quarters, section) -> None:  # noqa: ANN001
    """ "每学期2-3次": 4 meets; with the plan's ceiling, 4 does not."""
    visits = Indicator.objects.create(
        code="visits", name="送教次数", unit="次", aggregation=Aggregation.SUM,
        unit_filter_school_types=[SchoolType.PRIMARY],
    )  # fmt: skip
    common = {"indicator": visits, "target_value": D(2), "target_value_max": D(3)}
    open_top = make(section, "F2", TargetKind.FREQUENCY, tree.t1, **common)
    ceiling = make(section, "F3", TargetKind.FREQUENCY, tree.t1, range_is_ceiling=True, **common)
    values(visits, tree.s1, quarters, [2, 4, None, None])
    values(visits, tree.s2, quarters, [1, 2, None, None])

    recompute_progress()

    # Q2 (end of the first semester): S1 4, S2 2 (K1 is no primary school).
    assert rows(open_top, tree.t1)[1].status == "met"
    capped = rows(ceiling, tree.t1)[1]
    assert (capped.status, capped.actual) == ("off_track", D(50))
    assert [u["code"] for u in capped.typed_detail.failing_units or []] == ["S1"]


def test_a_quarterly_frequency_counts_each_quarter_on_its_own(tree, quarters, section) -> None:  # noqa: ANN001
    visits = Indicator.objects.create(
        code="visits", name="送教次数", unit="次", aggregation=Aggregation.SUM,
        unit_filter_school_types=[SchoolType.PRIMARY],
    )  # fmt: skip
    t = make(section, "F4", TargetKind.FREQUENCY, tree.t1, indicator=visits, per_unit_minimum=D(2),
             rhythm=Rhythm.QUARTER)  # fmt: skip
    values(visits, tree.s1, quarters, [2, 3, 5, 7])  # 2, 1, 2, 2
    values(visits, tree.s2, quarters, [2, 4, 6, 8])  # 2, 2, 2, 2

    recompute_progress()

    assert [r.status for r in rows(t, tree.t1)] == ["met", "off_track", "met", "met"]


# --- No quota ---


def test_a_target_without_a_number_is_tracked_not_no_data(tree, quarters, section) -> None:  # noqa: ANN001
    """ "开展示范园创建工作": the count and the list of what was done, status 跟踪中（无定量）."""
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 4, 1))
    count = Indicator.objects.create(
        code="model_kg_count", name="示范园数", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind
    )
    t = make(section, "N1", TargetKind.COUNT_UNITS, tree.city, indicator=count)
    classes = Indicator.objects.create(code="special_classes", name="特教班数", aggregation=Aggregation.SUM)
    q = make(section, "N2", TargetKind.QUANTITY, tree.city, indicator=classes, comparator=Comparator.GTE)
    values(classes, tree.city, quarters, [None, 2, 3, None])

    recompute_progress()

    city = rows(t, tree.city)
    assert [r.status for r in city] == ["tracked", "tracked", "tracked", "tracked"]
    assert [r.actual for r in city] == [D(0), D(1), D(1), D(1)]
    assert [u["code"] for u in city[1].typed_detail.units or []] == ["K1"]
    assert [r.status for r in rows(q, tree.city)] == ["no_data", "tracked", "tracked", "no_data"]
    assert str(ProgressStatus.TRACKED.label) == "跟踪中（无定量）"


# --- Refused where it cannot be measured (the one target service: form, API, workbook, drafts) ---


def _fields(section: Section, **extra: object) -> dict[str, object]:
    return {"section": section, "code": "X1", "text": "每个单位…", **extra}


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("milestone", "applies_to_each_unit"),
        ("no_number", "applies_to_each_unit"),
        ("count_per_school", "each_unit_level"),
        ("level_not_below_scope", "each_unit_level"),
        ("no_unit_at_level", "each_unit_level"),
        ("level_without_rule", "each_unit_level"),
        ("rhythm_of_a_threshold", "rhythm"),
        ("ceiling_without_range", "range_is_ceiling"),
    ],
)
def test_a_per_unit_rule_that_cannot_be_measured_is_refused(tree, users, quarters, section, case, field) -> None:  # noqa: ANN001
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    count = Indicator.objects.create(
        code="model_kg_count", name="示范园数", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind
    )
    rate = Indicator.objects.create(code="rate", name="达标率", unit="%")
    per_unit = {"applies_to_each_unit": True, "comparator": Comparator.GTE, "target_value": D(2)}
    fields = {
        "milestone": _fields(section, kind=TargetKind.MILESTONE, applies_to_each_unit=True),
        "no_number": _fields(
            section, kind=TargetKind.THRESHOLD, indicator=rate, applies_to_each_unit=True, comparator=Comparator.GTE
        ),
        "count_per_school": _fields(section, kind=TargetKind.COUNT_UNITS, indicator=count, **per_unit),
        "level_not_below_scope": _fields(
            section, kind=TargetKind.COUNT_UNITS, indicator=count, scope=tree.d1,
            each_unit_level=EachUnitLevel.DISTRICT, **per_unit,
        ),
        "no_unit_at_level": _fields(
            section, kind=TargetKind.COUNT_UNITS, indicator=count, scope=tree.d2,
            each_unit_level=EachUnitLevel.TOWNSHIP, **per_unit,
        ),
        "level_without_rule": _fields(
            section, kind=TargetKind.THRESHOLD, indicator=rate, comparator=Comparator.GTE, target_value=D(90),
            each_unit_level=EachUnitLevel.DISTRICT,
        ),
        "rhythm_of_a_threshold": _fields(
            section, kind=TargetKind.THRESHOLD, indicator=rate, comparator=Comparator.GTE, target_value=D(90),
            rhythm=Rhythm.MONTH,
        ),
        "ceiling_without_range": _fields(
            section, kind=TargetKind.THRESHOLD, indicator=rate, comparator=Comparator.GTE, target_value=D(90),
            range_is_ceiling=True,
        ),
    }[case]  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        targets_service.create_target(users.bea, section.plan, fields)
    assert field in refused.value.errors
    assert not Target.objects.filter(code="X1").exists()


def test_a_measurable_per_unit_rule_is_accepted(tree, users, quarters, section) -> None:  # noqa: ANN001
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    count = Indicator.objects.create(
        code="model_kg_count", name="示范园数", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind
    )
    target = targets_service.create_target(
        users.bea,
        section.plan,
        _fields(section, kind=TargetKind.COUNT_UNITS, indicator=count, applies_to_each_unit=True,
                comparator=Comparator.RANGE, target_value=D(2), target_value_max=D(3),
                each_unit_level=EachUnitLevel.DISTRICT),
    )  # fmt: skip
    assert Progress.objects.filter(target=target, org_unit=tree.city).exists()


def test_the_api_refuses_it_in_the_same_words(client, tree, users, quarters, section) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    response = client.post(
        f"/api/v1/plans/{section.plan.code}/targets/",
        {"code": "X2", "section": "goals", "text": "每个里程碑", "kind": "milestone", "applies_to_each_unit": True},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "里程碑和定性工作没有逐个单位的数值" in response.content.decode()
    assert not Target.objects.filter(code="X2").exists()


def test_the_api_takes_the_level_and_the_rhythm(client, tree, users, quarters, section) -> None:  # noqa: ANN001
    Indicator.objects.create(code="model_lessons", name="示范课次数", unit="次", aggregation=Aggregation.SUM)
    client.force_login(users.bea)
    url = f"/api/v1/plans/{section.plan.code}/targets/"
    body = {
        "code": "F9", "section": "goals", "text": "每个学区每月开展一次示范课", "kind": "frequency",
        "indicator": "model_lessons", "per_unit_minimum": "1", "per": "month", "each_unit_level": "township",
        "scope": "D1",
    }  # fmt: skip
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    target = Target.objects.get(code="F9")
    assert (target.rhythm, target.each_unit_level) == ("month", "township")
    assert (response.json()["per"], response.json()["each_unit_level"]) == ("month", "township")
    # The same rule at a level with no unit under the scope (西区 has no 学区): refused, nothing stored.
    refused = client.post(url, {**body, "code": "F10", "scope": "D2"}, content_type="application/json")
    assert refused.status_code == 400
    assert "each_unit_level" in refused.json()["errors"]
    assert not Target.objects.filter(code="F10").exists()


def test_the_plan_workbook_round_trips_the_level_the_rhythm_and_the_ceiling(tree, users, quarters, section) -> None:  # noqa: ANN001
    visits = Indicator.objects.create(code="visits", name="送教次数", unit="次", aggregation=Aggregation.SUM)
    make(section, "F5", TargetKind.FREQUENCY, tree.d1, indicator=visits, per_unit_minimum=D(1), target_value_max=D(2),
         rhythm=Rhythm.QUARTER, each_unit_level=EachUnitLevel.TOWNSHIP, range_is_ceiling=True)  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(export_plan(section.plan)))
    sheet = book["目标"]
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert (row["逐个评估的单位层级"], row["频次周期"], row["超过上限视为未达标"]) == ("每个乡镇/学区", "每季度", "是")
    # Change the rhythm in the workbook and import it: the service takes it.
    sheet.cell(row=2, column=header.index("频次周期") + 1, value="每月")
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    import_plan(users.bea, out)
    assert Target.objects.get(code="F5").rhythm == "month"


# --- Approvals (incremental) equal the full run for the new levels and rhythms ---


def test_approvals_update_level_and_rhythm_rules_as_the_full_run_does(
    world,  # noqa: F811  (the fixture imported above)
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    t = world.targets["agg"]
    research = world.targets["freq"].indicator
    per_district = {"indicator": world.rate, "comparator": Comparator.GTE, "target_value": D(90),
                    "applies_to_each_unit": True, "each_unit_level": EachUnitLevel.DISTRICT}  # fmt: skip
    added = [
        make(t.section, "each_district", TargetKind.THRESHOLD, world.tree.city, **per_district),
        make(t.section, "freq_q", TargetKind.FREQUENCY, world.tree.city, indicator=research, per_unit_minimum=D(1),
             rhythm=Rhythm.QUARTER),
        make(t.section, "freq_cap", TargetKind.FREQUENCY, world.tree.city, indicator=research, per_unit_minimum=D(1),
             target_value_max=D(2), range_is_ceiling=True),
    ]  # fmt: skip
    recompute_progress()
    q1, q2, q3, _q4 = world.quarters
    s = world.schools
    for code, quarter, figures in [
        ("S2", q2, _school_figures(5)),  # D1 falls below 90 %
        ("C6", q1, _school_figures(10, research=3)),  # above the ceiling of 2
        ("S1", q3, _school_figures(10, research=0)),  # a central school misses its quarter
        ("S2", q2, _school_figures(10)),
    ]:
        approve(s[code], quarter, django_capture_on_commit_callbacks, **figures)
        incremental = _rows()
        assert recompute_progress() == 0, (code, quarter.code)
        assert _rows() == incremental
    assert Progress.objects.filter(target__in=added, status="off_track").exists()
