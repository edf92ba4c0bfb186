"""Generate plan_001.xlsx (the plan import workbook) from plan_001.json.

Run from the project root: ``.venv/bin/python demo/data/make_plan_001_xlsx.py``. The demo loads
the .xlsx through ``targets.workbook.import_plan`` — the same path a bureau uses — so the second demo
plan proves a plan needs data, not code. Commit both files after running it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")  # no database or secret needed: only the column definitions are read

import django  # noqa: E402

django.setup()

from openpyxl import Workbook  # noqa: E402

from demo.plans import TRADITIONAL_NOTE  # noqa: E402
from targets.workbook import (  # noqa: E402
    ITEM_COLUMNS,
    ITEM_SHEET,
    PLAN_FIELDS,
    PLAN_SHEET,
    SECTION_COLUMNS,
    SECTION_SHEET,
    TARGET_COLUMNS,
    TARGET_SHEET,
)

# The seed's suggested indicator → an indicator code the bureau has defined (the demo indicators of
# demo.indicators). Unmapped suggestions stay blank: the target is entered and shows "no data" until
# bureau staff link an indicator in the browser.
INDICATOR_MAP: dict[str, str] = {
    # The county's gross rates are the demo's rates (one definition each, not a copy under a second name). Its
    # 学生巩固率 covers compulsory education, which the demo's primary-only figures cannot measure: left blank.
    "kg_3yr_gross_rate": "kg_3yr_rate",
    "kg_1yr_gross_rate": "kg_preschool_1yr_rate",
    "special_disabled_enrolment_rate": "special_disabled_enrolment_rate",
}
OWNER_UNIT = "CITY"


def build(source: Path, target: Path, indicator_map: dict[str, str]) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = PLAN_SHEET
    sheet.append(["项目", "内容"])
    meta = {
        "code": data["code"],
        "title": data["title"],
        "year": data["year"],
        "owner_unit": OWNER_UNIT,
        "parent": "",
        "status": "已发布",
        "guiding_ideas": f"{TRADITIONAL_NOTE}\n\n{data.get('guiding_ideas', '')}",
    }
    for name, header in PLAN_FIELDS:
        sheet.append([header, meta[name]])

    sheet = workbook.create_sheet(SECTION_SHEET)
    sheet.append([h for _n, h in SECTION_COLUMNS])
    items = workbook.create_sheet(ITEM_SHEET)
    items.append([h for _n, h in ITEM_COLUMNS])
    for section in data["sections"]:
        sheet.append([section["code"], section["title"], section["order"], section.get("intro", "")])
        for item in section.get("work_items", []):
            items.append([section["code"], item["number"], item["title"], item["text"]])

    sheet = workbook.create_sheet(TARGET_SHEET)
    headers = [name for name, _h in TARGET_COLUMNS]
    sheet.append([h for _n, h in TARGET_COLUMNS])
    for order, spec in enumerate(data["targets"], start=1):
        kind = spec["kind"]
        comparator = spec.get("comparator") or ("gte" if kind == "threshold" else "")
        row = {
            "code": spec["code"],
            "section": spec["section"],
            "work_item": spec.get("work_item"),
            "text": spec["text"],
            "kind": kind,
            "indicator": indicator_map.get(spec.get("suggested_indicator") or "", ""),
            "comparator": comparator,
            "target_value": spec.get("target_value"),
            "per_unit_minimum": spec.get("target_value") if kind == "frequency" else None,
            "due_period": spec.get("due") or "",
            "part_of": spec.get("parent") or "",
            "path_mode": "flat" if kind in ("threshold", "limit") else "linear",
            "order": order,
        }
        sheet.append([row.get(name) for name in headers])
    workbook.save(target)


if __name__ == "__main__":
    build(HERE / "plan_001.json", HERE / "plan_001.xlsx", INDICATOR_MAP)
    sys.stdout.write(f"wrote {HERE / 'plan_001.xlsx'}\n")
