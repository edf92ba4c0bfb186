"""Smoke tests of the drill-down table (renders, sorts by every orderable column) and the SVG charts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import RequestFactory

from portal.xlsx import safe_text
from targets.charts import progress_bar_svg, trend_svg
from targets.queries import QuarterPoint, drilldown_queryset
from targets.tables import DrilldownTable, plain

ORDERABLE = ["code", "name", "school_type", "ownership", "value", "numerator", "denominator", "gap", "status"]


@pytest.mark.parametrize("column", ORDERABLE)
@pytest.mark.parametrize("prefix", ["", "-"])
def test_the_drilldown_table_renders_sorted_by_every_column(report, tree, column, prefix):
    qs = drilldown_queryset(report.t_rate, tree.city, report.q4, rows="schools")
    table = DrilldownTable(qs, decimals=1, unit="%", order_by=(prefix + column,))
    request = RequestFactory().get("/")
    html = table.as_html(request)
    # The indicator covers kindergartens only: K1 and K2, whatever the order; K1 shows 100.0 %.
    assert sorted(row.record.code for row in table.rows) == ["K1", "K2"]
    assert "100.0%" in html


def test_the_gap_sort_always_puts_flagged_rows_last(report, tree):
    qs = drilldown_queryset(report.t_rate, tree.city, report.q4, rows="schools").filter(code__in=["K1", "K2"])
    ordered, _ = DrilldownTable(qs)._order(qs, "gap", is_descending=True)
    assert [u.code for u in ordered] == ["K1", "K2"]  # +1.0 then −1.0; no small denominators here


def test_a_trend_chart_escapes_its_text_and_draws_actual_expected_and_target():
    points = [
        QuarterPoint("2023Q1", "<Q1>", Decimal("97"), Decimal("97.5")),
        QuarterPoint("2023Q2", "Q2", None, Decimal("98")),
        QuarterPoint("2023Q3", "Q3", Decimal("98"), Decimal("98.5")),
    ]
    svg = str(trend_svg(points, Decimal("99"), decimals=1, unit="%", axis=True))
    assert "<Q1>" not in svg
    assert "&lt;Q1&gt;" in svg
    assert svg.count('class="trend-actual"') == 1  # one line through Q1 and Q3 (Q2 missing)
    assert 'class="trend-expected"' in svg
    assert 'class="trend-goal"' in svg
    assert "目标 99.0%" in svg  # text alternative for screen readers and printouts


def test_a_trend_without_any_number_says_no_data():
    assert "无数据" in str(trend_svg([QuarterPoint("2023Q1", "Q1", None, None)], None))


def test_the_progress_bar_is_clamped_to_its_width():
    assert 'class="bar-fill" width="100.0"' in str(progress_bar_svg(140))
    assert 'class="bar-fill" width="0.0"' in str(progress_bar_svg(-5))
    assert str(progress_bar_svg(None)) == ""


def test_export_helpers_neutralise_formulas_and_trim_zeros():
    assert safe_text("=1+1") == "'=1+1"
    assert safe_text("东区") == "东区"
    assert plain(Decimal("1000.000000")) == Decimal("1000")
    assert str(plain(Decimal("12.500000"))) == "12.5"
