"""A plan as an Excel workbook: export, and all-or-nothing import with errors by sheet, row and column.

Sheets: 工作要点 (the plan itself, one field per row), 章节 (sections), 工作任务 (work items),
目标 (targets). Import creates or updates by natural keys (plan code, section code, section + number,
target code); rows missing from the workbook are left alone. Targets go through
``targets.targets_service`` so the rules are the same as in the browser and the API.

Every cell is written through ``portal.xlsx`` (titles, texts and names are staff-typed): text that
begins like a formula is a string cell, never a formula, and reads back exactly as typed. Import
problems are collected in one ``portal.xlsx.ImportErrors`` (the error type of every importer).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section, WorkItem
from portal import audit, scope
from portal.errors import ServiceError
from portal.models import AuditChannel
from portal.scope import Perm
from portal.upload_safety import check_xlsx_upload
from portal.xlsx import CellError, ImportErrors, safe_row
from schools.models import OrgUnit
from submissions.models import Period
from targets import targets_service
from targets.models import Comparator, Direction, EachUnitLevel, MilestoneStatus, PathMode, Rhythm, Target, TargetKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PLAN_SHEET, SECTION_SHEET, ITEM_SHEET, TARGET_SHEET = "工作要点", "章节", "工作任务", "目标"
PLAN_FIELDS = [("code", "代码"), ("title", "标题"), ("year", "年度"), ("owner_unit", "制定单位"),
               ("parent", "上级计划"), ("status", "状态"), ("guiding_ideas", "指导思想")]  # fmt: skip
SECTION_COLUMNS = [("code", "代码"), ("title", "标题"), ("order", "顺序"), ("intro", "导语")]
ITEM_COLUMNS = [("section", "部分代码"), ("number", "序号"), ("title", "标题"), ("text", "原文")]
TARGET_COLUMNS = [
    ("code", "代码"), ("section", "部分代码"), ("work_item", "工作任务序号"), ("text", "目标原文"),
    ("kind", "类型"), ("indicator", "统计指标代码"), ("comparator", "比较"), ("target_value", "目标值"),
    ("target_value_max", "目标上限"), ("per_unit_minimum", "每单位最低次数"), ("baseline_value", "基线值"),
    ("baseline_period", "基线周期"), ("scope", "范围单位代码"), ("applies_to_each_unit", "每个单位均须达标"),
    ("due_period", "完成期限"), ("due_date", "截止日期"), ("path_mode", "预期路径"), ("at_risk_margin", "风险容差"),
    ("owner_unit", "责任单位代码"), ("owner_name", "责任科室/人"), ("part_of", "所属目标代码"),
    ("contributes_to", "对应上级目标代码"), ("milestone_status", "里程碑状态"), ("order", "顺序"),
    ("assess_from", "起评季度"), ("direction", "改进方向"),
    ("start_month", "开始月份"), ("due_month", "完成月份"), ("completed_on", "完成日期"),
    ("each_unit_level", "逐个评估的单位层级"), ("rhythm", "频次周期"),
    ("range_is_ceiling", "超过上限视为未达标"),
]  # fmt: skip
YES, NO = "是", "否"


def _choices(choices: Any) -> dict[str, str]:
    """Accept a choice's code or its label in any of the portal's languages: the export writes the labels in the
    language of whoever downloaded it, and a colleague may upload it in the other one."""
    mapping = {str(value): str(value) for value in choices.values}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            mapping.update({str(label): str(value) for value, label in choices.choices})
    return mapping


def _label(choices: Any, value: str) -> str:
    return str(dict(choices.choices).get(value, value)) if value else ""


# --- Export ---


def export_plan(plan: Plan) -> bytes:
    """The plan's structure and targets as an .xlsx file (the import format)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(PLAN_SHEET)
    meta = {
        "code": plan.code, "title": plan.title, "year": plan.year, "owner_unit": plan.owner_unit.code,
        "parent": plan.parent.code if plan.parent_id else "", "status": _label(PlanStatus, plan.status),
        "guiding_ideas": plan.guiding_ideas,
    }  # fmt: skip
    sheet.append(safe_row(sheet, ["项目", "内容"]))
    for name, header in PLAN_FIELDS:
        sheet.append(safe_row(sheet, [header, meta[name]]))

    sheet = workbook.create_sheet(SECTION_SHEET)
    sheet.append(safe_row(sheet, [header for _n, header in SECTION_COLUMNS]))
    sections = list(plan.sections.order_by("order", "pk"))
    for section in sections:
        sheet.append(safe_row(sheet, [section.code, section.title, section.order, section.intro]))

    sheet = workbook.create_sheet(ITEM_SHEET)
    sheet.append(safe_row(sheet, [header for _n, header in ITEM_COLUMNS]))
    for item in (
        WorkItem.objects.filter(section__plan=plan).select_related("section").order_by("section__order", "number")
    ):
        sheet.append(safe_row(sheet, [item.section.code, item.number, item.title, item.text]))

    sheet = workbook.create_sheet(TARGET_SHEET)
    sheet.append(safe_row(sheet, [header for _n, header in TARGET_COLUMNS]))
    targets = Target.objects.filter(plan=plan).select_related(
        "section", "work_item", "indicator", "baseline_period", "scope", "due_period", "owner_unit", "part_of",
        "contributes_to", "assess_from",
    )  # fmt: skip
    for target in targets:
        row = [
            target.code, target.section.code, target.work_item.number if target.work_item_id else None,
            target.text, _label(TargetKind, target.kind), target.indicator.code if target.indicator_id else "",
            _label(Comparator, target.comparator), target.target_value, target.target_value_max,
            target.per_unit_minimum, target.baseline_value,
            target.baseline_period.code if target.baseline_period_id else "", target.scope.code,
            YES if target.applies_to_each_unit else NO, target.due_period.code if target.due_period_id else "",
            target.due_date, _label(PathMode, target.path_mode), target.at_risk_margin,
            target.owner_unit.code if target.owner_unit_id else "", target.owner_name,
            target.part_of.code if target.part_of_id else "",
            target.contributes_to.code if target.contributes_to_id else "",
            _label(MilestoneStatus, target.milestone_status), target.order,
            target.assess_from.code if target.assess_from_id else "", _label(Direction, target.direction),
            target.start_month, target.due_month, target.completed_on,
            _label(EachUnitLevel, target.each_unit_level), _label(Rhythm, target.rhythm),
            YES if target.range_is_ceiling else NO,
        ]  # fmt: skip
        sheet.append(safe_row(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Import ---


def check_upload(fileobj: IO[bytes]) -> None:
    """The same safe-upload checks as the figure workbooks (size, zip bombs, macros, DTDs)."""
    check_xlsx_upload(fileobj)


@dataclass
class Cell:
    sheet: str
    row: int
    column: int
    header: str
    value: Any


def _error(errors: ImportErrors, cell: Cell, message: str) -> None:
    """A problem of one cell, keyed "目标!H5", its message naming the sheet, row and column."""
    errors.add_cell(cell.sheet, cell.row, cell.column, cell.header, message)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(workbook: Any, sheet: str, columns: list[tuple[str, str]], errors: ImportErrors) -> list[dict[str, Cell]]:
    """Data rows of a sheet as {field: Cell}, columns found by their header (any order)."""
    if sheet not in workbook.sheetnames:
        errors.add_sheet(sheet, _("缺少工作表“%(sheet)s”。") % {"sheet": sheet})
        return []
    rows = workbook[sheet].iter_rows(values_only=True)
    header = [_text(v) for v in next(rows, ())]
    positions = {}
    for name, title in columns:
        if title in header:
            positions[name] = (header.index(title), title)
        elif name in ("code", "section", "number", "title", "text"):
            errors.add_sheet(sheet, _("“%(sheet)s”表缺少“%(col)s”列。") % {"sheet": sheet, "col": title})
    result = []
    for number, values in enumerate(rows, start=2):
        if not any(_text(v) for v in values):
            continue
        result.append(
            {
                name: Cell(sheet, number, index + 1, title, values[index] if index < len(values) else None)
                for name, (index, title) in positions.items()
            }
        )
    return result


@dataclass
class _Parsed:
    errors: ImportErrors

    def get(self, row: dict[str, Cell], name: str, parse: Callable[[Any], Any], required: bool = False) -> Any:
        cell = row.get(name)
        if cell is None or _text(cell.value) == "":
            if required and cell is not None:
                _error(self.errors, cell, _("不能为空。"))
            return None
        try:
            return parse(cell.value)
        except (ValueError, KeyError, InvalidOperation) as exc:
            _error(
                self.errors, cell, str(exc.args[0]) if exc.args and isinstance(exc.args[0], str) else _("格式不正确。")
            )
            return None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(_text(value))
    except InvalidOperation:
        raise ValueError(_("请填写数字。")) from None


def _integer(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value() or number < 0:
        raise ValueError(_("请填写非负整数。"))
    return int(number)


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(_text(value))
    except ValueError:
        raise ValueError(_("日期格式应为 2023-09-30。")) from None


def _choice(choices: Any, what: str) -> Callable[[Any], str]:
    mapping = _choices(choices)

    def parse(value: Any) -> str:
        text = _text(value)
        if text not in mapping:
            raise ValueError(_("无效的%(what)s“%(value)s”。") % {"what": what, "value": text})
        return mapping[text]

    return parse


def _lookup(mapping: dict[str, Any], what: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        text = _text(value)
        if text not in mapping:
            raise ValueError(_("找不到%(what)s“%(value)s”。") % {"what": what, "value": text})
        return mapping[text]

    return parse


def _boolean(value: Any) -> bool:
    text = _text(value).lower()
    if text in (YES, "true", "1", "y", "yes"):
        return True
    if text in (NO, "false", "0", "n", "no", ""):
        return False
    raise ValueError(_("请填写“是”或“否”。"))


def import_plan(user: AbstractBaseUser, fileobj: IO[bytes]) -> Plan:
    """Create or update a plan from a workbook; raises ImportErrors (nothing written) listing every bad cell."""
    check_upload(fileobj)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001  (openpyxl raises many types for a damaged file)
        raise ImportErrors([CellError("file", None, "", _("无法读取该工作簿。"))]) from None
    errors = ImportErrors()
    parsed = _Parsed(errors)

    # Plan sheet: header row, then one (label, value) row per field.
    meta: dict[str, Cell] = {}
    if PLAN_SHEET in workbook.sheetnames:
        labels = {title: name for name, title in PLAN_FIELDS}
        for number, values in enumerate(workbook[PLAN_SHEET].iter_rows(values_only=True), start=1):
            label = _text(values[0]) if values else ""
            if label in labels:
                meta[labels[label]] = Cell(PLAN_SHEET, number, 2, label, values[1] if len(values) > 1 else None)
    else:
        errors.add_sheet(PLAN_SHEET, _("缺少工作表“%(sheet)s”。") % {"sheet": PLAN_SHEET})
    section_rows = _rows(workbook, SECTION_SHEET, SECTION_COLUMNS, errors)
    item_rows = _rows(workbook, ITEM_SHEET, ITEM_COLUMNS, errors)
    target_rows = _rows(workbook, TARGET_SHEET, TARGET_COLUMNS, errors)
    workbook.close()
    errors.raise_if_any()

    # Natural keys resolved in bulk: one query per kind of reference, whatever the number of rows.
    def codes(rows: list[dict[str, Cell]], *names: str) -> set[str]:
        return {_text(row[n].value) for row in rows for n in names if n in row and _text(row[n].value)}

    unit_codes = codes(target_rows, "scope", "owner_unit") | (
        {_text(meta["owner_unit"].value)} if "owner_unit" in meta else set()
    )
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes)}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=codes(target_rows, "indicator"))}
    periods = {
        p.code: p
        for p in Period.objects.filter(code__in=codes(target_rows, "baseline_period", "due_period", "assess_from"))
    }

    code = parsed.get(meta, "code", _text, required=True) if "code" in meta else None
    if code is None and "code" not in meta:
        errors.add_sheet(PLAN_SHEET, _("“工作要点”表缺少“代码”。"))
    title = parsed.get(meta, "title", _text, required=True) if "title" in meta else None
    year = parsed.get(meta, "year", _integer, required=True) if "year" in meta else None
    owner = parsed.get(meta, "owner_unit", _lookup(units, _("单位")), required=True) if "owner_unit" in meta else None
    parent_code = parsed.get(meta, "parent", _text) if "parent" in meta else None
    parent = None
    if parent_code:
        parent = Plan.objects.filter(code=parent_code).first()
        if parent is None:
            _error(errors, meta["parent"], _("找不到上级计划“%(code)s”。") % {"code": parent_code})
    status = (
        parsed.get(meta, "status", _choice(PlanStatus, _("状态"))) if "status" in meta else None
    ) or PlanStatus.DRAFT
    guiding = parsed.get(meta, "guiding_ideas", _text) if "guiding_ideas" in meta else ""
    if owner is not None:
        scope.require(user, Perm.ADMIN, owner)
    parent_targets = {t.code: t for t in Target.objects.filter(plan=parent)} if parent else {}

    sections: dict[str, dict[str, Any]] = {}
    for row in section_rows:
        section_code = parsed.get(row, "code", _text, required=True)
        data = {
            "title": parsed.get(row, "title", _text, required=True),
            "order": parsed.get(row, "order", _integer) or 0,
            "intro": parsed.get(row, "intro", _text) or "",
        }
        if section_code in sections:
            _error(errors, row["code"], _("部分代码重复。"))
        elif section_code:
            sections[section_code] = data
    items: dict[tuple[str, int], dict[str, Any]] = {}
    for row in item_rows:
        section_code = parsed.get(row, "section", _text, required=True)
        number = parsed.get(row, "number", _integer, required=True)
        data = {"title": parsed.get(row, "title", _text, required=True), "text": parsed.get(row, "text", _text) or ""}
        if section_code and section_code not in sections:
            _error(errors, row["section"], _("“章节”表中没有部分“%(code)s”。") % {"code": section_code})
        elif (section_code, number) in items:
            _error(errors, row["number"], _("同一部分中序号重复。"))
        elif section_code and number is not None:
            items[(section_code, number)] = data
    errors.raise_if_any()

    # The audit trail says the plan, its sections and targets were changed by this user through an import.
    with audit.acting(AuditChannel.IMPORT, user), transaction.atomic():
        plan, _created = Plan.objects.update_or_create(
            code=code,
            defaults={
                "title": title,
                "year": year,
                "owner_unit": owner,
                "parent": parent,
                "status": status,
                "guiding_ideas": guiding or "",
            },  # fmt: skip
        )
        section_objs = {}
        for section_code, data in sections.items():
            section_objs[section_code], _c = Section.objects.update_or_create(plan=plan, code=section_code,
                                                                                defaults=data)  # fmt: skip
        item_objs = {}
        for (section_code, number), data in items.items():
            item_objs[(section_code, number)], _c = WorkItem.objects.update_or_create(
                section=section_objs[section_code], number=number, defaults=data
            )
        existing = {t.code: t for t in Target.objects.filter(plan=plan).select_related(
            "section", "work_item", "indicator", "scope", "part_of", "contributes_to", "plan__owner_unit"
        )}  # fmt: skip
        seen: set[str] = set()
        pending_parts: list[tuple[Target, dict[str, Cell], str]] = []
        for row in target_rows:
            _import_target(user, plan, row, parsed, section_objs, item_objs, units, indicators, periods,
                           parent_targets, existing, seen, pending_parts)  # fmt: skip
        # Sub-targets may come before their parent in the sheet: link them once all rows exist.
        for target, row, parent_code in pending_parts:
            whole = existing.get(parent_code)
            if whole is None or whole.pk == target.pk:
                _error(errors, row["part_of"], _("找不到所属目标“%(code)s”。") % {"code": parent_code})
            elif target.part_of_id != whole.pk:
                Target.objects.filter(pk=target.pk).update(part_of=whole)
                audit.record_bulk([(target, {"part_of": (target.part_of_id, whole)})])
        errors.raise_if_any()  # leaving the atomic block by an exception: nothing is kept
    return plan


