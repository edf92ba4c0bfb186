"""Designation kinds and grants: the one place their rules live (pages, API and the Excel import call it).

- A kind (标准化幼儿园, 优质园 …) is tree-wide data: only a bureau-wide administrator creates or edits one.
- A grant or revocation needs ``Perm.ADMIN`` on the unit (``portal.scope``); its level must be one the kind
  is awarded at (``DesignationKind.levels``, empty: any); revocation needs a date not before the grant.
- The bulk import is all-or-nothing: every problem is reported by cell (``portal.xlsx.ImportErrors``) and
  nothing is stored while one remains. The file passes ``portal.upload_safety`` first; formula cells are
  refused (a value, not a formula, is what was awarded).

Saving a designation sends Django's model signals: ``indicators/receivers.py`` records a recompute of the
designation counts for the unit (also for each row of the import).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from portal.upload_safety import check_evidence, check_xlsx_upload
from portal.xlsx import ImportErrors, table_workbook
from schools.models import Designation, DesignationKind, DesignationLevel, OrgUnit

IMPORT_SHEET = "认定"
IMPORT_HEADERS = ("单位代码", "认定类别代码", "级别", "认定日期", "备注")
MAX_IMPORT_ROWS = 5000


def _validation_errors(error: ValidationError) -> ServiceError:
    if hasattr(error, "error_dict"):
        return ServiceError({key: [str(m) for m in messages] for key, messages in error.message_dict.items()})
    return ServiceError({"non_field_errors": [str(m) for m in error.messages]})


def require_kind_admin(user: Any) -> None:
    """Kinds are shared by the whole tree: a superuser or an administrator of a top-level unit."""
    if not scope.is_bureau_wide_admin(user):
        raise PermissionDenied


def _check_levels(levels: Iterable[str]) -> list[str]:
    levels = list(levels)
    unknown = [str(level) for level in levels if level not in DesignationLevel.values]
    if unknown:
        raise ServiceError({"levels": [_("未知的认定级别：{codes}").format(codes="、".join(unknown))]})
    return [level for level in DesignationLevel.values if level in levels]  # stored in the choices' order


def save_kind(
    user: Any,
    *,
    code: str,
    name: str,
    name_en: str = "",
    levels: Iterable[str] = (),
    instance: DesignationKind | None = None,
) -> DesignationKind:
    """Create a kind, or update ``instance`` (its code included). A taken code is a readable error."""
    require_kind_admin(user)
    kind = instance or DesignationKind()
    kind.code, kind.name, kind.name_en = code.strip(), name.strip(), name_en.strip()
    kind.levels = _check_levels(levels)
    try:
        kind.full_clean()
    except ValidationError as error:
        if (
            "code" in getattr(error, "error_dict", {})
            and DesignationKind.objects.filter(code=kind.code).exclude(pk=kind.pk).exists()
        ):
            raise ServiceError({"code": [_("认定类别代码“{code}”已存在。").format(code=kind.code)]}) from None
        raise _validation_errors(error) from None
    with transaction.atomic():
        kind.save()
    return kind


def _check_grant(kind: DesignationKind, level: str) -> None:
    if level and level not in DesignationLevel.values:
        raise ServiceError({"level": [_("未知的认定级别：{codes}").format(codes=level)]})
    if kind.levels and level not in kind.levels:
        allowed = "、".join(str(DesignationLevel(code).label) for code in kind.levels)
        raise ServiceError(
            {"level": [_("“{kind}”的认定级别只能是：{levels}。").format(kind=kind.name, levels=allowed)]}
        )


def grant(
    user: Any,
    *,
    unit: OrgUnit,
    kind: DesignationKind,
    granted_on: datetime.date,
    level: str = "",
    note: str = "",
    evidence: UploadedFile | None = None,
) -> Designation:
    """Record that ``unit`` was awarded ``kind`` (at ``level``) on ``granted_on``."""
    scope.require(user, Perm.ADMIN, unit)
    _check_grant(kind, level)
    designation = Designation(org_unit=unit, kind=kind, level=level, granted_on=granted_on, note=note.strip())
    if evidence is not None:
        check_evidence(evidence)
        designation.evidence = evidence
    _clean(designation)
    try:
        with transaction.atomic():
            designation.save()
    except IntegrityError:
        raise ServiceError({"granted_on": [_("该单位在同一日期已有同类认定")]}) from None
    return designation


def _clean(designation: Designation) -> None:
    try:
        designation.full_clean(exclude=["evidence", "revoke_evidence"])
    except ValidationError as error:
        messages = getattr(error, "message_dict", {})
        if "__all__" in messages:
            raise ServiceError({"non_field_errors": messages["__all__"]}) from None
        raise _validation_errors(error) from None


def revoke(
    user: Any,
    designation: Designation,
    *,
    revoked_on: datetime.date,
    note: str = "",
    evidence: UploadedFile | None = None,
) -> Designation:
    """Record that the designation was withdrawn on ``revoked_on`` (it no longer counts after that day)."""
    scope.require(user, Perm.ADMIN, designation.org_unit)
    if designation.revoked_on is not None:
        raise ServiceError({"revoked_on": [_("该认定已于 {date} 撤销。").format(date=designation.revoked_on)]})
    if revoked_on < designation.granted_on:
        raise ServiceError({"revoked_on": [_("撤销日期不能早于认定日期。")]})
    designation.revoked_on = revoked_on
    designation.revoke_note = note.strip()
    if evidence is not None:
        check_evidence(evidence)
        designation.revoke_evidence = evidence
    _clean(designation)
    with transaction.atomic():
        designation.save()
    return designation


# --- Bulk import of awarded schools ---


def import_template() -> bytes:
    """An empty workbook with the import's headers and one example row."""
    return table_workbook([IMPORT_HEADERS, ("S001", "quality-kg", "province", "2025-06-30", "")], title=IMPORT_SHEET)


