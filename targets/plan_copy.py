"""Copying a plan to a new year: the same structure and targets, each target's baseline last year's actual.

The copy is a draft (``PlanStatus.DRAFT``) until someone publishes it. Sections and work items are copied as
they are; targets go through ``targets_service.create_target`` (the target form's rules) in document order,
a sub-target after the target it is part of. Each target keeps its kind, numbers, indicator, scope, owners
and 所属目标 link; its baseline becomes the source year's actual at its scope — Q4's, or the latest quarter
with a value — with that quarter as ``baseline_period``. Quarters (due, 起评, path points) and due dates
move on by the years between the two plans (2023Q3 → 2024Q3); a quarter not defined yet is left empty.
Each copy links to its source (``Target.copied_from``), so the plan page and the dashboard compare the year
with the source's same quarter. The parent plan and 对应上级目标 links belong to last year's parent plan: they
are kept only when the source's parent plan is already of the new year, else left for the bureau to set.

Bad input (a taken or malformed code, a year not after the source's, an empty title, no permission) is
refused before anything is written; any later refusal rolls the whole copy back.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from plans.models import Plan, PlanStatus, Section, WorkItem
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from submissions.models import Period
from targets import targets_service
from targets.models import Comparator, MilestoneStatus, Progress, Target, TargetKind, TargetPathPoint

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CODE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
CODE_MAX, TITLE_MAX = 60, 200
YEAR_MAX = 9999
BASELINE_PLACES = Decimal("0.0001")  # Target.baseline_value has four decimal places


def _clean(plan: Plan, code: Any, year: Any, title: Any) -> tuple[str, int, str]:
    """The checked (code, year, title), or ServiceError naming every bad field."""
    errors: dict[str, list[str]] = {}
    code = str(code or "").strip()
    title = str(title or "").strip()
    if not code:
        errors["code"] = [_("请填写新工作要点的代码。")]
    elif len(code) > CODE_MAX or not CODE_RE.match(code):
        errors["code"] = [_("代码只能包含字母、数字、连字符和下划线，最长 60 个字符。")]
    elif Plan.objects.filter(code=code).exists():
        errors["code"] = [_("已有代码为 {code} 的工作要点。").format(code=code)]
    try:
        year_number = int(str(year).strip())
    except (TypeError, ValueError):
        errors["year"] = [_("请填写年度（如 {year}）。").format(year=plan.year + 1)]
        year_number = 0
    else:
        if year_number <= plan.year or year_number > YEAR_MAX:
            errors["year"] = [_("新年度须晚于原工作要点的年度（{year}年）。").format(year=plan.year)]
    if not title:
        errors["title"] = [_("请填写标题。")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("标题最长 200 个字符。")]
    if errors:
        raise ServiceError(errors)
    return code, year_number, title


def _shifted(period: Period | None, years: int, periods: dict[tuple[int, int], Period]) -> Period | None:
    """The same quarter ``years`` later, or None when that quarter is not defined (yet)."""
    return None if period is None else periods.get((period.year + years, period.quarter))


def _shift_date(day: datetime.date | None, years: int) -> datetime.date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def baselines(plan: Plan) -> dict[int, tuple[Decimal, Period]]:
    """Target id → (actual, quarter) of its last quarter with a value in ``plan``'s year, at its scope unit."""
    rows = (
        Progress.objects.filter(target__plan=plan, period__year=plan.year, actual__isnull=False)
        .filter(org_unit_id=F("target__scope_id"))
        .select_related("period")
        .order_by("target_id", "-period__quarter")
    )
    result: dict[int, tuple[Decimal, Period]] = {}
    for row in rows:
        if row.actual is not None:  # the query asks for actuals only; this tells the type checker
            result.setdefault(row.target_id, (row.actual.quantize(BASELINE_PLACES), row.period))
    return result


def _document_order(targets: list[Target]) -> list[Target]:
    """Targets in document order, each sub-target after the target it is part of."""
    placed: set[int] = set()
    ordered: list[Target] = []
    remaining = targets
    while remaining:
        later = []
        for target in remaining:
            if target.part_of_id is None or target.part_of_id in placed:
                ordered.append(target)
                placed.add(target.pk)
            else:
                later.append(target)
        if len(later) == len(remaining):  # a link outside the plan (cannot happen through the service)
            ordered.extend(later)
            break
        remaining = later
    return ordered


