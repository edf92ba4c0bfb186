"""Indicator pages: list, detail with latest values, create/edit form, explanation page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators import engine
from indicators.models import Indicator
from schools.models import Level, OrgUnit, SchoolType
from tests.indicators.engine_data import figure, indicator, period, report, stock, value

D = Decimal


@pytest.fixture
def rate(tree):
    figure("kg_enrolled_3_5")
    stock("pop_age_3_5")
    ind = indicator(
        "kg_3yr_rate", "kg_enrolled_3_5", "pop_age_3_5", factor=100, unit_filter_school_types=["kindergarten"]
    )
    ind.unit, ind.decimals = "%", 1  # a rate as the demo's are: one decimal and a % sign
    ind.save(update_fields=["unit", "decimals"])
    q1 = period(2023, 1)
    report(tree.k1, q1, kg_enrolled_3_5=90)
    report(tree.k2, q1, kg_enrolled_3_5=50)
    report(tree.d1, q1, pop_age_3_5=100)
    report(tree.d2, q1, pop_age_3_5=40)
    engine.full_recompute()
    return ind


def test_list_page_query_count_does_not_grow_with_indicators(client, users, rate, django_assert_num_queries):
    client.force_login(users.bea)
    url = reverse("indicators:indicator_list")
    # Queries: session, user, memberships (nav + can_edit), count of indicators, the page of indicators
    # with their target counts (one query with an aggregate) — counted once, compared for 1 vs 12 rows.
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(11):
        indicator(f"extra_{i}", "kg_enrolled_3_5")
    with django_assert_num_queries(len(few)):
        response = client.get(url)
    assert "extra_10" in response.content.decode()


def test_detail_page_shows_values_with_constant_queries(client, users, rate, tree):
    client.force_login(users.ivan)
    url = reverse("indicators:indicator_detail", kwargs={"code": "kg_3yr_rate"})
    # Queries: session, user, memberships; indicator; periods with values; latest period (id, then row);
    # top units; the page of values with unit/period/indicator joined, and its count.
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "125.0%" in page  # D2: 50 / 40 × 100, in the indicator's decimals (was a fixed "125.00")
    for i in range(10):  # ten more districts under CITY, each with a value row
        extra = OrgUnit.objects.create(code=f"DX{i}", name=f"区{i}", level=Level.DISTRICT, parent=tree.city)
        report(extra, period(2023, 1), pop_age_3_5=10)
    engine.full_recompute()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many) == len(few)
    assert "区9" in response.content.decode()


def test_create_form_refuses_a_bad_expression_with_its_position(client, users, rate):
    client.force_login(users.bea)
    form = {"code": "x", "name": "y", "aggregation": "sum", "factor": 1, "decimals": 0}
    response = client.post(reverse("indicators:indicator_create"), {**form, "numerator": "kg_enrolled_3_5 * (2"})
    assert response.status_code == 200
    assert "第 21 个字符处：此处应为“)”" in response.content.decode()
    assert not Indicator.objects.filter(code="x").exists()


def test_create_form_saves_and_computes(client, users, rate, tree, django_capture_on_commit_callbacks):
    client.force_login(users.bea)
    form = {
        "code": "kg_sum",
        "name": "在园幼儿",
        "aggregation": "sum",
        "numerator": "kg_enrolled_3_5",
        "factor": "1",
        "decimals": 0,
        "unit_filter_school_types": [SchoolType.KINDERGARTEN],
        "is_active": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("indicators:indicator_create"), form)
    assert response.status_code == 302
    assert value(Indicator.objects.get(code="kg_sum"), tree.city, period(2023, 1)) == D(140)


def test_edit_form_is_for_bureau_admins_only(client, users, rate):
    client.force_login(users.rita)
    assert client.get(reverse("indicators:indicator_update", kwargs={"code": "kg_3yr_rate"})).status_code == 403


def test_explanation_page_lists_units_and_figures(client, users, rate):
    client.force_login(users.ivan)
    url = reverse("indicators:indicator_value_detail", kwargs={"code": "kg_3yr_rate", "unit": "D1", "period": "2023Q1"})
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "pop_age_3_5" in page
    assert "东区第一幼儿园" in page
    assert "90.0%" in page  # 90 / 100 × 100, in the indicator's decimals (was a fixed "90.0000")


def test_explanation_page_outside_scope_is_404(client, users, rate):
    client.force_login(users.rob)
    url = reverse("indicators:indicator_value_detail", kwargs={"code": "kg_3yr_rate", "unit": "D1", "period": "2023Q1"})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(("factor", "shown"), [("100", "× 100"), ("1000.00", "× 1000"), ("0.5", "× 0.5"), ("1", "")])
def test_the_formula_shows_the_factor_as_a_plain_number(factor: str, shown: str) -> None:
    from indicators.tables import formula_text

    rate = Indicator(code="r", numerator="a", denominator="b", factor=Decimal(factor))
    # Decimal("100").normalize() prints as "1E+2": the list page showed "× 1E+2" for every percentage.
    assert formula_text(rate) == f"Σ(a) ÷ Σ(b) {shown}".rstrip()


def test_english_pages_show_the_indicators_english_name_where_it_has_one(client, users, rate):
    Indicator.objects.filter(pk=rate.pk).update(name="学前三年毛入园率", name_en="Gross three-year preschool rate")
    client.force_login(users.bea)
    chinese = client.get(reverse("indicators:indicator_list")).content.decode()
    assert "学前三年毛入园率" in chinese
    assert "Gross three-year preschool rate" not in chinese
    client.cookies["django_language"] = "en"
    for url in (reverse("indicators:indicator_list"), rate.get_absolute_url()):
        english = client.get(url).content.decode()
        assert "Gross three-year preschool rate" in english, url
        assert "学前三年毛入园率" not in english, url
