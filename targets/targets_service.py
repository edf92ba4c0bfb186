"""Creating and editing targets, their expected path and their progress notes.

Web views, the API and the plan workbook import all call these functions: the rules (who may,
what is valid, which change needs a reason, history rows, optimistic locking) live only here.
Every write recomputes the target's progress in the same transaction (one target: cheap).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from plans.models import Plan, PlanStatus
from portal import audit, scope
from portal.errors import ServiceError, VersionConflict
from portal.scope import Perm
from portal.upload_safety import check_evidence
from schools.models import Level, OrgUnit
from submissions.models import Period
from targets import kind_fields
from targets.models import (
    Comparator,
    Direction,
    EachUnitLevel,
    MilestoneStatus,
    NoteReview,
    PathMode,
    Rhythm,
    Target,
    TargetChange,
    TargetKind,
    TargetNote,
    TargetPathPoint,
)
from targets.progress import ProgressPreview, due_index, recompute_progress, stored_preview

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Fields a target form / API / workbook may set.
EDITABLE_FIELDS = (
    "section", "work_item", "code", "text", "kind", "indicator", "comparator", "direction", "target_value",
    "target_value_max", "per_unit_minimum", "baseline_value", "baseline_period", "scope", "applies_to_each_unit",
    "each_unit_level", "rhythm", "range_is_ceiling", "due_period", "due_date", "start_month", "due_month",
    "completed_on", "assess_from", "path_mode", "at_risk_margin", "owner_unit", "owner_name", "owner_user",
    "part_of", "contributes_to", "milestone_status", "order",
)  # fmt: skip
# Changing one of these on a published plan changes what the bureau promised: it needs a reason.
MEASURE_FIELDS = frozenset(
    {
        "kind", "indicator", "comparator", "direction", "target_value", "target_value_max", "per_unit_minimum",
        "baseline_value", "baseline_period", "scope", "applies_to_each_unit", "each_unit_level", "rhythm",
        "range_is_ceiling", "due_period", "due_date", "start_month", "due_month", "assess_from",
    }
)  # fmt: skip
MEASURED_KINDS = {TargetKind.THRESHOLD, TargetKind.QUANTITY, TargetKind.COUNT_UNITS, TargetKind.LIMIT,
                  TargetKind.FREQUENCY}  # fmt: skip


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "code"):
        return str(value.code)
    return str(value)


# --- Validation ---


def validate_target(plan: Plan, target: Target) -> None:
    """Raise ServiceError with every problem of ``target`` (unsaved values) at once."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not target.code:
        add("code", _("请填写目标代码。"))
    if not (target.text or "").strip():
        add("text", _("请填写目标原文。"))
    if target.kind not in TargetKind.values:
        add("kind", _("目标类型无效。"))
    if target.section_id is None:
        add("section", _("请选择所属部分。"))
    elif target.section.plan_id != plan.pk:
        add("section", _("所属部分不属于该工作要点。"))
    if target.work_item_id is not None and target.work_item.section_id != target.section_id:
        add("work_item", _("工作任务不属于所选部分。"))
    if target.scope_id is None:
        add("scope", _("请选择范围单位。"))
    if target.comparator and target.comparator not in Comparator.values:
        add("comparator", _("比较方式无效。"))
    if target.path_mode not in PathMode.values:
        add("path_mode", _("预期路径无效。"))
    if target.milestone_status and target.milestone_status not in MilestoneStatus.values:
        add("milestone_status", _("里程碑状态无效。"))
    if target.kind in MEASURED_KINDS:
        if target.kind != TargetKind.COUNT_UNITS and target.kind != TargetKind.FREQUENCY and not target.comparator:
            add("comparator", _("请选择比较方式。"))
        if target.comparator == Comparator.RANGE and (target.target_value is None or target.target_value_max is None):
            add("target_value_max", _("区间目标需要填写目标值和目标上限。"))
        if target.kind == TargetKind.COUNT_UNITS and target.indicator_id is not None:
            if not target.indicator.counts_units:
                add("indicator", _("单位数目标需要选择“认定数”或“新建单位数”类指标。"))
        if target.kind == TargetKind.FREQUENCY and target.per_unit_minimum is None and target.target_value is None:
            add("per_unit_minimum", _("请填写每单位最低次数。"))
    elif target.indicator_id is not None:
        add("indicator", _("里程碑和定性工作不关联统计指标。"))
    # The table's own rule (targets_target_range_ordered), whatever the comparator: a maximum sent with "≥" too
    # (the API fuzzer found it answered 503 from the database instead of this message).
    if (
        target.target_value is not None
        and target.target_value_max is not None
        and target.target_value_max < target.target_value
    ):
        add("target_value_max", _("目标上限不能小于目标值。"))
    if target.comparator == Comparator.IMPROVES:
        _check_improves(plan, target, add)
    if target.assess_from_id is not None:
        if target.kind not in MEASURED_KINDS:
            add("assess_from", _("里程碑和定性工作不设起评季度。"))
        elif target.assess_from.year != plan.year:
            add("assess_from", _("起评季度须在工作要点年度（{year}年）内。").format(year=plan.year))
        elif target.assess_from.index > due_index(target):
            add("assess_from", _("起评季度不能晚于完成期限。"))
    _validate_milestone_time(plan, target, add)
    if target.at_risk_margin is not None and not (Decimal(0) <= target.at_risk_margin <= Decimal(1)):
        add("at_risk_margin", _("风险容差应在 0 到 1 之间（0.05 即 5%）。"))
    if target.part_of_id is not None and (target.part_of.plan_id != plan.pk or target.part_of_id == target.pk):
        add("part_of", _("所属目标必须是本工作要点中的另一目标。"))
    check_per_unit_rule(target, add)
    if target.contributes_to_id is not None and (
        plan.parent_id is None or target.contributes_to.plan_id != plan.parent_id
    ):
        add("contributes_to", _("对应上级目标必须属于上级计划。"))
    if errors:
        raise ServiceError(errors)


