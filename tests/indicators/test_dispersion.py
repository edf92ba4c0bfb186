"""mean / stddev / cv (校际差异系数) across the reporting units, against numbers computed by hand from the formula
CV = S / X̄, X̄ = Σ PᵢXᵢ / Σ Pᵢ, S = √(Σ Pᵢ(Xᵢ − X̄)² / Σ Pᵢ).

Tree: CITY ── D1 ── T1 ── S1, S2 (primary), K1 (kindergarten)
           └─ D2 ── S3 (primary), K2 (kindergarten)

Data (area ÷ enrolled, weight = enrolled unless said otherwise):
S1: 1000 m² / 100 → X = 10, S2: 3000 / 200 → X = 15, S3: 2400 / 300 → X = 8.
T1: X̄ = 4000 / 300 = 13.3333; Σ P(X − X̄)² = 100 · 11.1111 + 200 · 2.7778 = 1666.67; / 300 = 5.5556;
    S = 2.3570; CV = 0.1768.
CITY: X̄ = 6400 / 600 = 10.6667; Σ P(X − X̄)² = 100 · 0.4444 + 200 · 18.7778 + 300 · 7.1111 = 5933.33;
    / 600 = 9.8889; S = 3.1447; CV = 0.2948.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from indicators import engine, explain
from indicators.models import Aggregation, Indicator
from indicators.services import save_indicator
from portal.errors import ServiceError
from portal.models import ConfigChange
from tests.indicators.engine_data import indicator, iv, period, report, snapshot, stock

D = Decimal
PRIMARY = ["primary"]


def rounded(number: Decimal | None, places: int = 4) -> Decimal | None:
    return None if number is None else number.quantize(D(1).scaleb(-places))


@pytest.fixture
def figures(db):
    for code in ("area", "enrolled", "classes"):
        stock(code)


def spread(aggregation: str, **extra: object) -> Indicator:
    return indicator(
        f"area_{aggregation}",
        "area",
        "enrolled",
        aggregation=aggregation,
        unit_filter_school_types=PRIMARY,
        **extra,
    )


@pytest.fixture
def q1(figures, tree):
    quarter = period(2023, 1)
    report(tree.s1, quarter, area=1000, enrolled=100)
    report(tree.s2, quarter, area=3000, enrolled=200)
    report(tree.s3, quarter, area=2400, enrolled=300)
    report(tree.k1, quarter, area=500, enrolled=10)  # a kindergarten: outside the filter
    return quarter


def test_cv_mean_and_stddev_match_the_formula(tree, q1):
    cv, mean, sd = spread(Aggregation.CV), spread(Aggregation.MEAN), spread(Aggregation.STDDEV)
    engine.full_recompute()
    assert rounded(iv(mean, tree.t1, q1).value) == D("13.3333")
    assert rounded(iv(sd, tree.t1, q1).value) == D("2.3570")
    assert rounded(iv(cv, tree.t1, q1).value) == D("0.1768")
    assert rounded(iv(mean, tree.city, q1).value) == D("10.6667")
    assert rounded(iv(sd, tree.city, q1).value) == D("3.1447")
    assert rounded(iv(cv, tree.city, q1).value) == D("0.2948")
    city = iv(cv, tree.city, q1)
    # The row carries the sums the value is made of: ΣPX, ΣP, ΣPX², units counted and left out.
    assert (city.numerator, city.denominator, city.moment2) == (D(6400), D(600), D(100 * 100 + 200 * 225 + 300 * 64))
    assert (city.unit_count, city.left_out_count) == (3, 0)
    # D1's only primary schools are T1's: the same value.
    assert rounded(iv(cv, tree.d1, q1).value) == D("0.1768")


def test_fewer_than_two_units_give_no_value(tree, q1):
    cv, mean = spread(Aggregation.CV), spread(Aggregation.MEAN)
    engine.full_recompute()
    # D2 has one primary school, a school is one unit: no value, but its own Xᵢ = ΣPX ÷ ΣP is kept.
    assert iv(cv, tree.d2, q1).value is None
    assert iv(mean, tree.d2, q1).value is None
    s3 = iv(cv, tree.s3, q1)
    assert s3.value is None
    assert s3.unit_count == 1
    assert s3.numerator / s3.denominator == D(8)


def test_a_zero_denominator_is_left_out_and_counted(tree, q1):
    cv = spread(Aggregation.CV)
    report(tree.s3, q1, area=2400, enrolled=0)
    engine.full_recompute()
    city = iv(cv, tree.city, q1)
    # S3 left out: the city is T1's two schools.
    assert rounded(city.value) == D("0.1768")
    assert (city.unit_count, city.left_out_count) == (2, 1)
    assert iv(cv, tree.d2, q1).value is None
    assert iv(cv, tree.d2, q1).left_out_count == 1


def test_an_explicit_weight_replaces_the_denominator(tree, q1):
    # weights by classes: S1 1, S2 3 → X̄ = (10 + 45) / 4 = 13.75;
    # Σ P(X − X̄)² = 1 · 14.0625 + 3 · 1.5625 = 18.75; / 4 = 4.6875; S = 2.16506; CV = 0.15746
    cv = spread(Aggregation.CV, weight="classes")
    mean = spread(Aggregation.MEAN, weight="classes")
    report(tree.s1, q1, classes=1)
    report(tree.s2, q1, classes=3)
    engine.full_recompute()
    assert rounded(iv(mean, tree.t1, q1).value) == D("13.7500")
    assert rounded(iv(cv, tree.t1, q1).value) == D("0.1575")
    # S3 reported no classes: no weight, left out of the city.
    city = iv(cv, tree.city, q1)
    assert (city.unit_count, city.left_out_count) == (2, 1)


def test_the_factor_scales_the_mean_not_the_cv(tree, q1):
    cv = spread(Aggregation.CV, factor=100)
    mean = spread(Aggregation.MEAN, factor=100)
    engine.full_recompute()
    assert rounded(iv(mean, tree.t1, q1).value, 2) == D("1333.33")
    assert rounded(iv(cv, tree.t1, q1).value) == D("0.1768")


def test_equal_values_have_zero_spread(tree, figures):
    cv = spread(Aggregation.CV)
    quarter = period(2023, 1)
    report(tree.s1, quarter, area=1000, enrolled=100)
    report(tree.s2, quarter, area=3000, enrolled=300)
    engine.full_recompute()
    assert iv(cv, tree.t1, quarter).value == D(0)


def test_incremental_after_an_approval_equals_a_full_recompute(tree, q1):
    spread(Aggregation.CV)
    spread(Aggregation.STDDEV, weight="classes")
    engine.full_recompute()
    report(tree.s2, q1, area=1000, enrolled=0, classes=2)  # now left out
    report(tree.s3, q1, area=3300, classes=4)
    engine.recompute_for(tree.s2.pk, q1.pk)
    engine.recompute_for(tree.s3.pk, q1.pk)
    incremental = [row[1:] for row in snapshot()]
    moments = sorted(
        Indicator.objects.get(code="area_cv").values.values_list("org_unit_id", "moment2", "left_out_count")
    )
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == incremental
    assert (
        sorted(Indicator.objects.get(code="area_cv").values.values_list("org_unit_id", "moment2", "left_out_count"))
        == moments
    )
    # City after the change: S1 (10, 100) and S3 (11, 300): X̄ = 4300 / 400 = 10.75;
    # Σ P(X − X̄)² = 100 · 0.5625 + 300 · 0.0625 = 75; / 400 = 0.1875; S = 0.43301; CV = 0.04028
    city = iv(Indicator.objects.get(code="area_cv"), tree.city, q1)
    assert rounded(city.value) == D("0.0403")
    assert city.left_out_count == 1


def test_a_year_window_gives_the_q4_value(tree, figures):
    cv = spread(Aggregation.CV)
    q4 = period(2023, 4)
    report(tree.s1, q4, area=1000, enrolled=100)
    report(tree.s2, q4, area=3000, enrolled=200)
    engine.full_recompute()
    window = engine.parse_window("2023")
    assert window is not None
    (row,) = engine.window_values([cv], [tree.t1], window)
    assert rounded(row.value) == rounded(iv(cv, tree.t1, q4).value) == D("0.1768")


# --- Definition check ---


@pytest.mark.parametrize("aggregation", [Aggregation.CV, Aggregation.MEAN, Aggregation.STDDEV])
def test_a_spread_without_denominator_is_refused(figures, aggregation):
    candidate = Indicator(code="x", name="x", numerator="area", aggregation=aggregation)
    errors = engine.validate_definition(candidate)
    assert errors == {"denominator": ["平均值、标准差和差异系数按各单位的值（分子 ÷ 分母）计算，需要分母表达式"]}


def test_a_weight_is_refused_outside_spreads_and_checked_inside(figures):
    ratio = Indicator(code="x", name="x", numerator="area", denominator="enrolled", weight="classes")
    assert engine.validate_definition(ratio) == {"weight": ["只有平均值、标准差和差异系数使用权重"]}
    cv = Indicator(code="y", name="y", numerator="area", denominator="enrolled", aggregation="cv", weight="clases")
    assert list(engine.validate_definition(cv)) == ["weight"]


def test_the_service_refuses_a_cv_without_denominator(users, figures):
    candidate = Indicator(code="x", name="x", numerator="area", aggregation=Aggregation.CV)
    with pytest.raises(ServiceError) as caught:
        save_indicator(candidate, users.bea)
    assert "denominator" in caught.value.errors
    assert not Indicator.objects.filter(code="x").exists()


def test_the_api_refuses_a_cv_without_denominator_in_either_language(users, figures):
    client = APIClient()
    client.force_authenticate(users.bea)
    payload = {"code": "x", "name": "x", "numerator": "area", "aggregation": "cv"}
    response = client.post("/api/v1/indicators/", payload, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"denominator": ["平均值、标准差和差异系数按各单位的值（分子 ÷ 分母）计算，需要分母表达式"]}
    }
    english = client.post("/api/v1/indicators/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json() == {
        "errors": {
            "denominator": [
                "Mean, standard deviation and CV spread each unit's value (numerator ÷ "
                "denominator): a denominator expression is needed"
            ]
        }
    }
    created = client.post(
        "/api/v1/indicators/", {**payload, "denominator": "enrolled", "weight": "classes"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["weight"] == "classes"


def test_the_form_refuses_a_cv_without_denominator_and_saves_one_with_a_weight(client, users, tree, q1):
    client.force_login(users.bea)
    form = {"code": "x", "name": "x", "aggregation": "cv", "numerator": "area", "factor": "1", "decimals": 3}
    response = client.post(reverse("indicators:indicator_create"), {**form, "is_active": "on"})
    assert response.status_code == 200
    assert "需要分母表达式" in response.content.decode()
    assert not Indicator.objects.filter(code="x").exists()
    response = client.post(
        reverse("indicators:indicator_create"),
        {**form, "denominator": "enrolled", "weight": "classes", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Indicator.objects.get(code="x").weight == "classes"


def test_the_explanation_recomputes_the_stored_cv(tree, q1):
    cv = spread(Aggregation.CV, weight="classes")
    report(tree.s1, q1, classes=1)
    report(tree.s2, q1, classes=3)
    engine.full_recompute()
    result = explain.explain(cv, tree.city, q1)
    assert [c.unit.code for c in result.contributions] == ["S1", "S2", "S3"]  # S3 reported, left out (no weight)
    assert (result.numerator, result.denominator) == (D(55), D(4))  # 10 · 1 + 15 · 3, 1 + 3
    assert rounded(result.value) == rounded(result.stored.value) == D("0.1575")


def test_a_weight_change_recomputes_and_is_audited(users, tree, q1, django_capture_on_commit_callbacks):
    cv = spread(Aggregation.CV)
    engine.full_recompute()
    assert rounded(iv(cv, tree.t1, q1).value) == D("0.1768")
    report(tree.s1, q1, classes=1)
    report(tree.s2, q1, classes=3)
    cv.weight = "classes"
    with django_capture_on_commit_callbacks(execute=True):
        assert save_indicator(cv, users.bea) is True
    assert rounded(iv(cv, tree.t1, q1).value) == D("0.1575")
    change = ConfigChange.objects.filter(object_id=str(cv.pk)).order_by("-pk").first()
    assert change is not None
    assert change.changes["weight"] == ["", "classes"]


def test_the_indicator_page_states_the_spread_formula(client, users, tree, q1):
    spread(Aggregation.CV, weight="classes")
    engine.full_recompute()
    client.force_login(users.bea)
    page = client.get(reverse("indicators:indicator_detail", kwargs={"code": "area_cv"})).content.decode()
    assert "Xᵢ = (area) ÷ (enrolled), Pᵢ = classes" in page
