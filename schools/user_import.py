"""The users workbook: a template to download, and an all-or-nothing import of users and their memberships.

One sheet, one row per membership (a user with two roles has two rows; a row without unit and role is the user
alone): 用户名, 姓名, 电子邮箱, 在用, 单位代码, 角色. A new username creates the user (without a password: an
administrator sets it on the user's page); an existing one the importer manages is updated with the non-empty
fields given. A membership that exists already is left as it is, so importing the same file twice changes nothing.

Every row is checked first, every problem located by cell (``portal.xlsx.ImportErrors``); only a clean file is
written, in one transaction, through ``schools/users_service.py`` (the same scope and role rules as the pages and
the API) inside ``audit.acting("import")``. The upload is checked by ``portal/upload_safety.py`` (size, zip bombs,
DTDs, macros) before openpyxl reads it; formula cells are refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any

from defusedxml import DefusedXmlException
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from portal import audit, scope
from portal.errors import ServiceError
from portal.scope import Perm
from portal.upload_safety import UploadRejected, check_xlsx_upload
from portal.xlsx import HEADER_FILL, HEADER_FONT, ImportErrors, fit_width, write_cell
from schools import users_service as service
from schools.models import Membership, OrgUnit, Role

MAX_ROWS = 5000


def sheet_name() -> str:
    return _("用户")


def headers() -> list[str]:
    return [_("用户名"), _("姓名"), _("电子邮箱"), _("在用"), _("单位代码"), _("角色")]


USERNAME, NAME, EMAIL, ACTIVE, UNIT, ROLE = range(6)


def _in_every_language(text: str) -> set[str]:
    """``text`` (a msgid) as every language of the portal writes it, lower-cased."""
    found = {text.lower(), _(text).lower()}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            found.add(_(text).lower())
    return found


def _yes() -> set[str]:
    return {"y", "yes", "true", "1"} | _in_every_language("是")


def _no() -> set[str]:
    return {"n", "no", "false", "0"} | _in_every_language("否")


def _role_lookup() -> dict[str, str]:
    """Role by code and by its label in every language of the portal (case-insensitive keys)."""
    lookup: dict[str, str] = {}
    for code, _label in [(None, None), *settings.LANGUAGES]:
        with translation.override(code):
            for value, label in Role.choices:
                lookup[value] = value
                lookup[str(label).lower()] = value
    return lookup


def template(actor: Any) -> bytes:
    """The workbook to fill in: the header, the users the actor manages with their memberships (so the file can
    be edited and uploaded again), and a sheet explaining the columns and the roles."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet_name()
    head = headers()
    for column, text in enumerate(head, start=1):
        cell = write_cell(ws, 1, column, text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    rows: list[list[Any]] = []
    users = list(service.manageable_users(actor).order_by("username")[:MAX_ROWS])
    in_scope = scope.filter_by_scope(actor, Membership.objects.all(), "org_unit", Perm.ADMIN)
    memberships: dict[int, list[Membership]] = {}
    for membership in (
        in_scope.filter(user__in=[user.pk for user in users])
        .select_related("org_unit")
        .order_by("org_unit__path", "role")
    ):
        memberships.setdefault(membership.user_id, []).append(membership)
    for user in users:
        base = [user.username, service.display_name(user) if user.first_name or user.last_name else "", user.email]
        active = _("是") if user.is_active else _("否")
        held: list[Membership | None] = list(memberships.get(user.pk, [])) or [None]
        for one in held:
            unit = one.org_unit.code if one else ""
            role = one.get_role_display() if one else ""
            rows.append([*base, active, unit, role])
    for row_index, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            write_cell(ws, row_index, column, value)
    for index, letter in enumerate("ABCDEF"):
        ws.column_dimensions[letter].width = fit_width([head[index], *(row[index] for row in rows[:200])], 10, 40)
    ws.freeze_panes = "A2"
    notes = workbook.create_sheet(_("说明"))
    lines = [
        _("每行一个成员角色；同一用户有多个角色时写多行，用户信息以第一行为准。"),
        _("新用户名将创建新用户（无密码，请在用户页面设置密码）；已有用户按填写的非空字段更新。"),
        _("“在用”填“是”或“否”，留空为“是”。停用用户不会删除其历史记录。"),
        _("单位代码和角色须同时填写，且单位须在您的管理范围内；不能授予高于您自己的角色。"),
        _("已存在的成员角色保持不变；导入要么全部成功，要么不写入任何数据。"),
        _("可用角色："),
        *(f"{label} ({value})" for value, label in Role.choices),
    ]
    for row_index, line in enumerate(lines, start=1):
        write_cell(notes, row_index, 1, str(line))
    notes.column_dimensions["A"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class _UserRow:
    row: int
    username: str
    name: str | None
    email: str | None
    is_active: bool | None
    existing: Any = None
    memberships: list[tuple[int, OrgUnit, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    users_created: int
    users_updated: int
    memberships_added: int
    memberships_unchanged: int


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read(fileobj: IO[bytes], errors: ImportErrors) -> tuple[str, list[tuple[int, list[Any]]]]:
    """The data rows (row number, six values) of a checked upload; formula cells are added to ``errors`` (and
    read as empty), a file or sheet that cannot be read raises at once."""
    check_xlsx_upload(fileobj)
    rows: list[tuple[int, list[Any]]] = []
    name = sheet_name()
    names, heads = {name}, [headers()]
    for code, _label in settings.LANGUAGES:  # a template downloaded in any language is accepted in every one
        with translation.override(code):
            names.add(sheet_name())
            heads.append(headers())
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=False, keep_links=False)
        try:
            found_name = next((sheet for sheet in workbook.sheetnames if sheet in names), None)
            if found_name is None:
                errors.add_file(_("工作簿中没有“%(sheet)s”表，请使用下载的模板。") % {"sheet": name})
                raise errors
            ws = workbook[found_name]
            name = found_name
            head = headers()
            for row_number, row in enumerate(ws.iter_rows(), start=1):
                cells = list(row)[: len(head)]
                if row_number == 1:
                    found = [_text(getattr(cell, "value", None)) for cell in cells]
                    if found != head and found not in heads:
                        errors.add_sheet(name, _("表头应为：%(head)s") % {"head": "、".join(head)})
                        errors.raise_if_any()
                    continue
                values: list[Any] = []
                for column, cell in enumerate(cells, start=1):
                    if getattr(cell, "data_type", None) == "f":
                        errors.add_cell(name, row_number, column, head[column - 1], _("不能使用公式，请填写值。"))
                        values.append(None)
                    else:
                        values.append(getattr(cell, "value", None))
                values += [None] * (len(head) - len(values))
                if all(_text(value) == "" for value in values):
                    continue
                rows.append((row_number, values))
                if len(rows) > MAX_ROWS:
                    errors.add_file(_("一次最多导入 %(max)s 行。") % {"max": MAX_ROWS})
                    errors.raise_if_any()
        finally:
            workbook.close()
    except (ServiceError, DatabaseError):
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types (KeyError, ValueError, ParseError…)
        if isinstance(exc, DefusedXmlException) or isinstance(exc.__cause__, DefusedXmlException):
            raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。")) from None
        raise UploadRejected(_("文件无法作为 Excel 工作簿解析，请使用下载的模板。")) from None
    if not rows:
        errors.add_file(_("文件中没有数据行。"))
        errors.raise_if_any()
    return name, rows


def _check(actor: Any, name: str, rows: list[tuple[int, list[Any]]], errors: ImportErrors) -> list[_UserRow]:
    """Every row checked against the database and the rules; ImportErrors with every problem, or the plan."""
    head = headers()

    def cell_error(row: int, column: int, message: str) -> None:
        errors.add_cell(name, row, column + 1, head[column], message)

    usernames = {_text(values[USERNAME]) for _row, values in rows}
    codes = {_text(values[UNIT]) for _row, values in rows} - {""}
    units = {unit.code: unit for unit in scope.visible_units(actor).filter(code__in=codes)}
    existing = {user.username: user for user in get_user_model().objects.filter(username__in=usernames)}
    managed = set(service.manageable_users(actor).filter(username__in=usernames).values_list("pk", flat=True))
    roles = _role_lookup()
    plan: dict[str, _UserRow] = {}
    seen: dict[tuple[str, str, str], int] = {}
    refused_users: set[str] = set()
    for row, values in rows:
        username = _text(values[USERNAME])
        if not username:
            cell_error(row, USERNAME, _("用户名不能为空。"))
            continue
        active_text = _text(values[ACTIVE]).lower()
        active: bool | None = None
        if active_text in _yes():
            active = True
        elif active_text in _no():
            active = False
        elif active_text:
            cell_error(row, ACTIVE, _("请填写“是”或“否”。"))
        entry = plan.get(username)
        if entry is None:
            user = existing.get(username)
            entry = _UserRow(
                row,
                username,
                _text(values[NAME]) if values[NAME] is not None else None,
                _text(values[EMAIL]) if values[EMAIL] is not None else None,
                active,
                existing=user,
            )
            plan[username] = entry
            if user is not None and user.pk not in managed:
                cell_error(row, USERNAME, _("用户名“%(username)s”已被使用。") % {"username": username})
                refused_users.add(username)
            else:
                try:
                    if user is None:
                        service.clean_fields(
                            service.UserFields(username=username, name=entry.name, email=entry.email), None
                        )
                    else:
                        service.check_manage_user(actor, user)
                        service.clean_fields(service.UserFields(name=entry.name, email=entry.email), user)
                except ServiceError as exc:
                    for field_name, messages in exc.errors.items():
                        column = {"username": USERNAME, "name": NAME, "email": EMAIL}.get(field_name, USERNAME)
                        for message in messages:
                            cell_error(row, column, message)
        else:
            for column, given, first in (
                (NAME, values[NAME], entry.name),
                (EMAIL, values[EMAIL], entry.email),
            ):
                if given is not None and _text(given) != (first or "") and first is not None:
                    cell_error(
                        row,
                        column,
                        _("与第 %(row)s 行同一用户的填写不一致（%(first)s）。") % {"row": entry.row, "first": first},
                    )
        code, role_text = _text(values[UNIT]), _text(values[ROLE])
        if not code and not role_text:
            continue
        if not code or not role_text:
            cell_error(row, UNIT if not code else ROLE, _("单位代码和角色须同时填写。"))
            continue
        unit = units.get(code)
        role = roles.get(role_text.lower())
        if unit is None:
            cell_error(row, UNIT, _("单位代码 %(code)s 不存在或不在您的权限范围内。") % {"code": code})
        if role is None:
            cell_error(row, ROLE, _("无效的角色：%(role)s") % {"role": role_text})
        if unit is None or role is None:
            continue
        key = (username, code, role)
        if key in seen:
            cell_error(
                row,
                UNIT,
                _("与第 %(row)s 行重复：同一用户、单位和角色。") % {"row": seen[key]},
            )
            continue
        seen[key] = row
        try:
            service.check_grant(actor, unit, role)
        except ServiceError as exc:
            for field_name, messages in exc.errors.items():
                for message in messages:
                    cell_error(row, ROLE if field_name == "role" else UNIT, message)
            continue
        entry.memberships.append((row, unit, role))
    for entry in plan.values():
        if entry.existing is None and not entry.memberships and not scope.is_bureau_wide_admin(actor):
            if entry.username not in refused_users:
                cell_error(entry.row, UNIT, _("请为新用户填写单位和角色，否则您将无法再看到该用户。"))
    errors.raise_if_any()
    return list(plan.values())


def import_users(actor: Any, fileobj: IO[bytes]) -> ImportResult:
    """Check the whole file, then write it all in one transaction (or nothing: ImportErrors / Refused)."""
    service.require_user_admin(actor)
    errors = ImportErrors()
    name, rows = _read(fileobj, errors)
    plan = _check(actor, name, rows, errors)
    created = updated = added = unchanged = 0
    with transaction.atomic(), audit.acting("import", actor):
        for entry in plan:
            fields = service.UserFields(name=entry.name, email=entry.email, is_active=entry.is_active)
            memberships = list(entry.memberships)
            if entry.existing is None:
                first = memberships.pop(0) if memberships else None
                user = service.create_user(
                    actor,
                    service.UserFields(username=entry.username, **_given(fields)),
                    first[1] if first else None,
                    first[2] if first else None,
                )
                created += 1
                added += 1 if first else 0
            else:
                user = entry.existing
                if any(value is not None for value in _given(fields).values()):
                    before = (user.first_name, user.last_name, user.email, user.is_active)
                    service.update_user(actor, user, fields)
                    updated += before != (user.first_name, user.last_name, user.email, user.is_active)
            held = set(Membership.objects.filter(user=user).values_list("org_unit_id", "role"))
            for _row, unit, role in memberships:
                if (unit.pk, role) in held:
                    unchanged += 1
                    continue
                service.add_membership(actor, user, unit, role)
                added += 1
    return ImportResult(created, updated, added, unchanged)


def _given(fields: service.UserFields) -> dict[str, Any]:
    return {
        key: value
        for key, value in (("name", fields.name), ("email", fields.email), ("is_active", fields.is_active))
        if value is not None
    }
