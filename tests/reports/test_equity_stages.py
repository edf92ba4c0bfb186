"""Issue 13 §2: a 九年一贯制 school split into its 小学部 and 初中部 in the equity view.

A county (D1) with 2 primary schools (S1, S2), 2 junior schools (J1, J2) and 1 nine-year school (N1). Stage
figures: 小学部 area / pupils (stage primary: primary and nine-year schools report them) and 初中部 area / pupils
(stage junior). Each cv indicator reads one stage's figures, so N1 is one unit of the primary CV by its primary
part and one unit of the junior CV by its junior part. The expected CVs are computed here from the inputs with
exact fractions: CV = S / X̄, X̄ = Σ PᵢXᵢ / Σ Pᵢ, S = √(Σ Pᵢ(Xᵢ − X̄)² / Σ Pᵢ).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from indicators import engine
from indicators.models import Aggregation
from reports import equity
from schools.models import Level, OrgUnit, Ownership, SchoolType, Stage
from submissions.models import Figure
from tests.conftest import make_unit
from tests.indicators.engine_data import indicator, period, report, stock, value

SCHOOL = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC}
# (area, pupils) per unit and stage: the inputs of every expectation below.
PRIMARY_PARTS = {"S1": (1000, 100), "S2": (3000, 200), "N1": (1100, 100)}
JUNIOR_PARTS = {"J1": (2000, 100), "J2": (1000, 400), "N1": (900, 50)}


def _weighted_mean(parts: dict[str, tuple[int, int]]) -> tuple[dict[str, Fraction], dict[str, Fraction], Fraction]:
    """Pᵢ = pupils, Xᵢ = area ÷ pupils and X̄ = Σ PᵢXᵢ / Σ Pᵢ, as exact fractions."""
    weights = {code: Fraction(pupils) for code, (_area, pupils) in parts.items()}
    xs = {code: Fraction(area, pupils) for code, (area, pupils) in parts.items()}
    total = sum(weights.values(), Fraction(0))
    return weights, xs, sum((weights[c] * xs[c] for c in parts), Fraction(0)) / total


def expected_cv(parts: dict[str, tuple[int, int]]) -> Decimal:
    """The national formula in exact fractions, then one square root: S = √(Σ Pᵢ(Xᵢ − X̄)² / Σ Pᵢ), CV = S / X̄."""
    weights, xs, mean = _weighted_mean(parts)
    variance = sum((weights[c] * (xs[c] - mean) ** 2 for c in parts), Fraction(0)) / sum(weights.values(), Fraction(0))
    with localcontext() as ctx:
        ctx.prec = 40
        s = (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()
        return s / (Decimal(mean.numerator) / Decimal(mean.denominator))


def furthest_codes(parts: dict[str, tuple[int, int]]) -> list[str]:
    _weights, xs, mean = _weighted_mean(parts)
    return sorted(parts, key=lambda c: (-abs(xs[c] - mean), c))


def stage_figure(code: str, stage: str) -> Figure:
    figure = stock(code)
    figure.stage = stage
    single = SchoolType.PRIMARY if stage == Stage.PRIMARY else SchoolType.JUNIOR
    figure.reported_by_school_types = [single, SchoolType.NINE_YEAR]
    figure.save()
    return figure


@pytest.fixture
def county(tree):
    for code, stage in (("pri_area", Stage.PRIMARY), ("pri_pupils", Stage.PRIMARY)):
        stage_figure(code, stage)
    for code, stage in (("jun_area", Stage.JUNIOR), ("jun_pupils", Stage.JUNIOR)):
        stage_figure(code, stage)
    cv_pri = indicator("cv_pri_area", "pri_area", "pri_pupils", aggregation=Aggregation.CV, decimals=3)
    cv_jun = indicator("cv_jun_area", "jun_area", "jun_pupils", aggregation=Aggregation.CV, decimals=3)
    pupils_pri = indicator("pri_pupils_total", "pri_pupils")
    pupils_jun = indicator("jun_pupils_total", "jun_pupils")
    pupils_all = indicator("pupils_total", "pri_pupils + jun_pupils")
    q1 = period(2023, 1)
    units = {
        "S1": tree.s1,
        "S2": tree.s2,
        "N1": make_unit("N1", "东区九年一贯制学校", parent=tree.t1, school_type=SchoolType.NINE_YEAR, **SCHOOL),
        "J1": make_unit("J1", "东区第一初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL),
        "J2": make_unit("J2", "东区第二初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL),
    }
    for code, unit in units.items():
        values: dict[str, int] = {}
        if code in PRIMARY_PARTS:
            values.update(pri_area=PRIMARY_PARTS[code][0], pri_pupils=PRIMARY_PARTS[code][1])
        if code in JUNIOR_PARTS:
            values.update(jun_area=JUNIOR_PARTS[code][0], jun_pupils=JUNIOR_PARTS[code][1])
        report(unit, q1, **values)
    report(tree.s3, q1, pri_area=9000, pri_pupils=100)  # D2: outside D1's view
    engine.full_recompute()
    return {"cv_pri": cv_pri, "cv_jun": cv_jun, "pri": pupils_pri, "jun": pupils_jun, "all": pupils_all, "q1": q1}


def test_each_stage_cv_counts_the_nine_year_school_by_its_part(county, tree):
    rows = {row.indicator.code: row for row in equity.equity_rows(tree.d1, county["q1"], furthest=3)}
    (primary,) = rows["cv_pri_area"].stages
    (junior,) = rows["cv_jun_area"].stages
    assert (rows["cv_pri_area"].stage, primary.stage, primary.threshold) == ("primary", "primary", Decimal("0.50"))
    assert (rows["cv_jun_area"].stage, junior.stage, junior.threshold) == ("junior", "junior", Decimal("0.45"))
    assert (primary.units, junior.units) == (3, 3)
    assert abs(primary.cv - expected_cv(PRIMARY_PARTS)) < Decimal("1e-9")
    assert abs(junior.cv - expected_cv(JUNIOR_PARTS)) < Decimal("1e-9")
    assert primary.meets is (expected_cv(PRIMARY_PARTS) <= Decimal("0.50"))
    assert junior.meets is (expected_cv(JUNIOR_PARTS) <= Decimal("0.45"))
    assert [s.code for s in primary.furthest] == furthest_codes(PRIMARY_PARTS)
    assert [s.code for s in junior.furthest] == furthest_codes(JUNIOR_PARTS)
    names = {s.code: s.name for s in primary.furthest}
    assert (names["N1"], names["S1"]) == ("东区九年一贯制学校（小学部）", "东区中心小学")
    assert {s.code: s.name for s in junior.furthest}["N1"] == "东区九年一贯制学校（初中部）"


def test_the_district_row_of_the_engine_agrees_with_the_view(county, tree):
    # The view adds up school rows; the engine's district row adds up the same observations.
    assert value(county["cv_pri"], tree.d1, county["q1"], places=6) == expected_cv(PRIMARY_PARTS).quantize(
        Decimal("0.000001")
    )
    assert value(county["cv_jun"], tree.d1, county["q1"], places=6) == expected_cv(JUNIOR_PARTS).quantize(
        Decimal("0.000001")
    )


def test_district_totals_count_each_school_once(county, tree):
    q1 = county["q1"]
    pri = sum(pupils for _area, pupils in PRIMARY_PARTS.values())
    jun = sum(pupils for _area, pupils in JUNIOR_PARTS.values())
    assert value(county["pri"], tree.d1, q1) == Decimal(pri)
    assert value(county["jun"], tree.d1, q1) == Decimal(jun)
    assert value(county["all"], tree.d1, q1) == Decimal(pri + jun)
    n1 = OrgUnit.objects.get(code="N1")
    assert value(county["all"], n1, q1) == Decimal(PRIMARY_PARTS["N1"][1] + JUNIOR_PARTS["N1"][1])
    assert value(county["pri"], tree.city, q1) == Decimal(pri + 100)  # D2's S3 once more, nothing twice


def test_the_page_names_the_parts(client, users, county):
    client.force_login(users.rita)
    html = client.get(reverse("reports:unit_equity", kwargs={"code": "D1"}), {"period": "2023Q1"}).content.decode()
    assert "东区九年一贯制学校（小学部）" in html
    assert "东区九年一贯制学校（初中部）" in html
    assert "西区实验小学" not in html


def _count(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("reports:unit_equity", kwargs={"code": "D1"}), {"period": "2023Q1"})
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_nine_year_schools(client, users, county, tree):
    client.force_login(users.ivan)
    few = _count(client)
    for n in range(12):
        name = f"新建九年一贯制学校{n}"
        school = make_unit(f"NX{n:02d}", name, parent=tree.t1, school_type=SchoolType.NINE_YEAR, **SCHOOL)
        report(school, county["q1"], pri_area=1000 + 37 * n, pri_pupils=100 + n, jun_area=800 + n, jun_pupils=60 + n)
    engine.full_recompute()
    assert _count(client) == few


def test_a_cv_indicator_may_not_mix_stages(county):
    bad = indicator("cv_mixed", "pri_area", "jun_pupils", aggregation=Aggregation.CV)
    assert "numerator" in engine.validate_definition(bad)
    whole = indicator("cv_half", "pri_area", "pri_pupils + 0", aggregation=Aggregation.CV)
    assert engine.validate_definition(whole) == {}
    assert engine.indicator_stages([bad, whole, county["cv_jun"]]) == {
        bad.pk: "",
        whole.pk: "primary",
        county["cv_jun"].pk: "junior",
    }


def test_a_stage_figure_in_the_browser(client, tree, users):
    client.force_login(users.bea)
    data = {
        "code": "pri_rooms", "name": "小学部教室数", "value_type": "integer", "time_aggregation": "stock",
        "unit_aggregation": "sum", "min_value": "0", "order": "0", "is_active": "on", "required": "on",
        "stage": "primary", "reported_by_school_types": ["junior"],
    }  # fmt: skip
    make_unit("JX", "东区第三初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL)
    refused = client.post(reverse("submissions:figure_create"), data)
    assert refused.status_code == 200
    assert "分学段的填报项须选择该学段的学校类型" in refused.content.decode()
    assert not Figure.objects.filter(code="pri_rooms").exists()
    created = client.post(reverse("submissions:figure_create"), data | {"reported_by_school_types": ["primary"]})
    assert created.status_code == 302, created.content.decode()
    assert Figure.objects.get(code="pri_rooms").stage == "primary"
    page = client.get(reverse("submissions:figure_update", args=["pri_rooms"])).content.decode()
    assert '<option value="primary" selected>' in page


def test_a_stage_figure_through_the_api(tree, users):
    api = APIClient()
    api.force_authenticate(users.bea)
    payload = {
        "code": "jun_rooms", "name": "初中部教室数", "stage": "junior",
        "reported_by": {"school_types": ["primary", "nine_year"]},
    }  # fmt: skip
    refused = api.post("/api/v1/figures/", payload, format="json")
    assert refused.status_code == 400
    assert "stage" in refused.json()["errors"]
    make_unit("JX", "东区第三初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL)
    payload["reported_by"] = {"school_types": ["junior", "nine_year"]}
    created = api.post("/api/v1/figures/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert api.get("/api/v1/figures/jun_rooms/").json()["stage"] == "junior"
    # A later change of who reports is checked against the stored stage.
    changed = api.patch("/api/v1/figures/jun_rooms/", {"reported_by": {"levels": ["district"]}}, format="json")
    assert changed.status_code == 400
    assert "stage" in changed.json()["errors"]
    assert Figure.objects.get(code="jun_rooms").reported_by_levels == []
