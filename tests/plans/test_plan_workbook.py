"""Plan workbook: export → import round-trips, errors by sheet/row/column, all-or-nothing, seed 001 loads."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section, WorkItem
from portal.errors import ServiceError
from submissions.models import Period
from targets.models import Comparator, PathMode, Progress, Target, TargetKind
from targets.progress import recompute_progress
from targets.workbook import TARGET_SHEET, export_plan, import_plan

SEED_001 = Path(__file__).resolve().parents[2] / "demo" / "data" / "plan_001.xlsx"


def make_periods(year: int) -> list[Period]:
    result = []
    for q in range(1, 5):
        day = datetime.date(year, 3 * q - 2, 1)
        result.append(
            Period.objects.create(code=f"{year}Q{q}", year=year, quarter=q, opens_on=day, due_on=day, locks_on=day)
        )
    return result


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    plan = Plan.objects.create(
        code="p23",
        title="2023年工作要点",
        year=2023,
        owner_unit=tree.city,
        status=PlanStatus.PUBLISHED,
        guiding_ideas="指导思想原文",
    )
    goals = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1, intro="导语")
    equity = Section.objects.create(plan=plan, code="equity", title="教育公平", order=2)
    item = WorkItem.objects.create(section=equity, number=1, title="扩大小学教育资源", text="原文……")
    rate = Indicator.objects.create(code="kg_rate", name="入园率")
    periods = make_periods(2023)
    whole = Target.objects.create(
        plan=plan,
        section=goals,
        code="T01",
        text="招收新生23000人",
        kind=TargetKind.QUANTITY,
        comparator=Comparator.EQ,
        target_value=Decimal(23000),
        scope=tree.city,
        assess_from=periods[2],
    )
    Target.objects.create(
        plan=plan,
        section=goals,
        code="T02",
        text="其中外来生2000人",
        kind=TargetKind.QUANTITY,
        comparator=Comparator.EQ,
        target_value=Decimal(2000),
        scope=tree.city,
        part_of=whole,
    )
    Target.objects.create(
        plan=plan,
        section=goals,
        code="T05",
        text="入园率达99%以上",
        kind=TargetKind.THRESHOLD,
        indicator=rate,
        comparator=Comparator.RANGE,
        target_value=Decimal(99),
        target_value_max=Decimal(100),
        scope=tree.d1,
        applies_to_each_unit=True,
        path_mode=PathMode.FLAT,
        at_risk_margin=Decimal("0.02"),
        owner_unit=tree.d1,
        owner_name="初幼教科",
        baseline_value=Decimal("97.5"),
        baseline_period=periods[0],
    )
    Target.objects.create(
        plan=plan,
        section=equity,
        work_item=item,
        code="T16",
        text="第五小学2023年秋季交付办学",
        kind=TargetKind.MILESTONE,
        scope=tree.city,
        due_period=periods[2],
        due_date=datetime.date(2023, 9, 1),
        milestone_status="in_progress",
    )
    return plan


def snapshot(plan: Plan) -> dict[str, object]:
    """Everything the workbook carries, by natural keys."""
    targets = [
        (t.code, t.section.code, t.work_item.number if t.work_item else None, t.text, t.kind,
         t.indicator.code if t.indicator else None, t.comparator, t.target_value, t.target_value_max,
         t.per_unit_minimum, t.baseline_value, t.baseline_period.code if t.baseline_period else None,
         t.scope.code, t.applies_to_each_unit, t.due_period.code if t.due_period else None, t.due_date,
         t.path_mode, t.at_risk_margin, t.owner_unit.code if t.owner_unit else None, t.owner_name,
         t.part_of.code if t.part_of else None, t.milestone_status, t.assess_from.code if t.assess_from else None)
        for t in Target.objects.filter(plan=plan).order_by("code")
    ]  # fmt: skip
    return {
        "plan": (plan.code, plan.title, plan.year, plan.owner_unit.code, plan.status, plan.guiding_ideas),
        "sections": list(plan.sections.order_by("code").values_list("code", "title", "order", "intro")),
        "items": list(
            WorkItem.objects.filter(section__plan=plan).values_list("section__code", "number", "title", "text")
        ),
        "targets": targets,
    }


def test_the_plan_workbook_round_trips(users, plan) -> None:  # noqa: ANN001
    # given a plan exported to a workbook
    before = snapshot(plan)
    content = export_plan(plan)
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["工作要点", "章节", "工作任务", "目标"]
    assert workbook[TARGET_SHEET]["A1"].value == "代码"
    assert workbook[TARGET_SHEET]["E2"].value == "数量（年内累计）"  # kinds are written as their Chinese labels

    # when the plan is deleted and the workbook imported
    Target.objects.filter(plan=plan, part_of__isnull=False).delete()
    Target.objects.filter(plan=plan).delete()
    plan.delete()
    imported = import_plan(users.bea, io.BytesIO(content))

    # then everything it carried is back
    assert snapshot(imported) == before
    # and importing it again changes nothing
    import_plan(users.bea, io.BytesIO(content))
    assert snapshot(Plan.objects.get(code="p23")) == before
    assert Target.objects.get(plan=imported, code="T01").version == 1


def test_a_workbook_written_in_one_language_imports_in_the_other(users, plan) -> None:  # noqa: ANN001
    from django.utils import translation

    before = snapshot(plan)
    with translation.override("zh-hans"):
        chinese = export_plan(plan)
    with translation.override("en"):
        english = export_plan(plan)
    assert load_workbook(io.BytesIO(english))[TARGET_SHEET]["E2"].value != "数量（年内累计）"
    # A Chinese workbook uploaded by someone reading the portal in English, and the other way round.
    for written, read in ((chinese, "en"), (english, "zh-hans")):
        Target.objects.filter(plan__code="p23", part_of__isnull=False).delete()
        Target.objects.filter(plan__code="p23").delete()
        Plan.objects.filter(code="p23").delete()
        with translation.override(read):
            imported = import_plan(users.bea, io.BytesIO(written))
        assert snapshot(imported) == before


def test_a_workbook_without_the_assess_from_column_leaves_it_as_it_is(users, plan) -> None:  # noqa: ANN001
    # given: a workbook exported before the 起评季度 column existed (the column removed)
    workbook = load_workbook(io.BytesIO(export_plan(plan)))
    sheet = workbook[TARGET_SHEET]
    headers = [cell.value for cell in sheet[1]]
    column = headers.index("起评季度") + 1  # later columns (per-unit level, rhythm, ceiling) follow it
    assert sheet.cell(row=2, column=column).value == "2023Q3"  # T01
    sheet.delete_cols(column)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    # when it is imported over the plan
    import_plan(users.bea, buffer)
    # then T01 is still assessed from Q3
    assert Target.objects.get(plan=plan, code="T01").assess_from.code == "2023Q3"


def _edit(content: bytes, sheet: str, cells: dict[str, object]) -> io.BytesIO:
    workbook = load_workbook(io.BytesIO(content))
    for ref, value in cells.items():
        workbook[sheet][ref] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def test_import_reports_every_bad_cell_and_writes_nothing(users, plan) -> None:  # noqa: ANN001
    content = export_plan(plan)
    # Row 2 is T01: change its text (valid) — it must not be kept when another row fails.
    # Row 4 is T05: bad kind (E), unknown indicator (F), a number that isn't (H), unknown unit (M).
    bad = _edit(
        content, TARGET_SHEET, {"D2": "改过的原文", "E4": "未知类型", "F4": "no_such", "H4": "九十九", "M4": "XX"}
    )
    with pytest.raises(ServiceError) as caught:
        import_plan(users.bea, bad)
    errors = caught.value.errors
    assert set(errors) == {"目标!E4", "目标!F4", "目标!H4", "目标!M4"}
    assert errors["目标!H4"] == ["“目标”表第 4 行 H 列（目标值）：请填写数字。"]
    assert errors["目标!F4"] == ["“目标”表第 4 行 F 列（统计指标代码）：找不到统计指标“no_such”。"]
    assert Target.objects.get(plan=plan, code="T01").text == "招收新生23000人"


def test_service_rules_are_reported_at_the_cell(users, plan) -> None:  # noqa: ANN001
    content = export_plan(plan)
    # T05 (row 4): upper bound below the target value → the service's rule, placed at column I.
    bad = _edit(content, TARGET_SHEET, {"I4": 90})
    with pytest.raises(ServiceError) as caught:
        import_plan(users.bea, bad)
    assert list(caught.value.errors) == ["目标!I4"]
    assert "目标上限不能小于目标值" in caught.value.errors["目标!I4"][0]


def test_only_bureau_staff_import(users, plan) -> None:  # noqa: ANN001
    content = export_plan(plan)
    with pytest.raises(PermissionDenied):
        import_plan(users.rita, io.BytesIO(content))


def test_unsafe_files_are_refused(users) -> None:  # noqa: ANN001
    with pytest.raises(ServiceError) as caught:
        import_plan(users.bea, io.BytesIO(b"code,title\n1,2\n"))
    assert "file" in caught.value.errors


def test_seed_001_loads_from_its_import_file_and_its_progress_computes(users, tree) -> None:  # noqa: ANN001
    make_periods(2015)
    # given the indicators the county's file refers to exist (defined by the bureau, not by this plan's code)
    sheet = load_workbook(SEED_001, read_only=True)[TARGET_SHEET]
    codes = {row[5] for row in sheet.iter_rows(min_row=2, values_only=True) if row[5]}
    assert codes == {"kg_3yr_rate", "kg_preschool_1yr_rate", "special_disabled_enrolment_rate"}
    for code in codes:
        Indicator.objects.create(code=code, name=code, unit="%")
    with SEED_001.open("rb") as handle:
        plan = import_plan(users.bea, handle)

    # 7 sections, 21 work items and 66 targets, from the file alone.
    assert (plan.code, plan.year, plan.status) == ("2015-county-basic", 2015, PlanStatus.PUBLISHED)
    assert plan.sections.count() == 7
    assert WorkItem.objects.filter(section__plan=plan).count() == 21
    assert Target.objects.filter(plan=plan).count() == 66
    assert Target.objects.get(plan=plan, code="T15").per_unit_minimum == Decimal(1)

    recompute_progress()
    # Every target has a row for each 2015 quarter (scope) — no code knows this plan.
    scope_rows = Progress.objects.filter(target__plan=plan, org_unit=tree.city)
    assert scope_rows.count() == 66 * 4
    # Nothing is reported yet: milestones and narratives without notes, unlinked measures → no data.
    assert set(scope_rows.values_list("status", flat=True)) == {"no_data"}