def copy_plan(user: AbstractBaseUser, plan: Plan, code: str, year: int | str, title: str) -> Plan:
    """A draft copy of ``plan`` for ``year`` under ``code`` and ``title`` (bureau admin of the plan's unit)."""
    scope.require(user, Perm.ADMIN, plan.owner_unit)
    code, year, title = _clean(plan, code, year, title)
    years = year - plan.year
    periods = {(p.year, p.quarter): p for p in Period.objects.all()}
    keep_parent = plan.parent is not None and plan.parent.year == year
    with transaction.atomic():
        copy = Plan.objects.create(
            code=code,
            title=title,
            year=year,
            owner_unit=plan.owner_unit,
            parent=plan.parent if keep_parent else None,
            status=PlanStatus.DRAFT,
            guiding_ideas=plan.guiding_ideas,
        )
        sections: dict[int, Section] = {}
        for section in Section.objects.filter(plan=plan).order_by("order", "pk"):
            sections[section.pk] = Section.objects.create(
                plan=copy, code=section.code, title=section.title, order=section.order, intro=section.intro
            )
        items: dict[int, WorkItem] = {}
        for item in WorkItem.objects.filter(section__plan=plan).order_by("section__order", "number", "pk"):
            items[item.pk] = WorkItem.objects.create(
                section=sections[item.section_id], number=item.number, title=item.title, text=item.text
            )
        last_year = baselines(plan)
        source = list(
            Target.objects.filter(plan=plan)
            .select_related("due_period", "assess_from", "contributes_to", "indicator", "scope", "owner_unit")
            .order_by("section__order", "order", "code", "pk")
        )
        copies: dict[int, Target] = {}
        for target in _document_order(source):
            # An improves target is compared with the same quarter a year earlier by default: last year's actual
            # as a fixed baseline would replace that comparison.
            baseline = last_year.get(target.pk) if target.comparator != Comparator.IMPROVES else None
            milestone_status = ""
            if target.kind == TargetKind.MILESTONE and target.milestone_status:
                milestone_status = MilestoneStatus.NOT_STARTED
            fields: dict[str, Any] = {
                "section": sections[target.section_id],
                "work_item": items.get(target.work_item_id) if target.work_item_id else None,
                "code": target.code,
                "text": target.text,
                "kind": target.kind,
                "indicator": target.indicator,
                "comparator": target.comparator,
                "direction": target.direction,
                "target_value": target.target_value,
                "target_value_max": target.target_value_max,
                "per_unit_minimum": target.per_unit_minimum,
                "baseline_value": baseline[0] if baseline else None,
                "baseline_period": baseline[1] if baseline else None,
                "scope": target.scope,
                "applies_to_each_unit": target.applies_to_each_unit,
                # A per-unit rule's level, rhythm and range reading (issue 13): without them it is not measurable.
                "each_unit_level": target.each_unit_level,
                "rhythm": target.rhythm,
                "range_is_ceiling": target.range_is_ceiling,
                "due_period": _shifted(target.due_period, years, periods),
                "due_date": _shift_date(target.due_date, years),
                # The same months next year; not the completion date (the copy starts over, not started).
                "start_month": target.start_month,
                "due_month": target.due_month,
                "assess_from": _shifted(target.assess_from, years, periods),
                "path_mode": target.path_mode,
                "at_risk_margin": target.at_risk_margin,
                "owner_unit": target.owner_unit,
                "owner_name": target.owner_name,
                "owner_user": target.owner_user,
                "part_of": copies.get(target.part_of_id) if target.part_of_id else None,
                "contributes_to": target.contributes_to if keep_parent else None,
                "milestone_status": milestone_status,
                "order": target.order,
            }
            copies[target.pk] = targets_service.create_target(user, copy, fields, copied_from=target)
        points: dict[int, dict[Period, Decimal | None]] = {}
        for point in TargetPathPoint.objects.filter(target__plan=plan).select_related("period"):
            new_period = _shifted(point.period, years, periods)
            if new_period is not None:
                points.setdefault(point.target_id, {})[new_period] = point.expected_value
        for target_id, target_points in points.items():
            targets_service.set_path_points(user, copies[target_id], target_points)
    return copy
