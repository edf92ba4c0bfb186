"""The target page: definition, history, drill-down table (sorting, small denominators, filters,
one level down, export) and the failing-unit list; access scope and constant query count."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schools.models import Level, OrgUnit, Ownership, SchoolType
from tests.reports.conftest import add_kindergartens, iv

RATE_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})
LIMIT_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "big-class"})


def table_rows(response) -> list[tuple[str, object, object, object, object]]:  # noqa: ANN001
    return [
        (r.record.code, r.record.value, r.record.numerator, r.record.denominator, r.record.gap)
        for r in response.context["table"].paginated_rows
    ]


def test_it_lists_the_children_of_the_scope_with_their_numbers(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4"})
    assert response.status_code == 200
    # Default order: gap ascending (most behind first). D2: 98.0 − 99 = −1.0; D1: 100.0 − 99 = +1.0.
    assert table_rows(response) == [
        ("D2", Decimal("98"), Decimal("980"), Decimal("1000"), Decimal("-1")),
        ("D1", Decimal("100"), Decimal("1000"), Decimal("1000"), Decimal("1")),
    ]
    html = response.content.decode()
    assert "kg_enrolled" in html  # the formula is shown
    assert "+1.0%" in html
    assert "-1.0%" in html
    assert response.context["row"].actual_text == "99.0%"
    assert [p.actual for p in response.context["row"].trend] == [97, 97.5, 98, 99]
    assert '<svg class="trend trend-large"' in html


def test_sorting_by_gap_descending_puts_the_best_first(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4", "sort": "-gap"})
    assert [row[0] for row in table_rows(response)] == ["D1", "D2"]


def test_clicking_a_district_goes_one_level_down_and_the_breadcrumb_goes_up(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4", "unit": "D1"})
    assert [row[0] for row in table_rows(response)] == ["T1"]
    assert [u.code for u in response.context["breadcrumb"]] == ["CITY", "D1"]
    assert response.context["row"].status == "met"  # Progress row at D1
    top = client.get(RATE_URL, {"period": "2023Q4"}).content.decode()
    assert "?period=2023Q4&amp;unit=D1" in top  # the link in the table


def test_small_denominators_are_flagged_and_sorted_after_ranked_units(client, report, users, tree):
    # given a tiny kindergarten in D2: 5 / 12 = 41.7 %, far below everyone but on 12 children only
    tiny = OrgUnit.objects.create(
        code="K9",
        name="西区小小幼儿园",
        level=Level.SCHOOL,
        parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN,
        ownership=Ownership.PRIVATE,
    )
    iv(report.rate, tiny, report.q4, "5", "12", "41.7")
    client.force_login(users.ivan)
    # when the league table of D2's schools is sorted by gap
    response = client.get(RATE_URL, {"period": "2023Q4", "unit": "D2", "rows": "schools"})
    # then K2 (98.0, gap −1.0) ranks, K9 (gap −57.3) is flagged and listed last, not first
    rows = list(response.context["table"].paginated_rows)
    assert [r.record.code for r in rows] == ["K2", "K9"]
    assert [r.record.is_small for r in rows] == [False, True]
    assert "样本过小（分母 12）" in response.content.decode()


def test_filters_by_ownership_and_school_type(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4", "rows": "schools", "ownership": "inclusive_private"})
    assert [row[0] for row in table_rows(response)] == ["K2"]
    response = client.get(RATE_URL, {"period": "2023Q4", "unit": "D1", "school_type": "primary"})
    assert table_rows(response) == []  # T1 is a 学区, not a primary school


def test_the_failing_units_of_a_zero_tolerance_target_are_listed(client, report, users):
    client.force_login(users.ivan)
    response = client.get(LIMIT_URL, {"period": "2023Q4"})
    # The row lists S3 by code; its value is its own indicator value of the quarter, joined when the page is read.
    assert response.context["failing"] == [{"code": "S3", "value": 1.0, "name": "西区实验小学"}]
    # A D1 reviewer looking from D1: no failing unit there (D1 progress has none).
    client.force_login(users.rita)
    response = client.get(LIMIT_URL, {"period": "2023Q4"})
    assert response.context["unit"].code == "D1"
    assert response.context["failing"] == []


def test_the_export_keeps_the_visible_filters(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4", "rows": "schools", "ownership": "public", "_export": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))  # the CSV starts with a BOM
    assert rows[0][:2] == ["代码", "单位"]
    assert [r[0] for r in rows[1:]] == ["K1"]  # K2 (inclusive private) filtered out
    # value 100.0 (1 decimal like the page), numerator 1000, denominator 1000, gap 100.0 − 99 = +1.0
    assert rows[1][4:8] == ["100.0", "1000", "1000", "1.0"]


def test_hostile_unit_names_stay_text_in_csv_and_xlsx(client, report, users, tree):
    tree.k2.name = '=HYPERLINK("http://evil.example","x")'
    tree.k2.save()
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "rows": "schools", "ownership": "inclusive_private"}
    text = client.get(RATE_URL, {**params, "_export": "csv"}).content.decode()
    assert "'=HYPERLINK" in text  # quoted: a spreadsheet opening the CSV won't evaluate it
    book = openpyxl.load_workbook(io.BytesIO(client.get(RATE_URL, {**params, "_export": "xlsx"}).content))
    cell = book.active["B2"]
    assert cell.value == '=HYPERLINK("http://evil.example","x")'
    assert cell.data_type == "s"


def test_a_principal_cannot_see_another_districts_drilldown(client, report, users):
    client.force_login(users.alice)
    assert client.get(RATE_URL, {"unit": "D2"}).status_code == 404
    assert client.get(RATE_URL, {"unit": "D2", "_export": "csv"}).status_code == 404
    # Without ?unit she starts at her own school, which has no children.
    response = client.get(RATE_URL, {"period": "2023Q4"})
    assert response.context["unit"].code == "S1"
    assert table_rows(response) == []


def test_a_unit_outside_the_targets_scope_is_not_found(client, report, users, tree):
    report.t_rate.scope = tree.d1
    report.t_rate.save()
    client.force_login(users.ivan)
    assert client.get(RATE_URL, {"unit": "D2"}).status_code == 404


def _count(client, params) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(RATE_URL, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_units(client, report, users, tree):
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "unit": "T1"}
    add_kindergartens(tree.t1, 10, report, prefix="KA")
    few = _count(client, params)
    add_kindergartens(tree.t1, 490, report, prefix="KB")
    many = _count(client, params)
    # 13 queries: session, user, target (+ plan, section, indicator, scope, owner, work item, parent
    # target and its plan joined), memberships, the ?unit, periods, table count, table page (one LEFT
    # JOIN for the values and a subquery for the status), progress history, indicator history,
    # breadcrumb, contributing child-plan targets (their progress: one more only when there are some), the
    # bell's unread count.
    assert few == many == 13
