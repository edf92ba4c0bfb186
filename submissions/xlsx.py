"""Excel round-trip of quarterly figures: download a signed template, upload it filled in.

Template layout (sheet ``填报``):

- row 1: headers in Chinese — 单位代码, 单位名称, 状态, then one column per figure ("名称（单位）"),
  with the figure's code, range and help in a cell comment;
- row 2 (hidden): the codes (``unit``, ``name``, ``status``, figure codes) so a moved or inserted
  column is detected on upload;
- rows 3…: one row per unit, pre-filled with the stored values; cells of figures a unit does not
  report are greyed out; numeric data validation per column (integer/decimal, min/max);
- a ``veryHidden`` sheet ``_key`` holding a token signed with ``django.core.signing``
  (salt ``settings.SIGNING_SALT_TEMPLATES``) naming the period, the unit codes in row order, the
  figure codes in column order and each unit's submission version at download.

Who gets which rows: the template for a unit (a school, a 学区 or a district) lists the active
units of its subtree that report at least one figure and on which the user may submit (Perm.SUBMIT:
principals, bureau admins acting as district data clerks) or review (Perm.REVIEW: a reviewer gets a
read-only copy of current values; uploading still needs Perm.SUBMIT on every row).

Upload (``import_template``): ``upload_safety.check_xlsx_upload`` first (size, type, zip bomb, DTD,
macros), then openpyxl in read-only mode; the key must verify, name the expected period (and lie
inside the expected unit), and every unit must be in the uploader's Perm.SUBMIT scope. Rows whose
values differ from what is stored become ``workflow.Edit``s saved by ``workflow.save_batch`` in
one transaction — every row or none; its errors come back as cell references such as ``填报!D7``,
raised as ``portal.xlsx.ImportErrors`` (the error type of every importer).

Every text cell the template writes (unit names, staff-typed figure names) goes through
``portal.xlsx``: text that begins like a formula is a string cell, never a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from portal.upload_safety import UploadRejected, check_xlsx_upload
from portal.xlsx import CellError, ImportErrors, cell_ref, display_width, plain_number, safe_row, write_cell
from schools.models import OrgUnit
from submissions import workflow
from submissions.models import Channel, Figure, Period, Submission, SubmissionStatus, Value, ValueType
from submissions.validation import Issue, active_figures, figures_for_unit

if TYPE_CHECKING:
    from portal.scope import AnyUser

DATA_SHEET = "填报"
KEY_SHEET = "_key"
HELP_SHEET = "说明"
HEADER_ROW = 1
CODE_ROW = 2
FIRST_DATA_ROW = 3
FIXED_CODES = ("unit", "name", "status")
FIRST_FIGURE_COL = len(FIXED_CODES) + 1  # column D
MAX_TEMPLATE_ROWS = 5000
# Trailing empty rows Excel may keep after the data (formatting); more than this is refused outright.
SLACK_ROWS = 50
KEY_CHUNK = 30000  # an Excel cell holds at most 32,767 characters
MAX_KEY_CELLS = 64
KEY_VERSION = 1

GREY = PatternFill("solid", fgColor="DDDDDD")
HEADER_FILL = PatternFill("solid", fgColor="E8F0FE")
LOCKED_FILL = PatternFill("solid", fgColor="F3F3F3")


# --- The signed key ---


@dataclass
class TemplateKey:
    """What a template is for: the period, units (row order), figures (column order), versions read."""

    period: str
    units: list[str]
    figures: list[str]
    versions: list[int | None]

    def sign(self) -> str:
        payload = {"k": KEY_VERSION, "p": self.period, "u": self.units, "f": self.figures, "v": self.versions}
        return signing.dumps(payload, salt=settings.SIGNING_SALT_TEMPLATES, compress=True)

    @classmethod
    def unsign(cls, token: str) -> TemplateKey:
        try:
            payload = signing.loads(token, salt=settings.SIGNING_SALT_TEMPLATES)
        except signing.BadSignature:
            raise UploadRejected(_("模板校验码无效（模板被修改或不是本系统生成），请重新下载模板。")) from None
        try:
            key = cls(
                period=str(payload["p"]),
                units=[str(code) for code in payload["u"]],
                figures=[str(code) for code in payload["f"]],
                versions=[None if v is None else int(v) for v in payload["v"]],
            )
        except (KeyError, TypeError, ValueError):
            raise UploadRejected(_("模板版本过旧，请重新下载模板。")) from None
        if payload.get("k") != KEY_VERSION or len(key.versions) != len(key.units):
            raise UploadRejected(_("模板版本过旧，请重新下载模板。"))
        return key


# --- Download ---


def template_units(user: AnyUser, root: OrgUnit | None) -> list[OrgUnit]:
    """Active units under ``root`` (None: anywhere) the user may submit for or review, in tree order."""
    allowed = scope.scope_q(user, "", Perm.SUBMIT) | scope.scope_q(user, "", Perm.REVIEW)
    units = OrgUnit.objects.filter(is_active=True).filter(allowed)
    if root is not None:
        units = units.filter(path__startswith=root.path)
    return list(units.order_by("path"))


def common_path(units: Iterable[OrgUnit]) -> str:
    """Path of the nearest common ancestor: stored data is read by one subtree filter, not id lists."""
    units = list(units)
    common = units[0].path
    for unit in units[1:]:
        while not unit.path.startswith(common):
            common = common[: common.rstrip(".").rfind(".") + 1]
    return common


# A stored 不适用 in the template's values (written to the cell as 不适用); numbers stay Decimal.
NOT_APPLICABLE = "not_applicable"
StoredCell = Decimal | str | None


def not_applicable_texts() -> set[str]:
    """What a cell may say for 不适用: the word in Chinese, in the page's language, and N/A."""
    return {"不适用", str(_("不适用")).casefold(), "n/a", "na"}


