"""Every export writes user-typed text as text: never a live formula, in any workbook or CSV.

Text that begins with = + - @, a tab or a carriage return is what a spreadsheet may evaluate (a
principal's explanation ``=HYPERLINK(…)`` would become a working link in the reviewer's export). For
each export the portal offers — the list pages in XLSX and CSV, the completeness tables, the target
drill-down, the submission template, the plan workbook and the progress workbook — the test puts
each prefix into a field the export writes, opens the file with openpyxl (or parses the CSV) and
checks that the cell is a string showing the typed text: in a workbook a string cell with Excel's
quote prefix (shown as typed, and editing it does not turn it into a formula either), in a CSV the
typed text behind one leading quote (CSV has no cell types), the file starting with a UTF-8 BOM so
Excel reads Chinese right. Re-importing a workbook gives back the typed text (no quote added).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section, WorkItem
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import Figure, Operator, Period, Submission, ValidationRule
from submissions.xlsx import DATA_SHEET, build_template, import_template
from targets.models import Comparator, Target, TargetKind
from targets.workbook import export_plan, import_plan
from tests.conftest import Personas, Tree
from tests.reports.conftest import ReportData, add_kindergartens
from tests.reports.conftest import report as report  # noqa: PLC0414  (the fixture, used by name)
from tests.submissions.conftest import clock as clock  # noqa: PLC0414
from tests.submissions.conftest import setup as setup  # noqa: PLC0414

pytestmark = pytest.mark.django_db

# One payload per dangerous first character; short enough for every field (a period code has 10).
PAYLOADS = ("=2+5", "+2+5", "-2+5", "@SUM(2;5)", "\t=2+5", "\r=2+5")


# --- Checks ---


def _cells(content: bytes) -> Iterator[Any]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


def assert_xlsx_safe(content: bytes, payloads: tuple[str, ...] = PAYLOADS) -> None:
    """Each payload is found, and every cell starting with one is a quote-prefixed string."""
    found: dict[str, int] = {}
    for cell in _cells(content):
        for payload in payloads:
            if isinstance(cell.value, str) and cell.value.startswith(payload):
                assert cell.data_type == "s", (cell.coordinate, cell.value, cell.data_type)
                assert cell.quotePrefix, (cell.coordinate, cell.value)
                found[payload] = found.get(payload, 0) + 1
    assert set(found) == set(payloads), f"missing: {set(payloads) - set(found)}"


def assert_csv_safe(response: Any, payloads: tuple[str, ...] = PAYLOADS) -> list[list[str]]:
    """A UTF-8 CSV with a BOM; each payload is there, always behind one quote, never bare."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    for payload in payloads:
        assert any(cell.startswith("'" + payload) for cell in cells), payload
        assert not any(cell.startswith(payload) for cell in cells), payload
    return rows


def assert_export_safe(client: Client, url: str, params: dict[str, str] | None = None) -> None:
    params = params or {}
    response = client.get(url, {**params, "_export": "xlsx"})
    assert response.status_code == 200
    assert_xlsx_safe(response.content)
    assert_csv_safe(client.get(url, {**params, "_export": "csv"}))


# --- List pages ---


@pytest.fixture
def hostile_units(tree: Tree) -> list[OrgUnit]:
    """Six primary schools of 东区第一学区, each named by one payload."""
    return [
        OrgUnit.objects.create(
            code=f"H{i}",
            name=payload,
            level=Level.SCHOOL,
            parent=tree.t1,
            school_type=SchoolType.PRIMARY,
            ownership=Ownership.PUBLIC,
        )
        for i, payload in enumerate(PAYLOADS)
    ]


def test_the_unit_list_exports_hostile_names_as_text(client: Client, users: Personas, hostile_units) -> None:
    client.force_login(users.bea)
    assert_export_safe(client, reverse("schools:orgunit_list"))