IMPROVES_KINDS = {TargetKind.THRESHOLD, TargetKind.QUANTITY}


def _check_improves(plan: Plan, target: Target, add: Callable[[str, str], None]) -> None:
    """ "有一定提高": measured by an indicator, against a baseline that can exist — an explicit baseline value or
    period, else the same quarter a year earlier, which needs the quarters of the year before the plan's."""
    if target.kind not in IMPROVES_KINDS:
        add("comparator", _("“较上年有提高”只适用于比率/数值达标和数量目标。"))
        return
    if target.target_value is not None or target.target_value_max is not None:
        add("target_value", _("“较上年有提高”不填目标值：达标即严格好于基线。"))
    if target.applies_to_each_unit:
        add("applies_to_each_unit", _("“较上年有提高”按范围单位总体比较，不能要求每个单位均须达标。"))
    if target.direction and target.direction not in Direction.values:
        add("direction", _("改进方向无效。"))
    if target.baseline_period_id is not None:
        if target.baseline_period.index >= due_index(target):
            add("baseline_period", _("基线周期须早于完成期限。"))
    elif target.baseline_value is None and not Period.objects.filter(year=plan.year - 1).exists():
        add(
            "baseline_period",
            _("没有{year}年的统计周期，无法与上年同期比较：请填写基线值或基线周期。").format(year=plan.year - 1),
        )


def _validate_milestone_time(plan: Plan, target: Target, add: Callable[[str, str], None]) -> None:
    """A milestone's start/due month (1–12, due not before start) and completion date (in the plan year)."""
    timed = [name for name in ("start_month", "due_month", "completed_on") if getattr(target, name) is not None]
    if timed and target.kind != TargetKind.MILESTONE:
        for name in timed:
            add(name, _("只有里程碑目标设开始月份、完成月份和完成日期。"))
        return
    for name in ("start_month", "due_month"):
        month = getattr(target, name)
        if month is not None and not 1 <= month <= 12:
            add(name, _("月份须在 1 到 12 之间。"))
    if (
        target.start_month is not None
        and target.due_month is not None
        and 1 <= target.start_month <= 12
        and target.due_month < target.start_month
    ):
        add("due_month", _("完成月份不能早于开始月份。"))
    if target.completed_on is not None:
        if target.completed_on.year != plan.year:
            add("completed_on", _("完成日期须在工作要点年度（{year}年）内。").format(year=plan.year))
        elif target.completed_on > timezone.localdate():
            add("completed_on", _("完成日期不能晚于今天。"))
        if target.milestone_status and target.milestone_status != MilestoneStatus.DONE:
            add("milestone_status", _("已填写完成日期的里程碑，状态须为“已完成”。"))