def is_not_applicable_text(raw: object) -> bool:
    return isinstance(raw, str) and raw.strip().casefold() in not_applicable_texts()


@dataclass
class TemplateData:
    """The rows and columns of one template, read in a fixed number of queries."""

    period: Period
    units: list[OrgUnit]
    figures: list[Figure]
    reported: dict[int, set[str]]  # unit id -> figure codes it reports
    values: dict[int, dict[str, StoredCell]]  # unit id -> stored values (NOT_APPLICABLE for 不适用)
    submissions: dict[int, tuple[int, str]]  # unit id -> (version, status)


def _stored(period: Period, root_path: str) -> tuple[dict[int, dict[str, StoredCell]], dict[int, tuple[int, str]]]:
    """Stored values and submission versions under a subtree (two queries, filtered by path, not id lists)."""
    submissions = {
        unit_id: (version, status)
        for unit_id, version, status in Submission.objects.filter(
            period=period, org_unit__path__startswith=root_path
        ).values_list("org_unit_id", "version", "status")
    }
    values: dict[int, dict[str, StoredCell]] = {}
    rows = Value.objects.filter(
        submission__period=period, submission__org_unit__path__startswith=root_path
    ).values_list("submission__org_unit_id", "figure__code", "value", "not_applicable")
    for unit_id, code, value, is_na in rows:
        values.setdefault(unit_id, {})[code] = NOT_APPLICABLE if is_na else value
    return values, submissions


def template_data(user: AnyUser, period: Period, root: OrgUnit | None) -> TemplateData:
    """Rows (units reporting something) and columns (the union of their figures, in form order)."""
    pool = active_figures()
    units: list[OrgUnit] = []
    reported: dict[int, set[str]] = {}
    used: set[str] = set()
    for unit in template_units(user, root):
        codes = {figure.code for figure in figures_for_unit(unit, pool, period)}
        if codes:
            units.append(unit)
            reported[unit.pk] = codes
            used |= codes
    if not units:
        raise PermissionDenied(_("该范围内没有您可以填报或审核的单位。"))
    if len(units) > MAX_TEMPLATE_ROWS:
        raise ServiceError({"unit": [_("范围过大（%(n)d 个单位），请按区县或学区分别下载。") % {"n": len(units)}]})
    figures = [figure for figure in pool if figure.code in used]
    values, submissions = _stored(period, common_path(units))
    return TemplateData(period, units, figures, reported, values, submissions)


def _header(figure: Figure) -> str:
    text = f"{figure.name}（{figure.unit}）" if figure.unit else figure.name
    # Required is the default, so optional figures carry the mark: templates of required-only figures read as before.
    return text if figure.required else _("%(name)s（选填）") % {"name": text}


def _cell_value(figure: Figure, value: StoredCell) -> int | float | Decimal | str | None:
    if value is None:
        return None
    if isinstance(value, str):  # NOT_APPLICABLE
        return str(_("不适用"))
    if figure.value_type == ValueType.INTEGER and value == value.to_integral_value():
        return int(value)
    return Decimal(plain_number(value))  # 812.5000 → 812.5; never exponent notation such as 1E+3


