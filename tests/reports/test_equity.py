"""The equity view of a county: each cv indicator for primary and for junior schools against 0.50 / 0.45,
with the schools furthest from the mean, from stored rows only.

D1's schools (area ÷ enrolled, weight = enrolled):
  primary stage: S1 1000/100 → 10, S2 3000/200 → 15, N1 (九年一贯制) 1100/100 → 11
    X̄ = 5100 / 400 = 12.75; Σ P(X − X̄)² = 100 · 7.5625 + 200 · 5.0625 + 100 · 3.0625 = 2075; / 400 = 5.1875;
    S = 2.2776; CV = 0.1786 ≤ 0.50 → 达标; furthest: S1 (−2.75), S2 (+2.25), N1 (−1.75)
  junior stage: J1 2000/100 → 20, J2 1000/400 → 2.5, J3 500/0 → left out
    X̄ = 3000 / 500 = 6; Σ P(X − X̄)² = 100 · 196 + 400 · 12.25 = 24500; / 500 = 49; S = 7; CV = 1.1667 > 0.45
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators import engine
from indicators.models import Aggregation
from reports import equity
from schools.models import Level, Ownership, SchoolType
from tests.conftest import make_unit
from tests.indicators.engine_data import indicator, period, report, stock

D = Decimal
SCHOOL = {"level": Level.SCHOOL, "ownership": Ownership.PUBLIC}


@pytest.fixture
def county(tree):
    stock("area")
    stock("enrolled")
    cv = indicator(
        "cv_area",
        "area",
        "enrolled",
        aggregation=Aggregation.CV,
        decimals=3,
        unit_filter_school_types=["primary", "junior", "nine_year"],
    )
    q1 = period(2023, 1)
    n1 = make_unit("N1", "东区九年一贯制学校", parent=tree.t1, school_type=SchoolType.NINE_YEAR, **SCHOOL)
    j1 = make_unit("J1", "东区第一初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL)
    j2 = make_unit("J2", "东区第二初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL)
    j3 = make_unit("J3", "东区第三初级中学", parent=tree.d1, school_type=SchoolType.JUNIOR, **SCHOOL)
    for unit, area, enrolled in (
        (tree.s1, 1000, 100),
        (tree.s2, 3000, 200),
        (n1, 1100, 100),
        (j1, 2000, 100),
        (j2, 1000, 400),
        (j3, 500, 0),
        (tree.s3, 9000, 100),  # D2: not in D1's view
    ):
        report(unit, q1, area=area, enrolled=enrolled)
    engine.full_recompute()
    return cv, q1


def url(code: str) -> str:
    return reverse("reports:unit_equity", kwargs={"code": code})


def test_primary_and_junior_values_against_the_thresholds(county, tree):
    cv, q1 = county
    (row,) = equity.equity_rows(tree.d1, q1, furthest=2)
    primary, junior = row.stages
    assert (primary.stage, junior.stage) == ("primary", "junior")
    assert primary.cv.quantize(D("0.0001")) == D("0.1786")
    assert primary.mean.quantize(D("0.01")) == D("12.75")
    assert (primary.units, primary.left_out, primary.meets) == (3, 0, True)
    assert junior.cv.quantize(D("0.0001")) == D("1.1667")
    assert (junior.units, junior.left_out, junior.meets) == (2, 1, False)
    assert [(s.code, round(s.value, 2), round(s.gap, 2)) for s in primary.furthest] == [
        ("S1", 10.0, -2.75),
        ("S2", 15.0, 2.25),
    ]
    assert [(s.code, round(s.gap, 2)) for s in junior.furthest] == [("J1", 14.0), ("J2", -3.5)]


def test_the_page_shows_values_status_and_schools(client, users, county, tree):
    client.force_login(users.rita)
    response = client.get(url("D1"), {"period": "2023Q1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "cv_area" in html
    assert "0.179" in html
    assert "1.167" in html
    assert "达标" in html
    assert "未达标" in html
    assert "东区中心小学" in html
    assert "东区第一初级中学" in html
    assert "西区实验小学" not in html  # D2's school


def test_a_district_page_links_to_its_equity_view(client, users, county):
    client.force_login(users.rita)
    html = client.get(reverse("reports:unit_detail", kwargs={"code": "D1"})).content.decode()
    assert url("D1") in html


def test_a_school_has_no_equity_view(client, users, county):
    client.force_login(users.alice)
    assert client.get(url("S1")).status_code == 404


def test_without_values_every_stage_reads_no_data(client, users, county, tree):
    cv, _q1 = county
    (row,) = equity.equity_rows(tree.d1, period(2023, 2))
    assert [(s.cv, s.meets, s.furthest) for s in row.stages] == [(None, None, []), (None, None, [])]


def _count(client, code: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url(code), {"period": "2023Q1"}).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_schools(client, users, county, tree):
    _cv, q1 = county
    client.force_login(users.ivan)
    few = _count(client, "D1")
    for n in range(30):
        school = make_unit(f"PX{n:02d}", f"新建小学{n}", parent=tree.t1, school_type=SchoolType.PRIMARY, **SCHOOL)
        report(school, q1, area=1000 + 37 * n, enrolled=100 + n)
    engine.full_recompute()
    many = _count(client, "D1")
    assert many == few
    assert few <= 11  # the page (session, user, scope, periods) and the equity view's four queries
