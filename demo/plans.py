"""The demo plan: seed 000 (2023年初等与学前教育工作要点), sections and work items verbatim.

The targets of the plan are loaded by ``demo.targets``. Idempotent: matched by codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from django.db import transaction

from plans.models import Plan, PlanStatus, Section, WorkItem
from schools.models import OrgUnit

DEMO_DATA = Path(__file__).resolve().parent / "data"
DEMO_PLAN_FILE = DEMO_DATA / "plan_000.json"
# Seed 001 (data/plan_001.xlsx) keeps the county's own traditional characters; its guiding ideas open with this.
TRADITIONAL_NOTE = "【说明】本计划按原文件录入，保留原文繁体字，未转为简体。"


def read_plan_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@transaction.atomic
def load_structure(data: dict[str, Any], owner: OrgUnit, status: str = PlanStatus.PUBLISHED) -> Plan:
    """Create or update a plan with its sections and work items from the seed JSON structure."""
    plan, _ = Plan.objects.update_or_create(
        code=data["code"],
        defaults={
            "title": data["title"],
            "year": data["year"],
            "owner_unit": owner,
            "status": status,
            "guiding_ideas": data.get("guiding_ideas", ""),
        },
    )
    for section_data in data["sections"]:
        section, _ = Section.objects.update_or_create(
            plan=plan,
            code=section_data["code"],
            defaults={
                "title": section_data["title"],
                "order": section_data["order"],
                "intro": section_data.get("intro", ""),
            },
        )
        for item in section_data.get("work_items", []):
            WorkItem.objects.update_or_create(
                section=section,
                number=item["number"],
                defaults={"title": item["title"], "text": item["text"]},
            )
    return plan


def load(stdout: TextIO | None = None) -> Plan:
    plan = load_structure(read_plan_file(DEMO_PLAN_FILE), OrgUnit.objects.get(code="CITY"))
    if stdout:
        items = WorkItem.objects.filter(section__plan=plan).count()
        stdout.write(f"plans: {plan.title} — {plan.sections.count()} sections, {items} work items\n")
    return plan