def _validation(figure: Figure, column: str, first: int, last: int) -> DataValidation:
    kind = "whole" if figure.value_type == ValueType.INTEGER else "decimal"
    low, high = figure.min_value, figure.max_value
    if low is not None and high is not None:
        operator, formula1, formula2 = "between", plain_number(low), plain_number(high)
        rule = _("范围 %(low)s～%(high)s") % {"low": formula1, "high": formula2}
    elif low is not None:
        operator, formula1, formula2 = "greaterThanOrEqual", plain_number(low), None
        rule = _("不小于 %(low)s") % {"low": formula1}
    elif high is not None:
        operator, formula1, formula2 = "lessThanOrEqual", plain_number(high), None
        rule = _("不大于 %(high)s") % {"high": formula1}
    else:
        operator, formula1, formula2 = "between", "-999999999999999", "999999999999999"
        rule = ""
    kind_text = _("整数") if kind == "whole" else _("数字")
    validation = DataValidation(
        type=kind,
        operator=operator,
        formula1=formula1,
        formula2=formula2,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_("数值无效"),
        error=(_("请输入%(kind)s") % {"kind": kind_text}) + (f"，{rule}" if rule else ""),
        showInputMessage=bool(figure.help_text),
        promptTitle=figure.name[:32],
        prompt=(figure.help_text or "")[:250],
    )
    validation.add(f"{column}{first}:{column}{last}")
    return validation


def build_template(user: AnyUser, period: Period, root: OrgUnit | None) -> bytes:
    """The .xlsx template for ``root``'s subtree and ``period`` (PermissionDenied if nothing is in scope).

    ``root=None`` gives every unit the user may submit for or review (a principal of several schools).
    """
    data = template_data(user, period, root)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")

    fixed_headers = [_("单位代码"), _("单位名称"), _("状态")]
    headers = fixed_headers + [_header(figure) for figure in data.figures]
    sheet.append(safe_row(sheet, headers))
    sheet.append(safe_row(sheet, list(FIXED_CODES) + [figure.code for figure in data.figures]))
    for col, text in enumerate(headers, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=col)
        cell.font = bold
        cell.alignment = wrap
        cell.fill = HEADER_FILL
        # Header text wraps over up to three lines, so the column needs a third of its width (CJK = 2).
        base = 12 if col > len(fixed_headers) else 10
        sheet.column_dimensions[get_column_letter(col)].width = min(max(base, display_width(text) / 2.5 + 3), 30)
    name_width = max((display_width(unit.name) for unit in data.units), default=10)
    sheet.column_dimensions["B"].width = min(name_width + 2, 40)
    sheet.row_dimensions[HEADER_ROW].height = 48
    sheet.row_dimensions[CODE_ROW].hidden = True
    for offset, figure in enumerate(data.figures):
        lines = [
            _("代码：%(code)s") % {"code": figure.code},
            _("类型：%(type)s") % {"type": figure.get_value_type_display()},
        ]
        if figure.min_value is not None or figure.max_value is not None:
            lines.append(
                _("范围：%(low)s～%(high)s")
                % {"low": plain_number(figure.min_value), "high": plain_number(figure.max_value)}
            )
        if figure.help_text:
            lines.append(figure.help_text[:300])
        comment = Comment("\n".join(lines), "portal")
        comment.width, comment.height = 260, 140
        sheet.cell(row=HEADER_ROW, column=FIRST_FIGURE_COL + offset).comment = comment

    statuses = dict(SubmissionStatus.choices)
    versions: list[int | None] = []
    for row_offset, unit in enumerate(data.units):
        row = FIRST_DATA_ROW + row_offset
        version, status = data.submissions.get(unit.pk, (None, ""))
        versions.append(version)
        stored = data.values.get(unit.pk, {})
        editable = status in ("", SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)
        write_cell(sheet, row, 1, unit.code)
        write_cell(sheet, row, 2, unit.name)
        write_cell(sheet, row, 3, str(statuses.get(status, _("未填报"))))
        for offset, figure in enumerate(data.figures):
            cell = sheet.cell(row=row, column=FIRST_FIGURE_COL + offset)
            if figure.code not in data.reported[unit.pk]:
                cell.fill = GREY
                continue
            cell.value = _cell_value(figure, stored.get(figure.code))
            cell.number_format = "0" if figure.value_type == ValueType.INTEGER else "General"
            if not editable:
                cell.fill = LOCKED_FILL

    last = FIRST_DATA_ROW + len(data.units) - 1
    for offset, figure in enumerate(data.figures):
        if figure.allows_not_applicable:
            continue  # Excel's number check would refuse the text 不适用; the upload checks these cells
        sheet.add_data_validation(
            _validation(figure, get_column_letter(FIRST_FIGURE_COL + offset), FIRST_DATA_ROW, last)
        )
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=FIRST_FIGURE_COL)

    help_sheet = workbook.create_sheet(HELP_SHEET)
    help_sheet.column_dimensions["A"].width = 100
    for line in (
        _("填报周期：%(period)s") % {"period": period.code},
        _("填报范围：%(unit)s（%(n)d 个单位）")
        % {"unit": root.name if root else _("您有权限的全部单位"), "n": len(data.units)},
        _("请在“填报”工作表中填写数值：只能填数字，不能使用公式；灰色单元格表示该单位不填报此项。"),
        _("不要增删行或列、不要修改单位代码；整行不修改的单位不会被更新。清空单元格表示清除该数值。"),
        _("标有“（选填）”的项目可以不填；允许“不适用”的项目可填写“不适用”（或 N/A），不计入任何合计。"),
        _("状态为“已提交”或“已审核”的单位不能再修改，其数值仅供参考。"),
        _("填好后在平台“Excel 导入”页面上传本文件：全部行校验通过才会保存，任何一个单元格有误都不会保存任何数据。"),
    ):
        help_sheet.append(safe_row(help_sheet, [line]))

    key_sheet = workbook.create_sheet(KEY_SHEET)
    key_sheet.sheet_state = "veryHidden"
    token = TemplateKey(period.code, [u.code for u in data.units], [f.code for f in data.figures], versions).sign()
    for index in range(0, len(token), KEY_CHUNK):
        key_sheet.append(safe_row(key_sheet, [token[index : index + KEY_CHUNK]]))

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Upload ---


