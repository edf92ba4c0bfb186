"""The Excel progress workbook: its numbers equal the pages' cell by cell, hostile text stays
text, and the sheets are set up for reading and printing (frozen headers, filters, A4)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from portal.xlsx import display_width
from reports.xlsx import count_rows
from tests.reports.conftest import add_kindergartens

API_URL = "/api/v1/plans/p2023/export.xlsx"


@pytest.fixture
def book(client, report, users):  # noqa: ANN001, ANN201
    client.force_login(users.ivan)
    response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(response.content))


def dec(value: object) -> Decimal:
    return Decimal(str(value))


def test_it_has_an_overview_a_sheet_per_section_drilldowns_and_data(book):
    assert book.sheetnames == ["概览", "教育公平", "教育质量", "明细-big-class", "指标数据"]


def test_the_section_sheets_match_the_dashboard_cell_by_cell(client, book, users):
    page = client.get(reverse("reports:dashboard"), {"plan": "p2023", "scope": "CITY", "period": "2023Q4"})
    rows = {row.target.code: row for row in page.context["dash"].rows}
    sheet = book["教育公平"]
    header = [c.value for c in sheet[3]]
    assert header[:7] == ["代码", "目标原文", "类型", "指标", "基线", "比较", "目标值"]
    cells = dict(zip(header, sheet[4], strict=True))
    row = rows[cells["代码"].value]
    assert cells["目标原文"].value == row.target.text
    # Percent indicator: 99.0 % on the page is 0.99 in a "0.0%" cell.
    assert dec(cells["当前值"].value) * 100 == row.actual
    assert cells["当前值"].number_format == "0.0%"
    assert dec(cells["预期值"].value) * 100 == row.expected
    assert dec(cells["目标值"].value) * 100 == row.target.target_value
    assert dec(cells["基线"].value) * 100 == Decimal("96.5")
    assert [dec(cells[q].value) * 100 for q in ("Q1", "Q2", "Q3", "Q4")] == [p.actual for p in row.trend]
    assert cells["状态"].value == row.status_label == "已达成"
    assert cells["状态"].fill.fgColor.rgb.endswith("C6EFCE")  # green, and the word is there too
    assert cells["责任单位"].value == row.owner
    limit = {h: c.value for h, c in zip(header, book["教育质量"][4], strict=True)}
    assert limit["当前值"] == 1  # count of schools, not a percent
    assert limit["状态"] == "滞后"
    assert limit["最新进展"] == "西区实验小学仍有 1 个大班，秋季分班后消除"


def test_the_overview_counts_statuses_and_charts_the_rate_targets(book):
    sheet = book["概览"]
    assert sheet["A1"].value == "2023年初等与学前教育工作要点"
    assert "2023Q4" in sheet["A2"].value
    counts = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=2).value for r in range(5, 12)}
    assert counts == {"已达成": 1, "正常推进": 0, "有风险": 0, "滞后": 1, "无数据": 0, "未评估": 0, "合计": 2}
    # Quarterly data block of the chart: header row 14, Q1..Q4 in rows 15..18.
    assert [sheet.cell(row=r, column=1).value for r in range(15, 19)] == ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
    assert [dec(sheet.cell(row=r, column=2).value) * 100 for r in range(15, 19)] == [97, Decimal("97.5"), 98, 99]
    assert len(sheet._charts) == 1


def test_the_drilldown_sheet_matches_the_drilldown_page(client, book, users):
    page = client.get(
        reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "big-class"}),
        {"period": "2023Q4", "rows": "schools", "sort": "code"},
    )
    shown = {r.record.code: r.record.value for r in page.context["table"].paginated_rows}
    sheet = book["明细-big-class"]
    in_sheet = {row[0]: row[7] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert set(in_sheet) == set(shown) == {"S1", "S2", "K1", "S3", "K2"}
    # Only S3 has a value (1 school with a big class); the others have no indicator value.
    assert {code: None if v is None else dec(v) for code, v in in_sheet.items()} == shown


def test_the_data_sheet_lists_every_indicator_value_of_the_period(book):
    sheet = book["指标数据"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    by_key = {(r[0], r[2]): r for r in rows}
    # 6 kg_rate values + 4 big_classes values in 2023Q4.
    assert len(rows) == 10
    city = by_key[("kg_rate", "CITY")]
    assert (dec(city[6]), dec(city[7]), dec(city[8]) * 100) == (1980, 2000, 99)


def test_sheets_are_frozen_filtered_and_print_on_a4_landscape(book):
    sheet = book["教育公平"]
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:P4"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4 in the OOXML paper size table
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$1:$3"
    assert (sheet.page_margins.left, sheet.page_margins.right) == (0.4, 0.4)


def test_a_section_sheet_prints_legibly_on_one_a4_landscape_width(book):
    """Fitted to one page width, the scale is printable width ÷ sheet width: 16 columns adding up to ~300
    characters printed at ~45 % (5 pt); held to SECTION_PRINT_WIDTH they print at about 80 %."""
    from reports.xlsx import SECTION_PRINT_WIDTH

    for name in ("教育公平", "教育质量"):
        sheet = book[name]
        widths = [sheet.column_dimensions[chr(ord("A") + i)].width for i in range(16)]
        assert sum(widths) <= SECTION_PRINT_WIDTH, (name, widths)
        # Excel's width unit is about 7 px (+5 px padding per column) at 96 dpi; A4 landscape minus margins.
        sheet_px = sum(7 * width + 5 for width in widths)
        page_px = (11.69 - sheet.page_margins.left - sheet.page_margins.right) * 96
        assert page_px / sheet_px >= 0.75, (name, round(page_px / sheet_px, 2))
        # Long texts wrap in their cells instead of running over the next column (类型, 指标, 责任单位, notes).
        header = [c.value for c in sheet[3]]
        for row in sheet.iter_rows(min_row=4):
            cells = dict(zip(header, row, strict=True))
            assert cells["目标原文"].alignment.wrap_text
            assert cells["类型"].alignment.wrap_text
            assert cells["类型"].alignment.vertical == "top"
            # A row whose wrapped text needs two lines or more is made tall enough for it (LibreOffice does not
            # grow it by itself): one line is 15 pt.
            lines = max(
                -(
                    -display_width(str(cells[name].value or ""))
                    // max(1, int(sheet.column_dimensions[letter].width) - 1)
                )
                for name, letter in (("目标原文", "B"), ("类型", "C"))
            )
            height = sheet.row_dimensions[row[0].row].height
            assert (height or 15) >= 15 * lines, (cells["代码"].value, height, lines)


def test_the_overview_chart_draws_straight_lines_with_its_axes(client, report, users):
    """A series without smooth="0" is drawn as a smoothed curve (a 99 % rate overshot to 112 %)."""
    import zipfile

    client.force_login(users.ivan)
    response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"})
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        assert charts
        xml = archive.read(charts[0]).decode()
    # openpyxl writes the chart namespace as the default one (no "c:" prefix).
    assert xml.count("<ser>") >= 1
    assert xml.count('<smooth val="0"/>') == xml.count("<ser>")
    assert '<delete val="1"/>' not in xml
    assert xml.count('<delete val="0"/>') == 2


def test_text_that_looks_like_a_formula_is_written_as_text(client, report, users, tree):
    hostile = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", '=HYPERLINK("http://evil.example")']
    report.t_rate.text = hostile[0]
    report.t_rate.owner_name = hostile[1]
    report.t_rate.save()
    report.rate.name = hostile[2]
    report.rate.save()
    tree.k2.name = hostile[3]
    tree.k2.save()
    tree.s3.name = hostile[4]
    tree.s3.save()
    client.force_login(users.ivan)
    book = openpyxl.load_workbook(io.BytesIO(client.get(API_URL, {"scope": "CITY", "period": "2023Q4"}).content))
    found = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in hostile:
                    found.setdefault(cell.value, []).append(cell.data_type)
    assert set(found) == set(hostile)
    assert all(types == ["s"] * len(types) for types in found.values())  # never "f"


def test_count_rows_counts_targets_drilldown_rows_and_values(report, tree):
    # 2 targets + 5 schools in the big-class drill-down + 10 indicator values in 2023Q4 = 17.
    assert count_rows(report.plan, tree.city, report.q4) == 17
    add_kindergartens(tree.t1, 3, report)
    # + 3 kindergartens in the drill-down (no big-class filter) + 3 kg_rate values = 23.
    assert count_rows(report.plan, tree.city, report.q4) == 23


def _workbook_queries(report, tree) -> int:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.xlsx import build_workbook

    with CaptureQueriesContext(connection) as ctx:
        build_workbook(report.plan, tree.city, report.q4, io.BytesIO())
    return len(ctx.captured_queries)


def test_the_workbook_reads_in_batches_not_per_unit(report, tree):
    add_kindergartens(tree.t1, 10, report, prefix="KA")
    few = _workbook_queries(report, tree)
    add_kindergartens(tree.t1, 490, report, prefix="KB")
    many = _workbook_queries(report, tree)
    # 9 queries: periods, covering targets, their progress, values at the scope; big-class drill-down:
    # its row count (does it fit Excel's row limit?) and one query (read through a cursor in batches); data
    # sheet: its row count, indicators, one query for the values. One query per sheet whatever the number of
    # units (keyset batches re-joined the subtree each time).
    assert few == many == 9


def test_the_workbook_agrees_with_the_progress_api(client, book, users):
    api = client.get("/api/v1/plans/p2023/targets/kg-rate/progress/", {"by": "children"}).json()
    by_period = {p["period"]: p for p in api["periods"]}
    header = [c.value for c in book["教育公平"][3]]
    cells = dict(zip(header, [c.value for c in book["教育公平"][4]], strict=True))
    # Q1..Q4 actuals of the scope (CITY): 97.0, 97.5, 98.0, 99.0 in both.
    for quarter in ("Q1", "Q2", "Q3", "Q4"):
        assert round(float(cells[quarter]) * 100, 1) == by_period[f"2023{quarter}"]["actual"]
    assert cells["状态"] == {"met": "已达成"}[by_period["2023Q4"]["status"]]
    # Children in the API = the districts' rows of the data sheet (D1 100.0, D2 98.0).
    data = {(r[0], r[2]): r for r in book["指标数据"].iter_rows(min_row=4, values_only=True)}
    for child in by_period["2023Q4"]["children"]:
        assert round(float(data[("kg_rate", child["org_unit"])][8]) * 100, 1) == child["actual"]


def _rows(book, name):  # noqa: ANN001, ANN202
    return [tuple(c.value for c in row) for row in book[name].iter_rows(min_row=4)]


def test_a_sheet_past_the_row_limit_continues_on_numbered_sheets(report, tree, monkeypatch):
    from reports import xlsx

    whole = io.BytesIO()
    xlsx.build_workbook(report.plan, tree.city, report.q4, whole)
    unsplit = openpyxl.load_workbook(whole)
    # 3 header rows + 4 data rows per sheet: the 10 values take 3 sheets (4, 4, 2), the 5 schools 2 (4, 1).
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 7)
    split = io.BytesIO()
    written = xlsx.build_workbook(report.plan, tree.city, report.q4, split)
    book = openpyxl.load_workbook(split)
    assert book.sheetnames == [
        "概览", "教育公平", "教育质量", "明细-big-class", "明细-big-class (2)",
        "指标数据", "指标数据 (2)", "指标数据 (3)",
    ]  # fmt: skip
    assert [len(_rows(book, name)) for name in ("指标数据", "指标数据 (2)", "指标数据 (3)")] == [4, 4, 2]
    assert [len(_rows(book, name)) for name in ("明细-big-class", "明细-big-class (2)")] == [4, 1]
    # The parts, in order, are the unsplit sheet: no row lost or repeated.
    data = [row for name in ("指标数据", "指标数据 (2)", "指标数据 (3)") for row in _rows(book, name)]
    assert data == _rows(unsplit, "指标数据")
    drill = [row for name in ("明细-big-class", "明细-big-class (2)") for row in _rows(book, name)]
    assert drill == _rows(unsplit, "明细-big-class")
    assert written == 2 + 5 + 10  # section rows + drill-down rows + data rows, as before
    # Each part says it is one and why.
    assert "第 2/3 部分" in book["指标数据 (2)"]["A2"].value
    assert "1,048,576" not in book["指标数据 (2)"]["A2"].value  # the limit in force (lowered here) is the one quoted
    assert "部分：" not in unsplit["指标数据"]["A2"].value