def _with_completion(plan: Plan, current: Target | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A milestone's status and completion date kept together: a completion date makes it done; "done" without a
    date is done today (when today is in the plan year); leaving "done" clears the date."""
    fields = dict(fields)
    kind = fields.get("kind", current.kind if current else None)
    if kind != TargetKind.MILESTONE:
        return fields
    status = fields.get("milestone_status", current.milestone_status if current else "")
    completed = fields.get("completed_on", current.completed_on if current else None)
    if completed is not None and ("milestone_status" not in fields or not status) and status != MilestoneStatus.DONE:
        fields["milestone_status"] = MilestoneStatus.DONE
    elif status == MilestoneStatus.DONE and completed is None:
        today = timezone.localdate()
        if today.year == plan.year:
            fields["completed_on"] = today
    elif status != MilestoneStatus.DONE and completed is not None and "completed_on" not in fields:
        fields["completed_on"] = None
    return fields


# Level order: a per-unit rule names units below its scope (a district's target can name each 学区 or school).
LEVEL_DEPTH = {Level.BUREAU: 0, Level.DISTRICT: 1, Level.TOWNSHIP: 2, Level.SCHOOL: 3}
LEVEL_UNITS = {
    EachUnitLevel.DISTRICT: _lazy("区县"),
    EachUnitLevel.TOWNSHIP: _lazy("乡镇/学区"),
    EachUnitLevel.SCHOOL: _lazy("学校"),
}


def per_unit_level(target: Target) -> str:
    """The level a per-unit rule checks: the one the target names, else schools."""
    return target.each_unit_level or EachUnitLevel.SCHOOL


def check_per_unit_rule(target: Target, add: Callable[[str, str], None]) -> None:
    """ "Every district / 学区 / school must …": refused where it cannot be measured, never accepted and ignored.

    A per-unit rule (``applies_to_each_unit``; limits and frequencies are per unit by nature) needs an indicator
    and a number to compare each unit with, units of the named level under the scope, and a kind that has a value
    per unit (not milestones or narratives; a count of designations per district or 学区, not per school); until an
    indicator is chosen (a plan draft's proposal) nothing is measured and the target says so (无指标). The
    frequency rhythm and a range's ceiling only apply where they mean something.
    """
    kind = target.kind
    per_unit = target.applies_to_each_unit or kind in (TargetKind.LIMIT, TargetKind.FREQUENCY)
    if target.rhythm and target.rhythm != Rhythm.SEMESTER and kind != TargetKind.FREQUENCY:
        add("rhythm", _("只有频次目标设置频次周期。"))
    if target.rhythm and target.rhythm not in Rhythm.values:
        add("rhythm", _("频次周期无效。"))
    ranged = target.comparator == Comparator.RANGE or (
        kind == TargetKind.FREQUENCY and target.target_value_max is not None
    )
    if target.range_is_ceiling and not ranged:
        add("range_is_ceiling", _("只有区间目标可以把上限设为封顶。"))
    if target.each_unit_level and target.each_unit_level not in EachUnitLevel.values:
        add("each_unit_level", _("单位层级无效。"))
        return
    if target.each_unit_level and not per_unit:
        add("each_unit_level", _("只有逐个单位评估的目标才选择单位层级（请勾选“每个单位均须达标”）。"))
        return
    if not (target.applies_to_each_unit or target.each_unit_level):
        return  # a limit's or frequency's own default: the schools of the scope
    if kind in (TargetKind.MILESTONE, TargetKind.NARRATIVE):
        add("applies_to_each_unit", _("里程碑和定性工作没有逐个单位的数值，无法按每个单位评估。"))
        return
    if target.indicator_id is None:
        return  # nothing is measured until an indicator is chosen (a plan draft's proposal): shown as 无指标
    if target.target_value is None and target.per_unit_minimum is None and kind != TargetKind.FREQUENCY:
        add("applies_to_each_unit", _("按每个单位评估须填写每个单位须达到的目标值。"))
    level = per_unit_level(target)
    if kind == TargetKind.COUNT_UNITS and level == EachUnitLevel.SCHOOL:
        add(
            "each_unit_level",
            _("单位数目标按区县或乡镇/学区逐个评估（如“每个县区创建2-3所”），请选择单位层级。"),
        )
        return
    if target.scope_id is None:
        return
    scope_unit = target.scope
    names = {"scope": scope_unit.name, "units": LEVEL_UNITS[EachUnitLevel(level)]}
    if LEVEL_DEPTH.get(Level(scope_unit.level), 0) >= LEVEL_DEPTH[Level(level)]:
        add("each_unit_level", _("范围“%(scope)s”之下没有%(units)s一级的单位，无法逐个评估。") % names)
        return
    if not OrgUnit.objects.filter(path__startswith=scope_unit.path, level=level, is_active=True).exists():
        add("each_unit_level", _("范围“%(scope)s”之下没有%(units)s一级的单位，无法逐个评估。") % names)


CODE_NUMBER = re.compile(r"^(.*?)(\d+)$")


def next_code_and_order(plan: Plan) -> tuple[str, int]:
    """The code and order a new target of ``plan`` is offered: the next free number after the highest code of
    the plan's usual form (T06 → T07, keeping the prefix and zero padding; "T01" for a plan without targets)
    and the order after the last target in the document. One query."""
    rows = list(Target.objects.filter(plan=plan).values_list("code", "order"))
    order = max((o for _c, o in rows), default=0) + 1
    numbered = [(m.group(1), m.group(2)) for code, _o in rows if (m := CODE_NUMBER.match(code))]
    if not numbered:
        return "T01", order
    # The most common prefix is the plan's scheme ("T" in T01…T41, not "D01-T" of a stray code).
    prefixes = [prefix for prefix, _n in numbered]
    prefix = max(sorted(set(prefixes)), key=prefixes.count)
    digits = [n for p, n in numbered if p == prefix]
    width = max(len(n) for n in digits)
    taken = {code for code, _o in rows}
    number = max(int(n) for n in digits) + 1
    while f"{prefix}{number:0{width}d}" in taken:  # "T7" beside "T07"
        number += 1
    return f"{prefix}{number:0{width}d}", order


def _check_code_unique(plan: Plan, target: Target) -> None:
    clash = Target.objects.filter(plan=plan, code=target.code)
    if target.pk:
        clash = clash.exclude(pk=target.pk)
    if clash.exists():
        raise ServiceError({"code": [_("同一工作要点中目标代码不能重复。")]})


def _require_admin(user: AbstractBaseUser, plan: Plan, target: Target) -> None:
    scope.require(user, Perm.ADMIN, plan.owner_unit)
    if target.scope_id is not None:
        scope.require(user, Perm.ADMIN, target.scope)


# --- Targets ---


def create_target(
    user: AbstractBaseUser, plan: Plan, fields: Mapping[str, Any], *, copied_from: Target | None = None
) -> Target:
    """A new target of ``plan``; ``fields`` are model values (instances for foreign keys); ``copied_from``:
    the same target in the plan being copied (plan copy only; last year's comparison reads it)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError({name: [_("不能设置该字段。")] for name in sorted(unknown)})
    target = Target(plan=plan, copied_from=copied_from, **_with_completion(plan, None, fields))
    if target.scope_id is None:
        target.scope = plan.owner_unit
    _require_admin(user, plan, target)
    validate_target(plan, target)
    with transaction.atomic():
        _check_code_unique(plan, target)
        target.save()
        TargetChange.objects.create(target=target, user=user, field="created", new_value=target.text)
        recompute_progress(target_ids=[target.pk])
    return target


def update_target(
    user: AbstractBaseUser, target: Target, fields: Mapping[str, Any], *, version: int, reason: str = ""
) -> Target:
    """Change ``fields`` of ``target``; a published plan's measure needs ``reason``; stale ``version`` → 409."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError({name: [_("不能设置该字段。")] for name in sorted(unknown)})
    plan = target.plan
    _require_admin(user, plan, target)
    if target.version != version:
        raise VersionConflict()  # stale before anything else: the caller must reload first
    new_kind = fields.get("kind", target.kind)
    if new_kind != target.kind and new_kind in TargetKind.values:
        # A switched kind keeps no value of the old kind's fields (targets.kind_fields): the fields the caller
        # did not send are reset; a value sent for a field the new kind has not is still refused below.
        applies = kind_fields.fields_of(new_kind)
        stale = {name: kind_fields.cleared_value(name) for name in EDITABLE_FIELDS if name not in applies}
        fields = {**{name: value for name, value in stale.items() if name not in fields}, **fields}
    fields = _with_completion(plan, target, fields)
    changes = []
    for name, new in fields.items():
        old = getattr(target, name)
        if _display(old) != _display(new):
            changes.append((name, old, new))
            setattr(target, name, new)
    _require_admin(user, plan, target)  # the new scope too
    validate_target(plan, target)
    reason = (reason or "").strip()
    if plan.status == PlanStatus.PUBLISHED and not reason and any(name in MEASURE_FIELDS for name, _o, _n in changes):
        raise ServiceError({"reason": [_("已发布工作要点的目标值变更须填写原因。")]})
    if not changes:
        if not Target.objects.filter(pk=target.pk, version=version).exists():
            raise VersionConflict()
        return target
    with transaction.atomic():
        # Optimistic lock: claim the version we read; a concurrent edit bumped it already.
        claimed = Target.objects.filter(pk=target.pk, version=version).update(version=F("version") + 1)
        if claimed != 1:
            raise VersionConflict()
        _check_code_unique(plan, target)
        target.version = version + 1
        target.save(update_fields=[name for name, _o, _n in changes] + ["updated_at"])
        TargetChange.objects.bulk_create(
            [
                TargetChange(target=target, user=user, field=name, old_value=_display(old), new_value=_display(new),
                             reason=reason)
                for name, old, new in changes
            ]
        )  # fmt: skip
        recompute_progress(target_ids=[target.pk])
    return target


class _RolledBack(Exception):  # noqa: N818 (not an error: carries the preview out of the rolled-back block)
    def __init__(self, result: ProgressPreview) -> None:
        super().__init__()
        self.result = result


def preview_target(
    user: AbstractBaseUser, plan: Plan, fields: Mapping[str, Any], *, target: Target | None = None
) -> ProgressPreview:
    """What saving ``fields`` (a new target of ``plan``, or a change of ``target``) would store for the current
    quarter, with nothing stored: ``create_target`` / ``update_target`` themselves — the same checks, the same
    progress computation — inside a transaction rolled back at the end (the 预览 button and the live preview).

    Raises ``ServiceError`` as saving would. Two things a save checks do not stop a preview: the version read
    (a preview writes nothing, the save still refuses a stale form) and a published plan's change reason."""
    try:
        with transaction.atomic():
            if target is None:
                saved = create_target(user, plan, fields)
            else:
                current = Target.objects.select_related("plan", "scope", "section").get(pk=target.pk)
                saved = update_target(user, current, fields, version=current.version, reason=_("预览"))
            raise _RolledBack(stored_preview(saved))
    except _RolledBack as done:
        return done.result


def set_path_points(user: AbstractBaseUser, target: Target, points: Mapping[Period, Decimal | None]) -> None:
    """Replace the explicit quarterly milestones of the expected path (None removes a point)."""
    _require_admin(user, target.plan, target)
    with transaction.atomic():
        for period, value in points.items():
            if value is None:
                TargetPathPoint.objects.filter(target=target, period=period).delete()
            else:
                TargetPathPoint.objects.update_or_create(
                    target=target, period=period, defaults={"expected_value": value}
                )
        recompute_progress(target_ids=[target.pk])


# --- Notes (milestones and narratives) ---


def can_write_notes(user: AbstractBaseUser, target: Target) -> bool:
    """The owner (person, or principals of the owner unit) and bureau staff over the scope."""
    if target.owner_user_id is not None and target.owner_user_id == getattr(user, "pk", None):
        return True
    if target.owner_unit_id is not None and scope.has_perm(user, Perm.SUBMIT, target.owner_unit):
        return True
    return scope.has_perm(user, Perm.ADMIN, target.scope)


def _note_date_and_period(
    target: Target, reported_on: datetime.date | None, period: Period | None, errors: dict[str, list[str]]
) -> tuple[datetime.date, Period | None]:
    """The day a note reports on (default: today, or its quarter's last day if that is earlier) and its quarter
    (default: the quarter of that day). The day lies in the plan year, not in the future, inside its quarter."""
    from submissions.models import Period as PeriodModel  # a left app: a lazy import only for the model

    today = timezone.localdate()
    year = target.plan.year
    if reported_on is None:
        reported_on = min(today, period.end_date) if period is not None else today
        if period is None and reported_on.year != year:  # written after the year: it reports on the year's end
            reported_on = min(today, datetime.date(year, 12, 31))
    if reported_on.year != year:
        errors["reported_on"] = [_("进展日期须在工作要点年度（{year}年）内。").format(year=year)]
    elif reported_on > today:
        errors["reported_on"] = [_("进展日期不能晚于今天。")]
    elif period is not None and not period.start_date <= reported_on <= period.end_date:
        errors["reported_on"] = [_("进展日期不在所选季度内。")]
    if period is None and "reported_on" not in errors:
        period = PeriodModel.objects.filter(year=reported_on.year, quarter=(reported_on.month - 1) // 3 + 1).first()
    return reported_on, period


def add_note(
    user: AbstractBaseUser,
    target: Target,
    *,
    text: str,
    period: Period | None = None,
    reported_on: datetime.date | None = None,
    evidence: UploadedFile | None = None,
    milestone_status: str | None = None,
) -> TargetNote:
    """A dated progress note (with optional evidence) on a milestone or narrative, reporting on ``reported_on``
    (its quarter: ``period``). It may move the milestone's state; "done" waits for the review (``review_note``)."""
    if not can_write_notes(user, target):
        scope.require(user, Perm.ADMIN, target.scope)  # raises PermissionDenied
    errors: dict[str, list[str]] = {}
    if target.kind not in (TargetKind.MILESTONE, TargetKind.NARRATIVE):
        errors["target"] = [_("只有里程碑和定性工作目标可以填写进展记录。")]
    if not (text or "").strip():
        errors["text"] = [_("请填写进展说明。")]
    if target.kind == TargetKind.NARRATIVE and period is None and reported_on is None:
        errors["period"] = [_("定性工作的进展须选择季度。")]
    if milestone_status and (target.kind != TargetKind.MILESTONE or milestone_status not in MilestoneStatus.values):
        errors["milestone_status"] = [_("里程碑状态无效。")]
    reported_on, period = _note_date_and_period(target, reported_on, period, errors)
    if errors:
        raise ServiceError(errors)
    if evidence is not None:
        check_evidence(evidence)
    with transaction.atomic():
        note = TargetNote(
            target=target, period=period, reported_on=reported_on, author=user, text=text.strip(),
            milestone_status=milestone_status or "",
        )  # fmt: skip
        if evidence is not None:
            note.evidence = evidence
        note.save()
        if milestone_status and milestone_status != MilestoneStatus.DONE:
            _set_milestone_state(user, target, milestone_status, None, text)
        recompute_progress(target_ids=[target.pk])
    return note


def _set_milestone_state(
    user: AbstractBaseUser, target: Target, state: str, completed_on: datetime.date | None, reason: str
) -> None:
    """Move a milestone's state (and completion date) from a note: history, audit, version."""
    if state == target.milestone_status and completed_on == target.completed_on:
        return
    changes = {
        "milestone_status": (target.milestone_status, state),
        "completed_on": (target.completed_on, completed_on),
    }
    changed = {name: pair for name, pair in changes.items() if _display(pair[0]) != _display(pair[1])}
    TargetChange.objects.bulk_create(
        [
            TargetChange(target=target, user=user, field=name, old_value=_display(old), new_value=_display(new),
                         reason=reason.strip()[:500])
            for name, (old, new) in changed.items()
        ]
    )  # fmt: skip
    Target.objects.filter(pk=target.pk).update(
        milestone_status=state, completed_on=completed_on, version=F("version") + 1, updated_at=timezone.now()
    )
    audit.record_bulk([(target, changed)])
    target.refresh_from_db(fields=["milestone_status", "completed_on", "version"])


def review_note(user: AbstractBaseUser, note: TargetNote, *, accept: bool, comment: str = "") -> TargetNote:
    """Bureau staff accept a note, or return it for more (a comment is then required)."""
    scope.require(user, Perm.ADMIN, note.target.scope)
    if not accept and not (comment or "").strip():
        raise ServiceError({"review_comment": [_("退回须填写意见。")]})
    with transaction.atomic():
        note.review_status = NoteReview.ACCEPTED if accept else NoteReview.RETURNED
        note.review_comment = (comment or "").strip()
        note.reviewed_by = user  # type: ignore[assignment]
        note.save(update_fields=["review_status", "review_comment", "reviewed_by", "updated_at"])
        if accept and note.milestone_status == MilestoneStatus.DONE:
            # The milestone is done from the day the accepted note reports on (not from the review day).
            _set_milestone_state(user, note.target, MilestoneStatus.DONE, note.reported_date, note.text)
        recompute_progress(target_ids=[note.target_id])
    return note