@dataclass
class ImportResult:
    """What an accepted upload changed, plus the warnings the reviewer will see."""

    period: Period
    rows: int
    saved: list[workflow.SaveResult] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[CellError] = field(default_factory=list)

    @property
    def values_changed(self) -> int:
        return sum(len(result.changed) for result in self.saved)


def _ref(row: int, col: int) -> str:
    return cell_ref(DATA_SHEET, row, col)


def _file_error(message: str) -> ImportErrors:
    return ImportErrors([CellError("file", None, "", message)])


def _read_key(workbook: Any) -> TemplateKey:
    if KEY_SHEET not in workbook.sheetnames or DATA_SHEET not in workbook.sheetnames:
        raise UploadRejected(_("这不是本系统下载的填报模板（缺少校验信息），请先下载模板再填写。"))
    parts = []
    for (value,) in workbook[KEY_SHEET].iter_rows(min_row=1, max_row=MAX_KEY_CELLS, max_col=1, values_only=True):
        if value is None:
            break
        parts.append(str(value))
    return TemplateKey.unsign("".join(parts))


def _same(raw: object, stored: StoredCell) -> bool:
    """Is a cell's raw content the stored value? (Only to skip untouched rows; save_batch validates.)"""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return stored is None
    if is_not_applicable_text(raw) or isinstance(stored, str):
        return is_not_applicable_text(raw) and stored == NOT_APPLICABLE
    if stored is None or isinstance(raw, bool):
        return False
    try:
        text = raw.strip().replace(",", "") if isinstance(raw, str) else str(raw)
        return Decimal(text) == stored
    except (InvalidOperation, ValueError):
        return False


def _check_scope(
    user: AnyUser, key: TemplateKey, period: Period | None, unit: OrgUnit | None
) -> tuple[Period, dict[str, OrgUnit]]:
    if period is not None and key.period != period.code:
        raise _file_error(
            _("该模板属于 %(key)s 周期，不能作为 %(period)s 的数据上传，请下载 %(period)s 的模板。")
            % {"key": key.period, "period": period.code}
        )
    if period is None:
        period = Period.objects.filter(code=key.period).first()
        if period is None:
            raise _file_error(_("模板所属的周期 %(period)s 已不存在。") % {"period": key.period})
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=key.units)}
    missing = [code for code in key.units if code not in units]
    if missing:
        raise _file_error(_("模板中的单位已不存在：%(codes)s，请重新下载模板。") % {"codes": "、".join(missing[:10])})
    if unit is not None:
        outside = [u for u in units.values() if not u.path.startswith(unit.path)]
        if outside:
            raise _file_error(
                _("该模板包含不属于 %(unit)s 的单位（%(names)s），不能在此上传。")
                % {"unit": unit.name, "names": "、".join(u.name for u in outside[:5])}
            )
    denied = [units[code] for code in key.units if not scope.has_perm(user, Perm.SUBMIT, units[code])]
    if denied:
        raise ImportErrors(
            [
                CellError(
                    "file",
                    None,
                    "",
                    _("您没有以下单位的填报权限，不能上传该模板：%(names)s")
                    % {"names": "、".join(u.name for u in denied[:10]) + ("…" if len(denied) > 10 else "")},
                )
            ],
            status_code=403,
        )
    return period, units


