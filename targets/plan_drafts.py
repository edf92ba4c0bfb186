"""Plan drafts: a bureau's document read into a proposed plan, reviewed, then committed all-or-nothing.

The API (``targets.drafts_api``) and the review page (``targets.draft_views``) call these functions only:

- ``create_draft`` reads pasted text or an uploaded .docx/.txt (``plans.document_upload`` checks),
  parses it (``plans.docparse``) and stores the proposal; ``reimport`` does the same into an existing
  draft (never into a committed one);
- ``update_draft`` changes the proposal with an optimistic ``version`` check (stale → 409);
- ``commit_draft`` validates every accepted item first, reporting every problem by item path
  (``targets.3.target_value``), then creates the plan, its sections, work items and targets in one
  transaction — targets through ``targets.targets_service`` like the target form, the API and the workbook.

Every text comes from a user's document and is stored and shown as data only.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from indicators.models import Indicator
from plans.docparse import parse_text
from plans.document_upload import MAX_TEXT_BYTES, check_has_plan, read_plan_document
from plans.models import Plan, Section, WorkItem
from portal import audit, scope
from portal.errors import ServiceError, StateError, VersionConflict
from portal.scope import Perm
from portal.upload_safety import UploadRejected
from schools.models import Level, OrgUnit
from submissions.models import Period
from targets import targets_service
from targets.models import Comparator, Direction, DraftStatus, PlanDraft, Rhythm, Target, TargetKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

LOW_CONFIDENCE = 0.5
SECTION_KEYS = ("code", "title", "order", "intro", "accepted")
ITEM_KEYS = ("section", "number", "title", "text", "accepted")
TARGET_KEYS = (
    "code", "section", "work_item", "text", "kind", "comparator", "direction", "target_value", "target_value_max",
    "unit",
    "applies_to_each_unit", "per", "due_date", "due_period", "indicator", "confidence", "parent", "accepted",
    "contributes_to", "start_month", "due_month",
)  # fmt: skip
PLAN_KEYS = ("title", "year", "code", "parent", "guiding_ideas")
_SLUG_OUT = re.compile(r"[^-a-zA-Z0-9_]+")


# --- Reading ---


def drafts_for(user: AbstractBaseUser) -> QuerySet[PlanDraft]:
    """The user's own drafts within their admin scope (another user's draft does not exist for them)."""
    queryset = PlanDraft.objects.filter(owner_id=getattr(user, "pk", None)).select_related("owner_unit")
    return scope.filter_by_scope(user, queryset, "owner_unit", Perm.ADMIN)


def get_draft(user: AbstractBaseUser, pk: int) -> PlanDraft:
    """One of the user's drafts, else Http404."""
    try:
        return drafts_for(user).get(pk=pk)
    except PlanDraft.DoesNotExist:
        raise Http404 from None


def default_owner_unit(user: AbstractBaseUser) -> OrgUnit:
    """The unit a new plan belongs to: the highest non-school unit the user administers (403 without one)."""
    unit = scope.top_units(user, Perm.ADMIN).exclude(level=Level.SCHOOL).order_by("path").first()
    if unit is None:
        raise PermissionDenied
    return unit


# --- Creating a proposal from a document ---


def _slug(value: str, fallback: str) -> str:
    slug = _SLUG_OUT.sub("-", str(value)).strip("-")[:40]
    return slug or fallback