@dataclass(frozen=True)
class ImportResult:
    created: list[Designation]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    try:
        return datetime.date.fromisoformat(text.replace("/", "-").replace(".", "-"))
    except ValueError:
        return None


def _level(text: str) -> str | None:
    """A level by code ("province") or label ("省级", "省")."""
    if text == "":
        return ""
    for code, label in DesignationLevel.choices:
        if text in (code, str(label), str(label).removesuffix("级")):
            return code
    return None


@dataclass
class _Sheet:
    """Where the import's columns are: the sheet's name and each header's column number (1-based)."""

    name: str = IMPORT_SHEET
    columns: dict[str, int] = field(default_factory=dict)

    def column(self, header: str) -> int:
        return self.columns.get(header, IMPORT_HEADERS.index(header) + 1)


Row = tuple[int, str, str, str, datetime.date | None, str]


def import_grants(user: Any, fileobj: IO[bytes]) -> ImportResult:
    """Grant every row of the workbook, or nothing: raises ImportErrors listing each bad cell."""
    scope.require(user, Perm.ADMIN)
    check_xlsx_upload(fileobj)
    errors = ImportErrors()
    sheet = _Sheet()
    workbook = load_workbook(fileobj, read_only=True, data_only=False, keep_links=False)
    try:
        rows = _read_rows(workbook, sheet, errors)
    finally:
        workbook.close()
    if not rows:
        if not errors.cell_errors:
            errors.add_file(_("文件中没有认定数据。"))
        errors.raise_if_any()

    def bad(row: int, header: str, message: str) -> None:
        errors.add_cell(sheet.name, row, sheet.column(header), header, message)

    unit_h, kind_h, level_h, date_h = IMPORT_HEADERS[:4]
    # Resolve every code in two queries; a unit outside the caller's scope reads as unknown (never confirmed).
    units = {u.code: u for u in scope.visible_units(user, Perm.ADMIN).filter(code__in={r[1] for r in rows})}
    kinds = {k.code: k for k in DesignationKind.objects.filter(code__in={r[2] for r in rows})}
    existing = set(
        Designation.objects.filter(org_unit__in=units.values(), kind__in=kinds.values()).values_list(
            "org_unit__code", "kind__code", "granted_on"
        )
    )
    seen: dict[tuple[str, str, datetime.date], int] = {}
    pending: list[Designation] = []
    for row, unit_code, kind_code, level, granted_on, note in rows:
        unit, kind = units.get(unit_code), kinds.get(kind_code)
        if unit is None:
            bad(row, unit_h, _("单位代码 {value} 不存在或不在您的权限范围内。").format(value=unit_code))
        if kind is None:
            bad(row, kind_h, _("认定类别代码 {value} 不存在。").format(value=kind_code))
        if kind is not None and kind.levels and level not in kind.levels:
            allowed = "、".join(str(DesignationLevel(code).label) for code in kind.levels)
            bad(row, level_h, _("“{kind}”的认定级别只能是：{levels}。").format(kind=kind.name, levels=allowed))
        if granted_on is None:
            continue  # reported by the reader
        key = (unit_code, kind_code, granted_on)
        if key in existing:
            bad(row, date_h, _("该单位在同一日期已有同类认定"))
        elif key in seen:
            bad(row, date_h, _("与第 {row} 行重复。").format(row=seen[key]))
        seen.setdefault(key, row)
        if unit is not None and kind is not None:
            pending.append(Designation(org_unit=unit, kind=kind, level=level, granted_on=granted_on, note=note))
    errors.raise_if_any()
    try:
        with transaction.atomic():
            # One save per row (not bulk_create): the model signals record each unit's recompute and audit row.
            for designation in pending:
                designation.save()
    except IntegrityError:  # the same grant stored meanwhile by someone else: nothing of this file is kept
        errors.add_file(_("该单位在同一日期已有同类认定"))
        raise errors from None
    return ImportResult(created=pending)