def test_the_plan_list_exports_hostile_titles_as_text(client: Client, users: Personas, tree: Tree) -> None:
    for i, payload in enumerate(PAYLOADS):
        Plan.objects.create(code=f"h{i}", title=payload, year=2030 + i, owner_unit=tree.city)
    client.force_login(users.bea)
    assert_export_safe(client, reverse("plans:plan_list"))


def test_the_figure_and_rule_lists_export_hostile_names_as_text(client: Client, users: Personas, tree: Tree) -> None:
    for i, payload in enumerate(PAYLOADS):
        Figure.objects.create(code=f"h{i}", name=payload, unit=payload)
        ValidationRule.objects.create(
            code=f"h{i}", name=payload, left="a", operator=Operator.LE, right="b", message=payload
        )
    client.force_login(users.bea)
    assert_export_safe(client, reverse("submissions:figure_list"))
    assert_export_safe(client, reverse("submissions:rule_list"))


def test_the_period_list_exports_hostile_codes_as_text(client: Client, users: Personas, tree: Tree) -> None:
    day = datetime.date(2030, 1, 1)
    for i, payload in enumerate(PAYLOADS):
        Period.objects.create(code=payload, year=2030 + i, quarter=1, opens_on=day, due_on=day, locks_on=day)
    client.force_login(users.bea)
    assert_export_safe(client, reverse("submissions:period_list"))


def test_the_indicator_list_exports_hostile_names_as_text(client: Client, users: Personas, tree: Tree) -> None:
    for i, payload in enumerate(PAYLOADS):
        Indicator.objects.create(code=f"h{i}", name=payload, unit=payload[:20], numerator="x")
    client.force_login(users.bea)
    assert_export_safe(client, reverse("indicators:indicator_list"))


def test_the_submission_and_review_lists_export_hostile_explanations_as_text(
    client: Client, users: Personas, setup, hostile_units
) -> None:
    # A principal's explanation key and text are what the reviewer's export writes first.
    for unit, payload in zip(hostile_units, PAYLOADS, strict=True):
        Submission.objects.create(org_unit=unit, period=setup.q1, explanations={payload: payload})
    client.force_login(users.rita)
    params = {"period": str(setup.q1.pk)}
    assert_export_safe(client, reverse("submissions:submission_list"), params)
    assert_export_safe(client, reverse("submissions:review_list"), params)


def test_the_completeness_tables_export_hostile_names_as_text(
    client: Client, users: Personas, setup, tree: Tree
) -> None:
    # Districts name the counts table's rows; the schools the list of units still missing.
    for unit, payload in zip((tree.d1, tree.d2), PAYLOADS[:2], strict=True):
        unit.name = payload
        unit.save()
    for unit, payload in zip((tree.s1, tree.s2, tree.s3, tree.k1), PAYLOADS[2:], strict=True):
        unit.name = payload
        unit.save()
    client.force_login(users.bea)
    url = reverse("submissions:completeness")
    for table, payloads in (("counts", PAYLOADS[:2]), ("missing", PAYLOADS)):
        params = {"period": "2023Q1", "table": table}
        response = client.get(url, {**params, "_export": "xlsx"})
        assert_xlsx_safe(response.content, payloads)
        assert_csv_safe(client.get(url, {**params, "_export": "csv"}), payloads)


def test_the_target_drilldown_exports_hostile_unit_names_as_text(
    client: Client, users: Personas, report: ReportData, tree: Tree
) -> None:
    for unit, payload in zip(add_kindergartens(tree.t1, len(PAYLOADS), report), PAYLOADS, strict=True):
        unit.name = payload
        unit.save()
    client.force_login(users.ivan)
    url = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})
    params = {"period": "2023Q4", "rows": "schools"}
    assert_export_safe(client, url, params)
    # Numbers stay numbers (value 100.0 of each kindergarten), also in the CSV.
    book = openpyxl.load_workbook(io.BytesIO(client.get(url, {**params, "_export": "xlsx"}).content))
    header = [cell.value for cell in book.active[1]]
    values = [row[header.index("指标值")] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(value, int | float) for value in values if value is not None)
    rows = assert_csv_safe(client.get(url, {**params, "_export": "csv"}))
    assert {row[header.index("指标值")] for row in rows[1:]} <= {"100.0", "98.0", "无数据"}