def _import_target(
    user: AbstractBaseUser,
    plan: Plan,
    row: dict[str, Cell],
    parsed: _Parsed,
    sections: dict[str, Section],
    items: dict[tuple[str, int], WorkItem],
    units: dict[str, OrgUnit],
    indicators: dict[str, Indicator],
    periods: dict[str, Period],
    parent_targets: dict[str, Target],
    existing: dict[str, Target],
    seen: set[str],
    pending_parts: list[tuple[Target, dict[str, Cell], str]],
) -> None:
    errors = parsed.errors
    before = len(errors.cell_errors)
    code = parsed.get(row, "code", _text, required=True)
    if code in seen:
        _error(errors, row["code"], _("目标代码重复。"))
        return
    section = parsed.get(row, "section", _lookup(sections, _("部分")), required=True)
    number = parsed.get(row, "work_item", _integer)
    work_item = None
    if section is not None and number is not None:
        work_item = items.get((section.code, number))
        if work_item is None:
            _error(
                errors, row["work_item"], _("部分“%(s)s”中没有第 %(n)s 项工作任务。") % {"s": section.code, "n": number}
            )
    fields: dict[str, Any] = {
        "code": code,
        "section": section,
        "work_item": work_item,
        "text": parsed.get(row, "text", _text, required=True),
        "kind": parsed.get(row, "kind", _choice(TargetKind, _("类型")), required=True),
        "indicator": parsed.get(row, "indicator", _lookup(indicators, _("统计指标"))),
        "comparator": parsed.get(row, "comparator", _choice(Comparator, _("比较方式"))) or "",
        "target_value": parsed.get(row, "target_value", _decimal),
        "target_value_max": parsed.get(row, "target_value_max", _decimal),
        "per_unit_minimum": parsed.get(row, "per_unit_minimum", _decimal),
        "baseline_value": parsed.get(row, "baseline_value", _decimal),
        "baseline_period": parsed.get(row, "baseline_period", _lookup(periods, _("周期"))),
        "scope": parsed.get(row, "scope", _lookup(units, _("单位"))) or plan.owner_unit,
        "applies_to_each_unit": parsed.get(row, "applies_to_each_unit", _boolean) or False,
        "due_period": parsed.get(row, "due_period", _lookup(periods, _("周期"))),
        "due_date": parsed.get(row, "due_date", _date),
        "path_mode": parsed.get(row, "path_mode", _choice(PathMode, _("预期路径"))) or PathMode.LINEAR,
        "at_risk_margin": parsed.get(row, "at_risk_margin", _decimal) or Decimal("0.05"),
        "owner_unit": parsed.get(row, "owner_unit", _lookup(units, _("单位"))),
        "owner_name": parsed.get(row, "owner_name", _text) or "",
        "contributes_to": parsed.get(row, "contributes_to", _lookup(parent_targets, _("上级目标"))),
        "milestone_status": parsed.get(row, "milestone_status", _choice(MilestoneStatus, _("里程碑状态"))) or "",
        "order": parsed.get(row, "order", _integer) or 0,
    }
    if "assess_from" in row:  # a workbook exported before the column existed leaves the target's as it is
        fields["assess_from"] = parsed.get(row, "assess_from", _lookup(periods, _("周期")))
    if "direction" in row:  # as for assess_from: an older workbook leaves the target's as it is
        fields["direction"] = parsed.get(row, "direction", _choice(Direction, _("改进方向"))) or ""
    for name, parse in (("start_month", _integer), ("due_month", _integer), ("completed_on", _date)):
        if name in row:  # likewise for a milestone's months and completion date
            fields[name] = parsed.get(row, name, parse)
    # The per-unit rule's level and a frequency's rhythm (older workbooks have no such columns: left as they are).
    if "each_unit_level" in row:
        fields["each_unit_level"] = parsed.get(row, "each_unit_level", _choice(EachUnitLevel, _("单位层级"))) or ""
    if "rhythm" in row:
        fields["rhythm"] = parsed.get(row, "rhythm", _choice(Rhythm, _("频次周期"))) or Rhythm.SEMESTER
    if "range_is_ceiling" in row:
        fields["range_is_ceiling"] = parsed.get(row, "range_is_ceiling", _boolean) or False
    part_of = parsed.get(row, "part_of", _text)
    if len(errors.cell_errors) > before or not code:
        return
    seen.add(code)
    try:
        if code in existing:
            target = existing[code]
            target = targets_service.update_target(user, target, fields, version=target.version, reason=_("导入工作簿"))
        else:
            target = targets_service.create_target(user, plan, fields)
            existing[code] = target
    except ServiceError as exc:
        for name, messages in exc.errors.items():
            cell = row.get(name) or row["code"]
            for message in messages:
                _error(errors, cell, message)
        return
    if part_of:
        pending_parts.append((target, row, part_of))