def _read_rows(workbook: Workbook, sheet_info: _Sheet, errors: ImportErrors) -> list[Row]:
    sheet = workbook[IMPORT_SHEET] if IMPORT_SHEET in workbook.sheetnames else workbook.worksheets[0]
    sheet_info.name = name = sheet.title
    found: list[Row] = []
    index: dict[str, int] = {}
    for row_number, cells in enumerate(sheet.iter_rows(values_only=False), start=1):
        if not index:
            titles = [_text(cell.value) for cell in cells]
            missing = [h for h in IMPORT_HEADERS[:4] if h not in titles]
            if missing:
                errors.add_sheet(name, _("缺少列：{columns}").format(columns="、".join(missing)))
                return []
            index = {h: titles.index(h) for h in IMPORT_HEADERS if h in titles}
            sheet_info.columns = {h: i + 1 for h, i in index.items()}
            continue
        picked = {h: cells[i] if i < len(cells) else None for h, i in index.items()}
        values = {h: (cell.value if cell is not None else None) for h, cell in picked.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        if len(found) >= MAX_IMPORT_ROWS:
            errors.add_file(_("一次最多导入 {n} 行。").format(n=MAX_IMPORT_ROWS))
            return []
        formulas = [h for h, cell in picked.items() if cell is not None and getattr(cell, "data_type", "") == "f"]
        for header in formulas:
            errors.add_cell(name, row_number, index[header] + 1, header, _("不能使用公式，请填写数值或文字。"))
        if formulas:
            continue
        unit_code, kind_code = _text(values[IMPORT_HEADERS[0]]), _text(values[IMPORT_HEADERS[1]])
        level = _level(_text(values[IMPORT_HEADERS[2]]))
        granted_on = _date(values[IMPORT_HEADERS[3]])
        note = _text(values.get(IMPORT_HEADERS[4]))[:500]
        for header, empty in ((IMPORT_HEADERS[0], not unit_code), (IMPORT_HEADERS[1], not kind_code)):
            if empty:
                errors.add_cell(name, row_number, index[header] + 1, header, _("必填。"))
        if level is None:
            header = IMPORT_HEADERS[2]
            errors.add_cell(name, row_number, index[header] + 1, header, _("级别应为国家级、省级、市级或县级。"))
        if granted_on is None:
            header = IMPORT_HEADERS[3]
            errors.add_cell(name, row_number, index[header] + 1, header, _("认定日期应为日期，如 2025-06-30。"))
        if unit_code and kind_code and level is not None:  # a bad date: reported, the codes still checked
            found.append((row_number, unit_code, kind_code, level, granted_on, note))
    return found
