"""Demo targets: seed 000's targets fully linked, a cascaded district plan, seed 001 from its workbook, and
the current year's plan copied from seed 000 (``load_current_year``).

Called by ``load_demo`` after the plan structure (demo.plans), the figures (demo.submissions) and the
indicators (demo.indicators). Idempotent: targets are matched by code and go through the target service,
which writes nothing when nothing changed. Seed 001 is loaded through ``targets.workbook.import_plan``
from ``data/plan_001.xlsx`` — the same import a bureau uses, no code specific to that plan.
"""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import OutputWrapper
from django.db import transaction
from django.utils import timezone
from openpyxl import load_workbook

from indicators.models import Aggregation, Indicator
from plans.models import Plan, PlanStatus, Section, WorkItem
from schools.models import DesignationKind, OrgUnit
from submissions.models import Period
from targets import plan_copy, targets_service
from targets.models import (
    Comparator,
    EachUnitLevel,
    MilestoneStatus,
    NoteReview,
    PathMode,
    Rhythm,
    Target,
    TargetNote,
)
from targets.progress import recompute_progress
from targets.workbook import TARGET_COLUMNS, TARGET_SHEET, import_plan

DEMO_DATA = Path(__file__).resolve().parent / "data"
PLAN_000 = DEMO_DATA / "plan_000.json"
PLAN_001_XLSX = DEMO_DATA / "plan_001.xlsx"

# The seed's suggested indicator → the indicator code defined by demo.indicators, where they differ.
# A suggestion that is neither here nor an existing indicator code leaves the target unlinked ("no data").
INDICATOR_MAP: dict[str, str] = {}
# Count-of-units targets count designations of a kind (demo.schools' kinds).
DESIGNATION_MAP = {
    "designations_standard_kg": "standard_kg",
    "designations_demo_kg": "model_kg",
    "designations_standard_mgmt_pri": "standard_school",
}
# Targets every school must meet (not only the aggregate).
EVERY_UNIT = {"T10", "T11", "T35"}
# Autumn intake (new entrants, on-time entry, new classes): nothing to judge before the school year starts,
# so these are assessed from Q3 on (起评季度); Q1–Q2 show their value without a status.
AUTUMN_INTAKE = {"T01", "T02", "T07", "T08", "T10", "T13", "T14"}
# Milestones: due date, state, a dated note.
MILESTONES: dict[str, tuple[datetime.date, str, str]] = {
    "T12": (
        datetime.date(2023, 12, 31),
        MilestoneStatus.IN_PROGRESS,
        "资源中心选址已确定，设备采购方案已报市财政局审核。",
    ),
    "T16": (datetime.date(2023, 9, 1), MilestoneStatus.DONE, "第五小学主体及配套工程通过竣工验收，9月1日正式开学。"),
    "T18": (
        datetime.date(2023, 12, 31),
        MilestoneStatus.IN_PROGRESS,
        "柳城中心幼儿园主体完工，梅山中心幼儿园完成招标。",
    ),
    "T21": (datetime.date(2023, 6, 30), MilestoneStatus.BLOCKED, "第二期特殊教育提升计划待市政府常务会审议。"),
    "T41": (datetime.date(2023, 4, 30), MilestoneStatus.DONE, "《2023年小学和幼儿园招生工作意见》已印发。"),
}
# Milestones with a window in the year and the day they were done: "2–4 月" for the enrolment rules (met from
# Q2 on, not in Q1), the new school done on its opening day (met from Q3 on). Their notes report on that day.
MILESTONE_WINDOWS: dict[str, tuple[int | None, int, datetime.date]] = {
    "T41": (2, 4, datetime.date(2023, 4, 20)),
    "T16": (None, 9, datetime.date(2023, 9, 1)),
}
DISTRICT_PLAN = {
    "code": "2023-chuyou-d01",
    "title": "东城区2023年初等与学前教育工作要点",
    "unit": "D01",
    # (code, text, parent target it contributes to)
    "targets": [
        ("D01-T05", "东城区学前一年幼儿入园率达99%以上", "T05"),
        ("D01-T09", "东城区推动5所以上小学通过义务教育管理标准化学校评估验收", "T09"),
    ],
}


