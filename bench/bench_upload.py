"""Benchmark: upload of a 2,000-row district Excel template with 30 figures (goal ≤ 5 s) on PostgreSQL.

Builds its own data in database ``bench_upload`` (created if missing): a bureau "UPB", one district,
2,000 primary schools, 30 integer figures, two validation rules, one open period. Then, for a bureau
admin acting as the district's data clerk: download the template, fill every cell with openpyxl
(not timed), upload it — every row changed, so 60,000 values and history rows are written in one
transaction. Wall time is measured without tracemalloc; peak Python memory in a second, identical
run with tracemalloc on (it slows Python down, so its time is not reported).

    .venv/bin/python bench/bench_upload.py
"""

from __future__ import annotations

import datetime
import io
import random
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_upload"
UNITS = 2000
FIGURES = 30
PREFIX = "UPB"


def _setup_django() -> None:
    from benchdb import setup_django

    setup_django("upload", DB_NAME)


def _arrange():  # noqa: ANN202 - returns model instances typed only after django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from schools.models import Level, Membership, OrgUnit, Ownership, Role, SchoolType, path_segment
    from submissions.models import Figure, Operator, Period, Severity, ValidationRule

    with transaction.atomic():
        bureau, _ = OrgUnit.objects.get_or_create(
            code=PREFIX, defaults={"name": "基准测试教育局", "level": Level.BUREAU}
        )
        district, _ = OrgUnit.objects.get_or_create(
            code=f"{PREFIX}-D", defaults={"name": "基准测试区", "level": Level.DISTRICT, "parent": bureau}
        )
        have = OrgUnit.objects.filter(parent=district).count()
        if have < UNITS:
            schools = OrgUnit.objects.bulk_create(
                OrgUnit(
                    code=f"{PREFIX}-P{i:04d}",
                    name=f"基准测试第{i}小学",
                    level=Level.SCHOOL,
                    school_type=SchoolType.PRIMARY,
                    ownership=Ownership.PUBLIC,
                    parent=district,
                    depth=district.depth + 1,
                )
                for i in range(have, UNITS)
            )
            for school in schools:
                school.path = district.path + path_segment(school.pk)
            OrgUnit.objects.bulk_update(schools, ["path"], batch_size=1000)
        for i in range(1, FIGURES + 1):
            Figure.objects.get_or_create(
                code=f"bench_f{i:02d}",
                defaults={
                    "name": f"基准填报项{i:02d}",
                    "unit": "人",
                    "reported_by_school_types": [SchoolType.PRIMARY],
                    "order": i,
                    "max_value": 100000,
                },
            )
        for left, right in (("bench_f02", "bench_f01"), ("bench_f04", "bench_f03")):
            ValidationRule.objects.get_or_create(
                code=f"bench_{left}_le_{right}",
                defaults={
                    "name": f"{left} ≤ {right}",
                    "left": left,
                    "operator": Operator.LE,
                    "right": right,
                    "severity": Severity.ERROR,
                    "message": "不能超过",
                },
            )
        today = datetime.date.today()
        period, _ = Period.objects.get_or_create(
            year=today.year,
            quarter=(today.month - 1) // 3 + 1,
            defaults={
                "code": f"{today.year}Q{(today.month - 1) // 3 + 1}",
                "opens_on": today - datetime.timedelta(days=1),
                "due_on": today + datetime.timedelta(days=30),
                "locks_on": today + datetime.timedelta(days=60),
            },
        )
        user, created = get_user_model().objects.get_or_create(username="bench_upload_admin")
        if created:
            user.set_unusable_password()
            user.save()
        Membership.objects.get_or_create(user=user, org_unit=bureau, role=Role.BUREAU_ADMIN)
    return district, period, user


def _reset(period, district) -> None:  # noqa: ANN001
    from submissions.models import Submission, SubmissionHistory, Value

    scope = {"submission__period": period, "submission__org_unit__path__startswith": district.path}
    SubmissionHistory.objects.filter(**scope).delete()
    Value.objects.filter(**scope).delete()
    Submission.objects.filter(period=period, org_unit__path__startswith=district.path).delete()


def _fill(content: bytes, seed: int) -> bytes:
    from openpyxl import load_workbook

    from submissions.xlsx import DATA_SHEET, FIRST_DATA_ROW, FIRST_FIGURE_COL

    rng = random.Random(seed)
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[DATA_SHEET]
    for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + UNITS):
        values = [rng.randint(0, 5000) for _ in range(FIGURES)]
        values[1] = min(values[1], values[0])  # the two rules hold: f02 ≤ f01, f04 ≤ f03
        values[3] = min(values[3], values[2])
        for offset, value in enumerate(values):
            sheet.cell(row=row, column=FIRST_FIGURE_COL + offset, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run() -> list[dict[str, object]]:
    _setup_django()
    from submissions.models import Value
    from submissions.xlsx import build_template, import_template

    district, period, user = _arrange()
    _reset(period, district)

    started = time.perf_counter()
    template = build_template(user, period, district)
    download_s = time.perf_counter() - started
    filled = _fill(template, seed=1)

    # Time workflow.save_batch (the shared validation + bulk write) apart from the file handling.
    from submissions import workflow

    save_batch = workflow.save_batch
    spent: list[float] = []

    def timed_save_batch(*args: object, **kwargs: object) -> object:
        begun = time.perf_counter()
        try:
            return save_batch(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - begun)

    workflow.save_batch = timed_save_batch
    try:
        started = time.perf_counter()
        result = import_template(io.BytesIO(filled), user=user, period=period)
        upload_s = time.perf_counter() - started
    finally:
        workflow.save_batch = save_batch
    stored = Value.objects.filter(submission__period=period, submission__org_unit__path__startswith=district.path)
    if len(result.saved) != UNITS or stored.count() != UNITS * FIGURES:
        raise RuntimeError("the upload did not store every value")

    _reset(period, district)
    user = type(user).objects.get(pk=user.pk)  # fresh scope cache
    tracemalloc.start()
    import_template(io.BytesIO(filled), user=user, period=period)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    _reset(period, district)

    note = f"{UNITS} rows × {FIGURES} figures, every row changed ({UNITS * FIGURES} values + history rows)"
    return [
        {
            "name": "Excel upload, 2,000-row district template",
            "value": round(upload_s, 2),
            "unit": "s",
            "goal": "≤ 5 s",
            "note": note,
        },
        {
            "name": "Excel upload, of which workflow.save_batch (validate + bulk write + commit)",
            "value": round(sum(spent), 2),
            "unit": "s",
        },
        {
            "name": "Excel upload, peak Python memory (tracemalloc)",
            "value": round(peak / 1048576, 1),
            "unit": "MB",
            "note": note,
        },
        {"name": "Excel template download, 2,000 units × 30 figures", "value": round(download_s, 2), "unit": "s"},
        {"name": "Excel template size, 2,000 × 30 filled", "value": round(len(filled) / 1024), "unit": "KB"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if "goal" in row else ""))