def _read_rows(
    sheet: Any, key: TemplateKey, figures: list[Figure]
) -> tuple[list[tuple[int, list[object]]], list[CellError]]:
    """Stream the data sheet: (row number, raw figure cells) per unit row, and located cell errors.

    Refuses (raises) a changed header, a unit code that does not match its row and rows beyond
    the signed units; collects formula and non-number cells.
    """
    width = len(FIXED_CODES) + len(figures)
    expected_codes = list(FIXED_CODES) + [figure.code for figure in figures]
    rows: list[tuple[int, list[object]]] = []
    errors: list[CellError] = []
    headers = [_header(figure) for figure in figures]
    last_unit_row = FIRST_DATA_ROW + len(key.units) - 1
    for row_number, cells in enumerate(
        sheet.iter_rows(min_row=1, max_row=last_unit_row + SLACK_ROWS + 1, max_col=width), start=1
    ):
        if row_number == HEADER_ROW:
            continue
        values = [getattr(cell, "value", None) for cell in cells]
        values += [None] * (width - len(values))
        if row_number == CODE_ROW:
            if [str(v) if v is not None else "" for v in values] != expected_codes:
                raise _file_error(_("模板表头（第 2 行隐藏的代码）被修改：请勿插入、删除或移动列，请重新下载模板。"))
            continue
        if row_number > last_unit_row:
            if any(v is not None and str(v).strip() for v in values):
                raise _file_error(
                    _("第 %(row)d 行超出模板范围：模板只有 %(n)d 个单位，请勿增加行。")
                    % {"row": row_number, "n": len(key.units)}
                )
            if row_number > last_unit_row + SLACK_ROWS:
                raise _file_error(_("工作表行数超过模板中的单位数（%(n)d），已拒绝。") % {"n": len(key.units)})
            continue
        code = key.units[row_number - FIRST_DATA_ROW]
        if str(values[0] or "").strip() != code:
            raise _file_error(
                _("%(ref)s 的单位代码应为 %(code)s：请勿增删行、调整行顺序或修改单位代码。")
                % {"ref": _ref(row_number, 1), "code": code}
            )
        raw: list[object] = []
        for offset, cell in enumerate(cells[len(FIXED_CODES) :]):
            if getattr(cell, "data_type", None) == "f":
                errors.append(
                    CellError(
                        _ref(row_number, FIRST_FIGURE_COL + offset),
                        row_number,
                        headers[offset],
                        _("不能使用公式，请填写数值"),
                    )
                )
                raw.append(None)
            else:
                raw.append(cell.value if hasattr(cell, "value") else None)
        raw += [None] * (len(figures) - len(raw))
        rows.append((row_number, raw))
    if len(rows) != len(key.units):
        raise _file_error(_("工作表缺少单位行：模板有 %(n)d 个单位，请勿删除行。") % {"n": len(key.units)})
    return rows, errors


