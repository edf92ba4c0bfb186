"""Reports say which values are carried forward from an earlier quarter (``IndicatorValue.carried_units``, issue 14):
the dashboard, the unit page and the workbook's detail sheet (the league table: tests/reports/test_league_table.py)."""

from __future__ import annotations

import io

import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators.models import IndicatorValue

NOTE = "含 3 个单位沿用此前季度的数据"


def _carry(report, unit, n: int, indicator=None) -> None:  # noqa: ANN001
    IndicatorValue.objects.filter(indicator=indicator or report.rate, org_unit=unit, period=report.q4).update(
        carried_units=n
    )


def test_the_dashboard_says_how_many_units_carry_a_value_forward(client, report, users, tree):
    client.force_login(users.ivan)
    url = reverse("reports:dashboard")
    params = {"plan": "p2023", "scope": "CITY", "period": "2023Q4"}
    assert NOTE not in client.get(url, params).content.decode()
    _carry(report, tree.city, 3)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    html = response.content.decode()
    assert NOTE in html
    rows = {row.target.code: row for row in response.context["dash"].rows}
    assert (rows["kg-rate"].carried_units, rows["big-class"].carried_units) == (3, 0)
    # No extra query: the count comes with the values the dashboard reads anyway.
    _carry(report, tree.city, 0)
    with CaptureQueriesContext(connection) as again:
        client.get(url, params)
    assert len(ctx.captured_queries) == len(again.captured_queries)


def test_the_unit_page_marks_a_districts_count_and_a_schools_own_value(client, report, users, tree):
    _carry(report, tree.d1, 3)
    _carry(report, tree.k1, 1)
    client.force_login(users.ivan)
    district = client.get(reverse("reports:unit_detail", kwargs={"code": "D1"}), {"period": "2023Q4"})
    assert NOTE in district.content.decode()
    school = client.get(reverse("reports:unit_detail", kwargs={"code": "K1"}), {"period": "2023Q4"}).content.decode()
    assert "沿用此前季度的数据" in school
    assert "含 1 个单位" not in school  # a school's own value says so plainly


def test_the_workbook_detail_sheet_notes_carried_values(client, report, users, tree):
    _carry(report, tree.s3, 1, indicator=report.big)
    client.force_login(users.ivan)
    response = client.get("/api/v1/plans/p2023/export.xlsx", {"scope": "CITY", "period": "2023Q4"})
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    notes = {row[0]: row[10] for row in book["明细-big-class"].iter_rows(min_row=4, values_only=True)}
    assert notes["S3"] == "沿用此前季度的数据（1 个单位）"
    assert notes["S1"] is None