def _document_proposal(
    *, text: str | None, fileobj: IO[bytes] | None, filename: str, year: int | None, title: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The document's text and the proposal read from it; a refusal names ``file`` or ``text`` (what was sent)."""
    try:
        source = read_document(text=text, fileobj=fileobj, filename=filename)
        return source, propose(source, year=year, title=title)
    except UploadRejected as exc:
        if fileobj is not None:
            raise
        raise ServiceError({"text": [exc.message]}) from None


def read_document(*, text: str | None = None, fileobj: IO[bytes] | None = None, filename: str = "") -> str:
    """The document's text from pasted text or an upload; UploadRejected (translated) when unusable."""
    if fileobj is not None:
        text = read_plan_document(fileobj, filename or "")
    text = text or ""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise UploadRejected(
            _("文字过长（%(size).1f MB），上限为 %(limit).1f MB。")
            % {"size": len(text.encode("utf-8")) / 1048576, "limit": MAX_TEXT_BYTES / 1048576}
        )
    if not text.strip():
        raise UploadRejected(_("没有内容：请上传文档或粘贴工作要点的文字。"))
    return text


def propose(text: str, *, year: int | None = None, title: str | None = None) -> dict[str, Any]:
    """The parser's proposal as draft data: slug codes, target codes, ``accepted`` flags, known indicators only."""
    parsed = parse_text(text, year=year, title=title or None)
    check_has_plan(parsed)
    raw: dict[str, Any] = parsed.to_dict()
    codes = {s["code"]: _slug(s["code"], f"s{n}") for n, s in enumerate(raw["sections"], start=1)}
    sections = [
        {"code": codes[s["code"]], "title": s["title"], "order": s["order"], "intro": s.get("intro") or "",
         "level": s.get("level"), "accepted": True}
        for s in raw["sections"]
    ]  # fmt: skip
    items = [
        {"section": codes.get(w["section"], w["section"]), "number": w["number"],
         "title": w["title"] or w["text"][:40], "text": w["text"], "accepted": True}
        for w in raw["work_items"]
    ]  # fmt: skip
    suggested = {t["indicator"] for t in raw["targets"] if t.get("indicator")}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=suggested)}
    periods = set(
        Period.objects.filter(code__in={t["due_period"] for t in raw["targets"]}).values_list("code", flat=True)
    )
    plan_year = raw.get("year") or year or timezone.localdate().year
    # "有一定提高" is compared with the same quarter a year earlier: without that year's quarters in the portal
    # it could not be committed (the target service refuses it), so it is proposed as qualitative work.
    can_improve = Period.objects.filter(year=plan_year - 1).exists()
    targets = []
    for number, t in enumerate(raw["targets"], start=1):
        indicator = indicators.get(t.get("indicator") or "")
        if indicator is not None and t["kind"] == TargetKind.COUNT_UNITS and not indicator.counts_units:
            indicator = None
        if t["kind"] in (TargetKind.MILESTONE, TargetKind.NARRATIVE) or t.get("comparator") not in (
            None,
            "",
            *Comparator.values,
        ):
            indicator = None
        confidence = float(t.get("confidence") or 0)
        kind, comparator = t["kind"], t.get("comparator") or ""
        suggested_comparator = None
        if comparator and (
            comparator not in Comparator.values or (comparator == Comparator.IMPROVES and not can_improve)
        ):
            # A rule the target cannot hold (here): proposed as the qualitative work it is, the parser's reading
            # kept. ("improves" with last year's quarters passes through, with the direction its verb says.)
            kind, comparator, suggested_comparator = TargetKind.NARRATIVE, "", t["comparator"]
            indicator = None
        targets.append(
            {
                "code": f"t{number}",
                "section": codes.get(t["section"], t["section"]),
                "work_item": t.get("work_item"),
                "text": t["text"],
                "kind": kind,
                "comparator": comparator,
                "direction": improves_direction(t["text"]) if comparator == Comparator.IMPROVES else "",
                "suggested_comparator": suggested_comparator,
                "target_value": t.get("target_value"),
                "target_value_max": t.get("target_value_max"),
                "unit": t.get("unit") or "",
                "applies_to_each_unit": bool(t.get("applies_to_each_unit")),
                "per": t.get("per"),
                "due_date": t.get("due_date"),
                # "2-7月份" → 2 and 7, "(3月份)" → 3: a milestone's window (other kinds keep the due date only).
                "start_month": t.get("start_month"),
                "due_month": t.get("due_month"),
                "due_period": t.get("due_period") if t.get("due_period") in periods else None,
                "indicator": indicator.code if indicator else None,
                "suggested_indicator": t.get("indicator"),
                "confidence": confidence,
                "parent": t.get("parent"),
                "contributes_to": None,
                "span": t.get("span"),
                "accepted": confidence >= LOW_CONFIDENCE,
            }
        )
    return {
        "title": raw.get("title") or title or "",
        "year": plan_year,
        "code": "",
        "parent": None,
        "guiding_ideas": raw.get("guiding_ideas") or "",
        "document_text": parsed.text,
        "sections": sections,
        "work_items": items,
        "targets": targets,
        "noise": raw.get("noise") or [],
    }