def _admin() -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(username="admin").first()
    return user or user_model.objects.filter(is_superuser=True).first()


def _indicator(suggested: str | None) -> Indicator | None:
    if not suggested:
        return None
    if suggested in DESIGNATION_MAP:
        kind = DesignationKind.objects.filter(code=DESIGNATION_MAP[suggested]).first()
        if kind is None:
            return None
        found = Indicator.objects.filter(aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind).first()
        if found is not None:
            return found
        # A designation count needs no figures: define it here if the indicator demo did not.
        return Indicator.objects.get_or_create(
            code=suggested.replace("_", "-")[:60],
            defaults={"name": f"{kind.name}认定数", "aggregation": Aggregation.COUNT_DESIGNATIONS,
                      "designation_kind": kind, "unit": "所", "decimals": 0},
        )[0]  # fmt: skip
    return Indicator.objects.filter(code=INDICATOR_MAP.get(suggested, suggested)).first()


def _fields(spec: dict[str, Any], plan: Plan, periods: dict[str, Period]) -> dict[str, Any]:
    section = Section.objects.get(plan=plan, code=spec["section"])
    kind = spec["kind"]
    value = Decimal(str(spec["target_value"])) if spec.get("target_value") is not None else None
    fields: dict[str, Any] = {
        "section": section,
        "work_item": WorkItem.objects.get(section=section, number=spec["work_item"]) if spec.get("work_item") else None,
        "code": spec["code"],
        "text": spec["text"],
        "kind": kind,
        "comparator": spec.get("comparator") or "",
        "target_value": value,
        "indicator": _indicator(spec.get("suggested_indicator")) if kind not in ("milestone", "narrative") else None,
        "path_mode": PathMode.FLAT if kind in ("threshold", "limit") else PathMode.LINEAR,
        "applies_to_each_unit": spec["code"] in EVERY_UNIT,
        "per_unit_minimum": value if kind == "frequency" else None,
        "due_period": periods.get(spec.get("due") or ""),
        "assess_from": periods.get(f"{plan.year}Q3") if spec["code"] in AUTUMN_INTAKE else None,
        "owner_name": "初幼教科",
        "order": int(spec["code"].lstrip("T")),
    }
    if spec["code"] in MILESTONES:
        due, state, _note = MILESTONES[spec["code"]]
        fields.update(due_date=due, milestone_status=state)
    if spec["code"] in MILESTONE_WINDOWS:
        start, due_month, done_on = MILESTONE_WINDOWS[spec["code"]]
        fields.update(start_month=start, due_month=due_month, completed_on=done_on)
    return fields


def _upsert(user: Any, plan: Plan, fields: dict[str, Any]) -> Target:
    existing = Target.objects.filter(plan=plan, code=fields["code"]).first()
    if existing is None:
        return targets_service.create_target(user, plan, fields)
    return targets_service.update_target(user, existing, fields, version=existing.version, reason="演示数据")