# --- The submission template ---


def test_the_submission_template_writes_hostile_names_as_text_and_still_imports(
    users: Personas, setup, hostile_units
) -> None:
    # Unit names fill column B; figure names (staff-typed) the header row.
    for figure, payload in zip(setup.figures.values(), PAYLOADS, strict=False):
        figure.name = payload
        figure.save()
    content = build_template(users.bea, setup.q1, None)
    assert_xlsx_safe(content)
    sheet = openpyxl.load_workbook(io.BytesIO(content))[DATA_SHEET]
    assert [sheet.cell(row=r, column=2).value for r in range(3, sheet.max_row + 1) if sheet.cell(r, 1).value in
            {u.code for u in hostile_units}] == list(PAYLOADS)  # fmt: skip
    # Uploaded back unchanged: accepted, nothing to store.
    result = import_template(io.BytesIO(content), user=users.bea, period=setup.q1)
    assert result.saved == []


# --- The plan workbook ---


def test_the_plan_workbook_writes_hostile_text_as_text_and_imports_it_back_exactly(users: Personas, tree: Tree) -> None:
    plan = Plan.objects.create(
        code="ph", title=PAYLOADS[0], year=2030, owner_unit=tree.city, status=PlanStatus.DRAFT,
        guiding_ideas=PAYLOADS[1],
    )  # fmt: skip
    section = Section.objects.create(plan=plan, code="s1", title=PAYLOADS[2], intro=PAYLOADS[3], order=1)
    WorkItem.objects.create(section=section, number=1, title=PAYLOADS[4], text=PAYLOADS[5])
    for i, payload in enumerate(PAYLOADS):
        Target.objects.create(
            plan=plan, section=section, code=f"T{i}", text=payload, kind=TargetKind.QUANTITY,
            comparator=Comparator.GTE, target_value=-i, scope=tree.city, owner_name=payload,
        )  # fmt: skip
    content = export_plan(plan)
    assert_xlsx_safe(content)
    # A negative target value is still a number.
    values = [c.value for c in _cells(content) if isinstance(c.value, int | float) and c.value < 0]
    assert sorted(values) == [-5, -4, -3, -2, -1]

    # Round trip: the texts come back as typed (no quote added); tab and CR are surrounding blanks,
    # which the import strips as every form of the portal does.
    plan.title, plan.guiding_ideas = "x", "x"
    plan.save()
    Target.objects.filter(plan=plan).update(text="x", owner_name="x")
    Section.objects.filter(plan=plan).update(title="x", intro="x")
    WorkItem.objects.filter(section__plan=plan).update(title="x", text="x")
    import_plan(users.bea, io.BytesIO(content))
    plan.refresh_from_db()
    section.refresh_from_db()
    item = WorkItem.objects.get(section=section)
    typed = [p.strip() for p in PAYLOADS]
    assert [plan.title, plan.guiding_ideas, section.title, section.intro, item.title, item.text] == typed
    targets = Target.objects.filter(plan=plan).order_by("code")
    assert [t.text for t in targets] == typed
    assert [t.owner_name for t in targets] == typed


# --- The progress workbook ---


def test_the_progress_workbook_writes_hostile_text_as_text(report: ReportData, tree: Tree) -> None:
    from reports.xlsx import build_workbook

    for unit, payload in zip(add_kindergartens(tree.t1, len(PAYLOADS), report), PAYLOADS, strict=True):
        unit.name = payload
        unit.save()
    report.t_rate.text = PAYLOADS[0]
    report.t_rate.owner_name = PAYLOADS[5]
    report.t_rate.save()
    buffer = io.BytesIO()
    build_workbook(report.plan, tree.city, report.q4, buffer)
    assert_xlsx_safe(buffer.getvalue())