_LOWER_IS_BETTER = re.compile(r"降低|减少|下降|压减|缩小|减轻|控制")


def improves_direction(text: str) -> str:
    """The direction of an ``improves`` proposal from its verb: "降低辍学率" → lower, "有一定提高" → higher."""
    return Direction.LOWER if _LOWER_IS_BETTER.search(text or "") else Direction.HIGHER


def create_draft(
    user: AbstractBaseUser,
    *,
    text: str | None = None,
    fileobj: IO[bytes] | None = None,
    filename: str = "",
    year: int | None = None,
    title: str | None = None,
    parent: str | None = None,
) -> PlanDraft:
    """A new draft from pasted text or an uploaded document; nothing is stored when the input is refused."""
    unit = default_owner_unit(user)
    scope.require(user, Perm.ADMIN, unit)
    source, data = _document_proposal(text=text, fileobj=fileobj, filename=filename, year=year, title=title)
    if parent:
        _parent_plan(user, parent)
        data["parent"] = parent
    draft = PlanDraft.objects.create(
        owner_id=user.pk, owner_unit=unit, source_filename=(filename or "")[:255], source_text=source, data=data
    )
    draft.data["code"] = _default_plan_code(draft)
    draft.save(update_fields=["data"])
    return draft


def reimport(
    user: AbstractBaseUser,
    draft: PlanDraft,
    *,
    version: int,
    text: str | None = None,
    fileobj: IO[bytes] | None = None,
    filename: str = "",
) -> PlanDraft:
    """A revised document replaces the proposal of ``draft`` (keeping its plan code and parent plan).

    A committed draft is never changed (its plan is edited on the plan pages): StateError.
    """
    _check_editable(user, draft, version)
    source, data = _document_proposal(text=text, fileobj=fileobj, filename=filename, year=draft.data.get("year"))
    data["code"] = draft.data.get("code") or _default_plan_code(draft)
    data["parent"] = draft.data.get("parent")
    return _save(draft, version, data, source_text=source, source_filename=(filename or "")[:255])


def _default_plan_code(draft: PlanDraft) -> str:
    return f"{draft.data.get('year') or 'plan'}-import-{draft.pk}"


# --- Editing ---


def _check_editable(user: AbstractBaseUser, draft: PlanDraft, version: int | None) -> None:
    scope.require(user, Perm.ADMIN, draft.owner_unit)
    if draft.status != DraftStatus.DRAFT:
        raise StateError({"status": [_("该草稿已生成工作要点，不能再修改；修订后的文档请新建草稿导入。")]})
    if version is not None and version != draft.version:
        raise VersionConflict()


def _save(draft: PlanDraft, version: int, data: dict[str, Any], **extra: Any) -> PlanDraft:
    """Write ``data`` if nobody changed the draft since ``version`` was read (optimistic lock)."""
    claimed = PlanDraft.objects.filter(pk=draft.pk, version=version, status=DraftStatus.DRAFT).update(
        data=data, version=F("version") + 1, **extra
    )
    if claimed != 1:
        raise VersionConflict()
    draft.refresh_from_db()
    return draft