def _load_000(user: Any, plan: Plan) -> int:
    data = json.loads(PLAN_000.read_text(encoding="utf-8"))
    periods = {p.code: p for p in Period.objects.filter(year=plan.year)}
    by_code: dict[str, Target] = {}
    for spec in data["targets"]:
        by_code[spec["code"]] = _upsert(user, plan, _fields(spec, plan, periods))
    for spec in data["targets"]:  # sub-targets ("其中外来生…") once their parents exist
        if spec.get("parent"):
            Target.objects.filter(pk=by_code[spec["code"]].pk).update(part_of=by_code[spec["parent"]])
    for code, (_due, _state, text) in MILESTONES.items():
        target = by_code[code]
        if not TargetNote.objects.filter(target=target, text=text).exists():
            window = MILESTONE_WINDOWS.get(code)
            TargetNote.objects.create(
                target=target, author=user, text=text, review_status=NoteReview.ACCEPTED,
                reported_on=window[2] if window else None,
                milestone_status=MilestoneStatus.DONE if window else "",
            )  # fmt: skip
    q1 = periods.get(f"{plan.year}Q1")
    narrative = by_code.get("T17")
    if q1 is not None and narrative is not None:
        TargetNote.objects.get_or_create(
            target=narrative, period=q1, text="一季度组织全市小学完成教育部系统对标研判，整改清单已下发。",
            defaults={"author": user, "review_status": NoteReview.ACCEPTED},
        )  # fmt: skip
    return len(by_code)


def _load_district(user: Any, parent: Plan) -> Plan:
    unit = OrgUnit.objects.get(code=DISTRICT_PLAN["unit"])
    plan, _ = Plan.objects.get_or_create(
        code=DISTRICT_PLAN["code"],
        defaults={
            "title": DISTRICT_PLAN["title"],
            "year": parent.year,
            "owner_unit": unit,
            "parent": parent,
            "status": PlanStatus.PUBLISHED,
        },  # fmt: skip
    )
    section, _ = Section.objects.get_or_create(plan=plan, code="goals", defaults={"title": "主要目标", "order": 1})
    for code, text, parent_code in DISTRICT_PLAN["targets"]:
        upper = Target.objects.get(plan=parent, code=parent_code)
        value = Decimal(5) if upper.kind == "count_units" else upper.target_value
        fields = {
            "section": section, "code": code, "text": text, "kind": upper.kind, "indicator": upper.indicator,
            "comparator": upper.comparator, "target_value": value, "scope": unit, "path_mode": upper.path_mode,
            "contributes_to": upper, "owner_unit": unit,
        }  # fmt: skip
        _upsert(user, plan, fields)
    return plan


# Per-unit rules at a level and a rhythm, and a target without a number (issue 13 §3):
# (code, text, kind, indicator, scope, extra fields)
PER_UNIT_EXAMPLES: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("PU1", "每个城区创建2-3所示范幼儿园", "count_units", "designations_demo_kg", "CITY",
     {"comparator": Comparator.RANGE, "target_value": Decimal(2), "target_value_max": Decimal(3),
      "applies_to_each_unit": True, "each_unit_level": EachUnitLevel.DISTRICT}),
    ("PU2", "东城区每个学区每月开展一次片区合作教研活动", "frequency", "central_joint_research_per_semester", "D01",
     {"per_unit_minimum": Decimal(1), "rhythm": Rhythm.MONTH, "each_unit_level": EachUnitLevel.TOWNSHIP}),
    ("PU3", "开展示范园创建工作", "count_units", "designations_demo_kg", "CITY", {}),
]  # fmt: skip


def _load_per_unit_examples(user: Any, plan: Plan) -> None:
    section = Section.objects.filter(plan=plan).order_by("order").first()
    if section is None:
        return
    for order, (code, text, kind, indicator_code, scope_code, extra) in enumerate(PER_UNIT_EXAMPLES, start=90):
        indicator = Indicator.objects.filter(code=indicator_code).first()
        scope_unit = OrgUnit.objects.filter(code=scope_code).first()
        if indicator is None or scope_unit is None:
            continue
        fields = {"section": section, "code": code, "text": text, "kind": kind, "indicator": indicator,
                  "scope": scope_unit, "owner_name": "初幼教科", "order": order, **extra}  # fmt: skip
        _upsert(user, plan, fields)


def _missing_indicators(path: Path) -> set[str]:
    """Indicator codes the workbook's targets refer to the bureau has not defined (demo.indicators may skip some)."""
    sheet = load_workbook(path, read_only=True)[TARGET_SHEET]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    column = header.index(dict(TARGET_COLUMNS)["indicator"])
    codes = {str(row[column]) for row in rows if row[column]}
    return codes - set(Indicator.objects.filter(code__in=codes).values_list("code", flat=True))