def import_template(
    fileobj: IO[bytes],
    *,
    user: AnyUser,
    period: Period | None = None,
    unit: OrgUnit | None = None,
    channel: str = Channel.EXCEL,
) -> ImportResult:
    """Validate and store a filled-in template: every changed row is saved, or nothing is.

    ``period``/``unit`` are what the uploader expects (the period chosen on the page, the unit the
    page was opened for); the signed key must match them. Raises UploadRejected (unsafe file),
    ImportErrors (located problems; status 403 when a unit is outside the uploader's scope).
    """
    check_xlsx_upload(fileobj)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=False, keep_links=False)
        try:
            key = _read_key(workbook)
            period, units = _check_scope(user, key, period, unit)
            by_code = {figure.code: figure for figure in Figure.objects.filter(code__in=key.figures)}
            if len(by_code) != len(key.figures):
                raise _file_error(_("模板中的填报项已变更，请重新下载模板。"))
            figures = [by_code[code] for code in key.figures]
            rows, errors = _read_rows(workbook[DATA_SHEET], key, figures)
        finally:
            workbook.close()
    except (ServiceError, DatabaseError):
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types (KeyError, ValueError, ParseError…)
        if _caused_by(exc, DefusedXmlException):
            # Defence in depth: the byte scan should have refused any DTD before openpyxl saw it.
            raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。")) from None
        raise UploadRejected(_("文件无法作为 Excel 工作簿解析，请使用下载的模板。")) from None

    headers = [_header(figure) for figure in figures]
    stored_values, current = _stored_for(period, units.values())
    edits: list[workflow.Edit] = []
    stale: list[CellError] = []
    unchanged = 0
    for (row_number, raw), code, version in zip(rows, key.units, key.versions, strict=True):
        org_unit = units[code]
        stored = stored_values.get(org_unit.pk, {})
        changes: dict[str, object] = {}
        for offset, figure in enumerate(figures):
            value = raw[offset]
            if not _same(value, stored.get(figure.code)):
                changes[figure.code] = value
        if not changes:
            unchanged += 1
            continue
        if version is None and org_unit.pk in current:
            # No submission when the template was downloaded, one now: values saved since then
            # must not be overwritten silently. An empty draft (opened, nothing saved) is fine;
            # save_batch then checks its version under the row lock, in case that changes too.
            if stored:
                stale.append(CellError(_ref(row_number, 1), row_number, "", _("数据已被他人修改，请刷新后重试。")))
                continue
            version = current[org_unit.pk][0]
        # Send the whole row, so the saved submission is exactly what the sheet shows.
        values = {
            figure.code: raw[i]
            for i, figure in enumerate(figures)
            if (raw[i] is not None or figure.code in stored) and not is_not_applicable_text(raw[i])
        }
        # 不适用 cells go to the service as such: it refuses them (cell-addressed) for figures without 不适用.
        na = [figure.code for i, figure in enumerate(figures) if is_not_applicable_text(raw[i])]
        edits.append(workflow.Edit(org_unit, values, version=version, ref=row_number, not_applicable=na))

    column_of = {figure.code: FIRST_FIGURE_COL + i for i, figure in enumerate(figures)}
    header_of = {figure.code: headers[i] for i, figure in enumerate(figures)}
    if errors:
        raise ImportErrors(errors)
    if stale:
        raise ImportErrors(stale, status_code=409)
    result = ImportResult(period=period, rows=len(rows), unchanged=unchanged)
    if not edits:
        return result
    try:
        # save_batch is one transaction: every edit is stored or none is.
        result.saved = workflow.save_batch(user, period, edits, channel=channel, strict=True)
    except workflow.BatchError as exc:
        located = [_locate(item.ref, item.field, item.message, column_of, header_of) for item in exc.items]
        raise ImportErrors(located, status_code=exc.status_code) from None
    for edit, saved in zip(edits, result.saved, strict=True):
        saved.submission.org_unit = edit.org_unit  # already loaded: the result page shows its name
        for issue in saved.issues:
            result.warnings.append(_locate_issue(edit.ref, issue, column_of, header_of))
    return result


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    """Is ``kind`` anywhere in the chain? (openpyxl wraps parser errors in ValueError.)"""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _stored_for(
    period: Period, units: Iterable[OrgUnit]
) -> tuple[dict[int, dict[str, StoredCell]], dict[int, tuple[int, str]]]:
    """Stored values of the template's units: by subtree of their common ancestor (no huge id lists)."""
    units = list(units)
    values, submissions = _stored(period, common_path(units))
    wanted = {unit.pk for unit in units}
    return (
        {k: v for k, v in values.items() if k in wanted},
        {k: v for k, v in submissions.items() if k in wanted},
    )


def _locate(
    ref: object, field_name: str, message: str, column_of: dict[str, int], header_of: dict[str, str]
) -> CellError:
    if not isinstance(ref, int):
        return CellError("file", None, "", message)
    if field_name in column_of:
        return CellError(_ref(ref, column_of[field_name]), ref, header_of[field_name], message)
    return CellError(_ref(ref, 1), ref, "", message)


def _locate_issue(ref: object, issue: Issue, column_of: dict[str, int], header_of: dict[str, str]) -> CellError:
    return _locate(ref, issue.field, issue.message, column_of, header_of)