_TEXT, _INT, _BOOL, _NUMBER = (str,), (int,), (bool,), (int, float)
_OPTIONAL = (type(None),)
# The type each key of a row may have in a PATCH (anything else: 400 before anything is stored).
ROW_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "sections": {"code": _TEXT, "title": _TEXT, "order": _INT, "intro": _TEXT, "accepted": _BOOL,
                 "level": _INT + _OPTIONAL},
    "work_items": {"section": _TEXT, "number": _INT, "title": _TEXT, "text": _TEXT, "accepted": _BOOL},
    "targets": {
        "code": _TEXT, "section": _TEXT, "work_item": _INT + _OPTIONAL, "text": _TEXT, "kind": _TEXT,
        "comparator": _TEXT, "direction": _TEXT + _OPTIONAL, "target_value": _TEXT + _NUMBER + _OPTIONAL,
        "target_value_max": _TEXT + _NUMBER + _OPTIONAL, "unit": _TEXT, "applies_to_each_unit": _BOOL,
        "per": _TEXT + _OPTIONAL, "due_date": _TEXT + _OPTIONAL, "due_period": _TEXT + _OPTIONAL,
        "indicator": _TEXT + _OPTIONAL, "confidence": _NUMBER, "parent": _INT + _OPTIONAL, "accepted": _BOOL,
        "span": (list,) + _OPTIONAL, "suggested_indicator": _TEXT + _OPTIONAL,
        "contributes_to": _TEXT + _OPTIONAL, "suggested_comparator": _TEXT + _OPTIONAL,
        "start_month": _INT + _OPTIONAL, "due_month": _INT + _OPTIONAL,
    },
}  # fmt: skip


def _row_type_errors(name: str, row: dict[str, Any]) -> list[str]:
    """Unknown keys or values of the wrong type in one row of a PATCH."""
    types = ROW_TYPES[name]
    unknown = sorted(set(row) - set(types))
    if unknown:
        return [_("未知字段：%(names)s") % {"names": "、".join(unknown)}]
    wrong = sorted(
        key
        for key, value in row.items()
        if not isinstance(value, types[key]) or (isinstance(value, bool) and bool not in types[key])
    )
    if wrong:
        return [_("字段类型不对：%(names)s") % {"names": "、".join(wrong)}]
    return []


def _shape_errors(changes: dict[str, Any], draft_rows: dict[str, Any]) -> dict[str, list[str]]:
    """Problems of the shape of a PATCH (types, unknown keys, row numbers), before anything is changed."""
    errors: dict[str, list[str]] = {}
    for name in ROW_TYPES:
        if name not in changes:
            continue
        rows = changes[name]
        if isinstance(rows, dict):
            count = len(draft_rows.get(name) or [])
            if not all(str(key).isdigit() and int(key) < count for key in rows):
                errors[name] = [_("序号超出范围。")]
                continue
            numbered = [(str(key), row) for key, row in rows.items()]
        elif isinstance(rows, list):
            numbered = [(str(index), row) for index, row in enumerate(rows)]
        else:
            numbered = None
        if numbered is None or not all(isinstance(row, dict) for _key, row in numbered):
            errors[name] = [_("应为对象列表。")]
            continue
        for key, row in numbered:
            problems = _row_type_errors(name, row)
            if problems:
                errors[f"{name}.{key}"] = problems
    if "year" in changes and (isinstance(changes["year"], bool) or not isinstance(changes["year"], int)):
        errors["year"] = [_("年度应为整数。")]
    for name in ("title", "code", "guiding_ideas"):
        if name in changes and not isinstance(changes[name], str):
            errors[name] = [_("应为文字。")]
    if "parent" in changes and changes["parent"] is not None and not isinstance(changes["parent"], str):
        errors["parent"] = [_("应为上级计划代码。")]
    return errors


def update_draft(user: AbstractBaseUser, draft: PlanDraft, changes: dict[str, Any], *, version: int) -> PlanDraft:
    """Change plan fields, or ``sections``/``work_items``/``targets``: a list replaces the whole list, a mapping
    ``{"3": {"accepted": false}}`` changes only the keys given of the rows given."""
    _check_editable(user, draft, version)
    unknown = set(changes) - set(PLAN_KEYS) - {"sections", "work_items", "targets"}
    errors = {name: [_("不能设置该字段。")] for name in sorted(unknown)}
    errors.update(_shape_errors(changes, draft.data))
    if errors:
        raise ServiceError(errors)
    data = dict(draft.data)
    for name, value in changes.items():
        if name not in ("sections", "work_items", "targets"):
            data[name] = value
        elif isinstance(value, list):  # the whole list, as read and edited
            data[name] = [{"accepted": True, **row} for row in value]
        else:  # {"3": {"accepted": false}}: only those rows, only those keys
            rows = [dict(row) for row in data.get(name) or []]
            for key, row in value.items():
                rows[int(key)].update(row)
            data[name] = rows
    return _save(draft, version, data)


# --- Committing ---