@transaction.atomic
def load(stdout: TextIO | None = None) -> None:
    user = _admin()
    plan = Plan.objects.filter(code="2023-chuyou").first()
    if user is None or plan is None:
        if stdout:
            stdout.write("plans: demo targets skipped (no demo admin or plan 2023-chuyou)\n")
        return
    count = _load_000(user, plan)
    _load_district(user, plan)
    _load_per_unit_examples(user, plan)
    missing = _missing_indicators(PLAN_001_XLSX)
    if missing:
        # The import is all-or-nothing: say why instead of failing the whole demo.
        if stdout:
            stdout.write(f"plans: plan_001.xlsx skipped, indicators not defined: {', '.join(sorted(missing))}\n")
        return
    with PLAN_001_XLSX.open("rb") as handle:
        county = import_plan(user, handle)
    if stdout:
        linked = Target.objects.filter(plan=plan, indicator__isnull=False).count()
        stdout.write(
            f"plans: {count} targets of {plan.code} ({linked} linked to indicators), district plan "
            f"{DISTRICT_PLAN['code']}, {county.targets.count()} targets of {county.code} imported from plan_001.xlsx\n"
        )


SEED_PLAN_CODE = "2023-chuyou"


def current_year_plan_code(year: int) -> str:
    return f"{year}-chuyou"


def _this_year(text: str, seed_year: int, year: int) -> str:
    """``text`` with the seed year written as a year ("2023年", "2023 年") replaced by ``year``."""
    return re.sub(rf"(?<!\d){seed_year}(?=\s*年)", str(year), text)


def load_current_year(stdout: TextIO | OutputWrapper | None = None) -> Plan | None:
    """This year's plan (from ``timezone.localdate()``): seed 000 copied with its years shifted by the plan copy
    service (the same copy a bureau makes), published, its progress computed. Run after the values are computed:
    each copied target's baseline is the seed year's actual. Idempotent: an existing copy is left as it is."""
    year = timezone.localdate().year
    user = _admin()
    source = Plan.objects.filter(code=SEED_PLAN_CODE).first()
    if user is None or source is None or year <= source.year:
        return None
    code = current_year_plan_code(year)
    plan = Plan.objects.filter(code=code).first()
    if plan is not None:
        return plan
    # The baselines are the seed's actuals: bring its progress up to date first (nothing is rewritten when the
    # recompute's announcement has already done it).
    recompute_progress(target_ids=list(source.targets.values_list("pk", flat=True)))
    with transaction.atomic():
        plan = plan_copy.copy_plan(user, source, code, year, source.title.replace(str(source.year), str(year), 1))
        plan.status = PlanStatus.PUBLISHED
        plan.guiding_ideas = _this_year(plan.guiding_ideas, source.year, year)
        plan.save(update_fields=["status", "guiding_ideas", "updated_at"])
        # The seed's own year in its sentences ("制定2023年…招生工作意见") is this year's in this year's plan.
        for item in WorkItem.objects.filter(section__plan=plan).only("title", "text"):
            WorkItem.objects.filter(pk=item.pk).update(
                title=_this_year(item.title, source.year, year), text=_this_year(item.text, source.year, year)
            )
        for target in plan.targets.only("text"):
            Target.objects.filter(pk=target.pk).update(text=_this_year(target.text, source.year, year))
    recompute_progress(target_ids=list(plan.targets.values_list("pk", flat=True)))
    if stdout:
        baselines = plan.targets.filter(baseline_value__isnull=False).count()
        stdout.write(
            f"plans: {plan.title} ({plan.code}) copied from {source.code}: {plan.targets.count()} targets, "
            f"{baselines} with last year's actual as baseline\n"
        )
    return plan
