"""Half-year and whole-year values (period ``2023``, ``2023H1``, ``2023H2``) where period_mode allows them.

Hand-computed data (flow ``pri_new_entrants``, stock ``pri_enrolled``):

    unit       Q1          Q2          Q3          Q4
    S1 (D1)    10 / 400     5 / 410    60 / 450     2 / 455
    S3 (D2)     8 / 300     —          40 / 320     —
    S2 (D1)     —           —           —           3 / 100

Flow summed over the window: H1 = 10 + 5 + 8 = 23, H2 = 60 + 2 + 40 + 3 = 105, year = 128.
Stock = the latest value within the window, per school, then summed: H1 = 410 + 300 = 710,
H2 = 455 + 320 + 100 = 875, year = 875.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from indicators import engine
from indicators.models import PeriodMode
from tests.indicators.engine_data import figure, indicator, period, report, stock, value

D = Decimal


@pytest.fixture
def data(tree):
    figure("pri_new_entrants")
    stock("pri_enrolled")
    q = {n: period(2023, n) for n in (1, 2, 3, 4)}
    report(tree.s1, q[1], pri_new_entrants=10, pri_enrolled=400)
    report(tree.s1, q[2], pri_new_entrants=5, pri_enrolled=410)
    report(tree.s1, q[3], pri_new_entrants=60, pri_enrolled=450)
    report(tree.s1, q[4], pri_new_entrants=2, pri_enrolled=455)
    report(tree.s3, q[1], pri_new_entrants=8, pri_enrolled=300)
    report(tree.s3, q[3], pri_new_entrants=40, pri_enrolled=320)
    report(tree.s2, q[4], pri_new_entrants=3, pri_enrolled=100)
    return {
        "entrants": indicator("entrants", "pri_new_entrants", period_mode=PeriodMode.HALF),
        "share": indicator(
            "entrant_share", "pri_new_entrants", "pri_enrolled", factor=100, period_mode=PeriodMode.HALF
        ),
        "enrolled": indicator("enrolled", "pri_enrolled"),  # quarter mode: the year, not halves
        "yearly": indicator("yearly_entrants", "pri_new_entrants", period_mode=PeriodMode.YEAR),
        "q": q,
    }


def get(user, **params) -> tuple[int, object]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/indicator-values/", params)
    return response.status_code, response.json()


def values_by_unit(body: dict) -> dict[str, D | None]:
    # Values are JSON numbers: read them back through their decimal text, as a client would.
    return {row["org_unit"]: None if row["value"] is None else D(str(row["value"])) for row in body["results"]}


def test_flow_is_summed_over_the_half_and_the_year(users, data) -> None:
    status, body = get(users.bea, indicator="entrants", period="2023H1")
    assert status == 200, body
    by_unit = values_by_unit(body)
    assert D(by_unit["CITY"]) == 23
    assert D(by_unit["D1"]) == 15
    assert D(by_unit["S3"]) == 8
    assert by_unit["S2"] is None  # nothing reported in H1: no data, not 0
    assert {row["period"] for row in body["results"]} == {"2023H1"}
    h2 = values_by_unit(get(users.bea, indicator="entrants", period="2023H2")[1])
    assert (D(h2["CITY"]), D(h2["D1"]), D(h2["D2"])) == (105, 65, 40)
    year = values_by_unit(get(users.bea, indicator="entrants", period="2023")[1])
    assert D(year["CITY"]) == 128


def test_stock_is_the_last_quarter_within_the_window(users, data) -> None:
    h1 = values_by_unit(get(users.bea, indicator="enrolled", period="2023")[1])
    assert D(h1["CITY"]) == 875
    assert D(h1["S3"]) == 320  # its Q3 value: it did not report in Q4
    share_h1 = values_by_unit(get(users.bea, indicator="entrant_share", period="2023H1")[1])
    assert D(share_h1["CITY"]) == D("3.239437")  # 23 / 710 × 100, a ratio of sums
    share_h2 = get(users.bea, indicator="entrant_share", period="2023H2", org_unit="CITY")[1]["results"]
    assert len(share_h2) == 1
    row = share_h2[0]
    assert (D(str(row["numerator"])), D(str(row["denominator"])), D(str(row["value"]))) == (105, 875, 12)
    assert row["unit_count"] == 3


def test_the_year_equals_the_stored_fourth_quarter(tree, data) -> None:
    engine.full_recompute()
    window = engine.parse_window("2023")
    computed = {
        (v.indicator.code, v.org_unit.code): v.value
        for v in engine.window_values([data["entrants"], data["enrolled"]], [tree.city, tree.d1, tree.s3], window)
    }
    for key in ("entrants", "enrolled"):
        for unit in (tree.city, tree.d1, tree.s3):
            assert computed[(key, unit.code)] == value(data[key], unit, data["q"][4], places=6)


def test_offsets_shift_the_window_by_quarters(tree, users, data) -> None:
    report(tree.s1, period(2022, 1), pri_new_entrants=7)
    report(tree.s1, period(2022, 2), pri_new_entrants=1)
    growth = indicator("entrant_growth", "pri_new_entrants - pri_new_entrants[-4]", period_mode=PeriodMode.HALF)
    values = engine.window_values([growth], [tree.s1], engine.parse_window("2023H1"))
    assert [v.value for v in values] == [D(15 - 8)]  # (10 + 5) − (7 + 1)


def test_a_mode_that_does_not_allow_the_window_is_a_clear_400(users, data) -> None:
    status, body = get(users.bea, indicator="enrolled", period="2023H1")
    assert status == 400
    message = body["errors"]["period"][0]
    assert "按季度" in message
    assert "2023H1" in message
    status, body = get(users.bea, indicator="yearly_entrants", period="2023H2")
    assert status == 400
    status, body = get(users.bea, indicator="yearly_entrants", period="2023", org_unit="CITY")
    assert status == 200
    assert D(body["results"][0]["value"]) == 128


def test_without_an_indicator_only_those_allowing_the_window_are_listed(users, data) -> None:
    status, body = get(users.bea, period="2023H1", org_unit="CITY")
    assert status == 200
    assert sorted(row["indicator"] for row in body["results"]) == ["entrant_share", "entrants"]


def test_windows_respect_scope_and_unknown_years(users, data) -> None:
    assert values_by_unit(get(users.rob, indicator="entrants", period="2023H1", parent="CITY")[1]) == {"D2": D(8)}
    assert get(users.alice, indicator="entrants", period="2023H1", org_unit="CITY")[1]["results"] == []
    assert get(users.bea, indicator="entrants", period="2019")[1]["results"] == []


def test_the_indicator_page_shows_a_half_year(client, users, data) -> None:
    from django.urls import reverse

    engine.full_recompute()
    client.force_login(users.ivan)
    url = reverse("indicators:indicator_detail", kwargs={"code": "entrants"})
    response = client.get(url, {"period": "2023H2"})
    assert response.status_code == 200
    assert response.context["period"].code == "2023H2"
    rows = {row.record.org_unit.code: row.record.value for row in response.context["table"].rows}
    assert (rows["CITY"], rows["D1"], rows["D2"]) == (105, 65, 40)
    # A quarter-mode indicator offers the year only: ?period=2023H1 falls back to its latest quarter.
    response = client.get(reverse("indicators:indicator_detail", kwargs={"code": "enrolled"}), {"period": "2023H1"})
    assert response.context["period"].code == "2023Q4"
    assert [w.code for w in response.context["windows"]] == ["2023"]


def test_window_pages_compute_only_their_own_units(users, data, monkeypatch) -> None:
    """Issue 17: ``period=2023`` for the whole scope is paged before it is computed; every page equals the
    same rows of the whole list, and no page computes more units than it shows."""
    from schools.models import OrgUnit

    units = list(OrgUnit.objects.filter(is_active=True).order_by("path"))
    indicators = sorted([data["entrants"], data["share"], data["enrolled"], data["yearly"]], key=lambda i: i.code)
    window = engine.parse_window("2023")
    assert window is not None
    whole = [(v.indicator.code, v.org_unit.code, v.value) for v in engine.window_values(indicators, units, window)]
    lazy = engine.WindowValues(indicators, OrgUnit.objects.filter(is_active=True), window)
    assert len(lazy) == len(whole) == 4 * len(units)
    assert [(v.indicator.code, v.org_unit.code, v.value) for v in lazy[0 : len(lazy)]] == whole
    assert (lazy[-1].indicator.code, lazy[-1].org_unit.code) == whole[-1][:2]

    computed: list[int] = []
    real = engine.window_values

    def spy(indicators, units, window):  # type: ignore[no-untyped-def]
        computed.append(len(units))
        return real(indicators, units, window)

    monkeypatch.setattr(engine, "window_values", spy)
    limit = 3
    paged = []
    for offset in range(0, len(whole), limit):
        computed.clear()
        status, body = get(users.bea, period="2023", limit=str(limit), offset=str(offset))
        assert status == 200
        assert body["count"] == len(whole)
        assert sum(computed) == len(body["results"]) <= limit
        paged += [(row["indicator"], row["org_unit"]) for row in body["results"]]
    assert paged == [row[:2] for row in whole]