def _parent_plan(user: AbstractBaseUser, code: str) -> Plan:
    """The parent plan by code (any plan, as on the plan form: a district plan cascades the city's)."""
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        raise ServiceError({"parent": [_("找不到上级计划“%(code)s”。") % {"code": code}]})
    return plan


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(_("请填写数字。")) from None
    if not number.is_finite():
        raise ValueError(_("请填写数字。"))
    return number


def _date(value: Any) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(_("日期格式应为 YYYY-MM-DD。")) from None


def _field_errors(error: ValidationError, prefix: str, errors: dict[str, list[str]]) -> None:
    for name, messages in error.message_dict.items():
        errors.setdefault(f"{prefix}.{name}", []).extend(messages)


class _Plan:
    """The validated parts of a draft, ready to be written."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.sections: dict[str, Section] = {}
        self.items: dict[tuple[str, int], WorkItem] = {}
        self.targets: list[tuple[int, dict[str, Any], str, int | None]] = []


def validate_draft(user: AbstractBaseUser, draft: PlanDraft) -> _Plan:
    """Check every accepted item; ServiceError listing every problem by path (``targets.3.kind``)."""
    data = draft.data
    errors: dict[str, list[str]] = {}
    result = _Plan()
    parent = None
    if data.get("parent"):
        try:
            parent = _parent_plan(user, str(data["parent"]))
        except ServiceError as exc:
            errors.update(exc.errors)
    plan = Plan(
        code=str(data.get("code") or ""), title=str(data.get("title") or "").strip(), year=data.get("year"),
        owner_unit=draft.owner_unit, parent=parent, guiding_ideas=str(data.get("guiding_ideas") or ""),
    )  # fmt: skip
    try:
        plan.clean_fields(exclude=["parent"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if plan.code and Plan.objects.filter(code=plan.code).exists():
        errors.setdefault("code", []).append(_("已有代码为“%(code)s”的工作要点。") % {"code": plan.code})
    if isinstance(plan.year, int) and not (2000 <= plan.year <= 2100):
        errors.setdefault("year", []).append(_("年度应在 2000 到 2100 之间。"))
    result.plan = plan

    for index, row in enumerate(data.get("sections") or []):
        if not row.get("accepted"):
            continue
        path = f"sections.{index}"
        section = Section(code=str(row.get("code") or ""), title=str(row.get("title") or "").strip(),
                          order=row.get("order") or 0, intro=str(row.get("intro") or ""))  # fmt: skip
        try:
            section.clean_fields(exclude=["plan"])
        except ValidationError as exc:
            _field_errors(exc, path, errors)
        if section.code in result.sections:
            errors.setdefault(f"{path}.code", []).append(_("同一工作要点中部分代码不能重复"))
        elif section.code:
            result.sections[section.code] = section
    for index, row in enumerate(data.get("work_items") or []):
        if not row.get("accepted"):
            continue
        path = f"work_items.{index}"
        code = str(row.get("section") or "")
        item = WorkItem(number=row.get("number"), title=str(row.get("title") or "").strip(),
                        text=str(row.get("text") or ""))  # fmt: skip
        try:
            item.clean_fields(exclude=["section"])
        except ValidationError as exc:
            _field_errors(exc, path, errors)
        if code not in result.sections:
            errors.setdefault(f"{path}.section", []).append(_("所属部分“%(code)s”未采纳或不存在。") % {"code": code})
        elif (code, item.number) in result.items:
            errors.setdefault(f"{path}.number", []).append(_("同一部分中序号不能重复"))
        elif isinstance(item.number, int):
            result.items[(code, item.number)] = item

    rows = data.get("targets") or []
    indicator_codes = {str(r["indicator"]) for r in rows if r.get("accepted") and r.get("indicator")}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=indicator_codes)}
    period_codes = {str(r["due_period"]) for r in rows if r.get("accepted") and r.get("due_period")}
    periods = {p.code: p for p in Period.objects.filter(code__in=period_codes)}
    parent_targets = {t.code: t for t in Target.objects.filter(plan=parent)} if parent is not None else {}
    seen_codes: set[str] = set()
    for index, row in enumerate(rows):
        if not row.get("accepted"):
            continue
        path = f"targets.{index}"
        row_errors: dict[str, list[str]] = {}
        section_code = str(row.get("section") or "")
        row_section = result.sections.get(section_code)
        if row_section is None:
            row_errors["section"] = [_("所属部分“%(code)s”未采纳或不存在。") % {"code": section_code}]
        row_item = None
        if row.get("work_item") is not None:
            row_item = result.items.get((section_code, row["work_item"]))
            if row_item is None and row_section is not None:
                row_errors["work_item"] = [_("所属工作任务未采纳或不存在。")]
        fields: dict[str, Any] = {
            "code": str(row.get("code") or ""), "text": str(row.get("text") or "").strip(),
            "kind": row.get("kind") or "", "comparator": row.get("comparator") or "",
            "applies_to_each_unit": bool(row.get("applies_to_each_unit")), "order": index + 1,
        }  # fmt: skip
        if fields["comparator"] == Comparator.IMPROVES:
            fields["direction"] = row.get("direction") or Direction.HIGHER
        for name in ("target_value", "target_value_max"):
            try:
                fields[name] = _decimal(row.get(name))
            except ValueError as exc:
                row_errors[name] = [str(exc)]
        try:
            fields["due_date"] = _date(row.get("due_date"))
        except ValueError as exc:
            row_errors["due_date"] = [str(exc)]
        fields["indicator"] = indicators.get(str(row.get("indicator") or ""))
        if row.get("indicator") and fields["indicator"] is None:
            row_errors["indicator"] = [_("统计指标“%(code)s”不存在。") % {"code": row["indicator"]}]
        upper = str(row.get("contributes_to") or "").strip()
        fields["contributes_to"] = parent_targets.get(upper) if upper else None
        if upper and fields["contributes_to"] is None:
            row_errors["contributes_to"] = [_("上级计划中没有目标 {value}。").format(value=upper)]
        fields["due_period"] = periods.get(str(row.get("due_period") or ""))
        if row.get("due_period") and fields["due_period"] is None:
            row_errors["due_period"] = [_("周期“%(code)s”不存在。") % {"code": row["due_period"]}]
        if fields["code"] in seen_codes:
            row_errors["code"] = [_("同一工作要点中目标代码不能重复。")]
        seen_codes.add(fields["code"])
        if fields["kind"] == TargetKind.MILESTONE:
            for name in ("start_month", "due_month"):
                fields[name] = row.get(name) if isinstance(row.get(name), int) else None
        if fields["kind"] == TargetKind.FREQUENCY and fields.get("target_value") is not None:
            fields["per_unit_minimum"] = fields["target_value"]
        if fields["kind"] == TargetKind.FREQUENCY and row.get("per") in Rhythm.values:
            fields["rhythm"] = row["per"]  # "每月一次" counts per month (day and week: not measurable by quarter)
        if not row_errors:
            target = Target(plan=plan, scope=draft.owner_unit, section=row_section, work_item=row_item, **fields)
            try:
                _validate_target_fields(plan, target)
            except ServiceError as exc:
                row_errors.update(exc.errors)
        for name, messages in row_errors.items():
            errors.setdefault(f"{path}.{name}", []).extend(messages)
        if not row_errors:
            parent = row.get("parent")
            result.targets.append((index, fields, section_code, parent if isinstance(parent, int) else None))
    if not errors and not result.sections:
        errors["sections"] = [_("至少采纳一个部分。")]
    if errors:
        raise ServiceError(errors)
    return result


def _validate_target_fields(plan: Plan, target: Target) -> None:
    """The target service's rules, and the model's field limits, before anything is written."""
    try:
        targets_service.validate_target(plan, target)
    except ServiceError as exc:
        # The section is checked by the draft itself (it is not saved yet, so the service sees none).
        errors = {name: messages for name, messages in exc.errors.items() if name != "section"}
        if errors:
            raise ServiceError(errors) from None
    try:
        target.clean_fields(exclude=["plan", "section", "work_item", "scope", "indicator", "due_period"])
    except ValidationError as exc:
        raise ServiceError(exc.message_dict) from None


def commit_draft(user: AbstractBaseUser, draft: PlanDraft, *, version: int | None = None) -> Plan:
    """Create the plan of ``draft`` (all or nothing) and mark the draft committed."""
    _check_editable(user, draft, version)
    checked = validate_draft(user, draft)
    plan = checked.plan
    assert plan is not None
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        # Claim the draft first: a concurrent commit or edit waits on this row, then finds it changed.
        claimed = PlanDraft.objects.filter(pk=draft.pk, version=draft.version, status=DraftStatus.DRAFT).update(
            status=DraftStatus.COMMITTED, version=F("version") + 1
        )
        if claimed != 1:
            raise VersionConflict()
        plan.save()
        sections = {}
        for code, section in checked.sections.items():
            section.plan = plan
            section.save()
            sections[code] = section
        for (code, _number), item in checked.items.items():
            item.section = sections[code]
            item.save()
        created: dict[int, Target] = {}
        for index, fields, code, _parent in checked.targets:
            work_item = None
            row = draft.data["targets"][index]
            if row.get("work_item") is not None:
                work_item = checked.items.get((code, row["work_item"]))
            try:
                created[index] = targets_service.create_target(
                    user, plan, {**fields, "section": sections[code], "work_item": work_item}
                )
            except ServiceError as exc:
                for name, messages in exc.errors.items():
                    errors.setdefault(f"targets.{index}.{name}", []).extend(messages)
        for index, _fields, _code, parent in checked.targets:
            if parent is not None and parent in created and index in created:
                Target.objects.filter(pk=created[index].pk).update(part_of=created[parent])
                audit.record_bulk([(created[index], {"part_of": (None, created[parent])})])
        if errors:
            raise ServiceError(errors)  # leaving the atomic block by an exception: nothing is kept
        PlanDraft.objects.filter(pk=draft.pk).update(committed_plan=plan)
    draft.refresh_from_db()
    return plan


# --- Review-page helpers: merge and split proposed targets ---


def _renumber_parents(rows: list[dict[str, Any]], old_to_new: dict[int, int]) -> None:
    for row in rows:
        parent = row.get("parent")
        if isinstance(parent, int):
            row["parent"] = old_to_new.get(parent)


def merge_targets(user: AbstractBaseUser, draft: PlanDraft, indices: list[int], *, version: int) -> PlanDraft:
    """Join the texts of the targets at ``indices`` into the first of them; the others are removed."""
    _check_editable(user, draft, version)
    rows = [dict(row) for row in draft.data.get("targets") or []]
    chosen = sorted({i for i in indices if 0 <= i < len(rows)})
    if len(chosen) < 2:
        raise ServiceError({"targets": [_("请至少选择两项目标再合并。")]})
    first = chosen[0]
    rows[first]["text"] = "，".join(str(rows[i].get("text") or "") for i in chosen)
    rows[first]["accepted"] = True
    kept = [i for i in range(len(rows)) if i not in chosen[1:]]
    old_to_new = {old: new for new, old in enumerate(kept)}
    for merged in chosen[1:]:
        old_to_new[merged] = old_to_new[first]
    result = [rows[i] for i in kept]
    _renumber_parents(result, old_to_new)
    for index, row in enumerate(result):
        if row.get("parent") == index:
            row["parent"] = None
    return _save(draft, version, {**draft.data, "targets": result})


def split_target(user: AbstractBaseUser, draft: PlanDraft, index: int, *, version: int) -> PlanDraft:
    """Put a copy of the target at ``index`` right after it (a new code), to be edited into its second part."""
    _check_editable(user, draft, version)
    rows = [dict(row) for row in draft.data.get("targets") or []]
    if not 0 <= index < len(rows):
        raise ServiceError({"targets": [_("序号超出范围。")]})
    codes = {str(row.get("code")) for row in rows}
    number = len(rows) + 1
    while f"t{number}" in codes:
        number += 1
    old_to_new = {old: (old if old <= index else old + 1) for old in range(len(rows))}
    _renumber_parents(rows, old_to_new)
    copy = {**rows[index], "code": f"t{number}", "accepted": True}
    rows.insert(index + 1, copy)
    return _save(draft, version, {**draft.data, "targets": rows})
