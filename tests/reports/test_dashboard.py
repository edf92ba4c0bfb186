"""The plan dashboard: rows, counts, scope switch, filters, access and constant query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.reports.conftest import add_kindergartens

URL = reverse("reports:dashboard")


def rows_of(response):  # noqa: ANN001, ANN201
    return {row.target.code: row for row in response.context["dash"].rows}


def test_it_shows_each_target_with_value_target_status_and_trend(client, report, users):
    client.force_login(users.ivan)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q4"})
    assert response.status_code == 200
    rows = rows_of(response)
    # CITY Q4: 1980 / 2000 × 100 = 99.0 %, target ≥ 99.0 % → met (status read from Progress).
    assert rows["kg-rate"].actual_text == "99.0%"
    assert rows["kg-rate"].target_text == "≥ 99.0%"
    assert rows["kg-rate"].status == "met"
    assert rows["kg-rate"].percent == 100
    assert [p.actual for p in rows["kg-rate"].trend] == [97, 97.5, 98, 99]
    assert rows["big-class"].status == "off_track"
    assert rows["big-class"].owner == "东区"  # owner_unit D1's name
    html = response.content.decode()
    assert "学前一年幼儿入园率达 99% 以上" in html
    assert html.count('<svg class="trend"') == 2  # one trend per target, rendered on the server
    assert "badge badge-off_track" in html
    assert "滞后" in html
    assert reverse("submissions:completeness") + "?period=2023Q4&amp;unit=CITY" in html


def test_it_counts_targets_per_status_overall_and_per_section(client, report, users):
    client.force_login(users.ivan)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q4"})
    totals = {status: count for status, _label, count in response.context["dash"].totals}
    assert totals == {"met": 1, "on_track": 0, "at_risk": 0, "off_track": 1, "no_data": 0, "not_assessed": 0}
    sections = {b.section.code: {s: c for s, _l, c in b.counts} for b in response.context["dash"].sections}
    assert sections["equity"]["met"] == 1
    assert sections["equity"]["off_track"] == 0
    assert sections["quality"]["off_track"] == 1


def test_an_earlier_quarter_shows_that_quarters_progress(client, report, users):
    client.force_login(users.ivan)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q2"})
    row = rows_of(response)["kg-rate"]
    assert (row.actual, row.expected, row.status) == (97.5, 98.0, "at_risk")
    # 97.5 / 99 = 98.48 % → bar drawn at 98 %.
    assert row.percent == 98


def test_switching_scope_to_a_district_shows_its_own_numbers(client, report, users):
    client.force_login(users.ivan)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q4", "scope": "D2"})
    row = rows_of(response)["kg-rate"]
    # D2: 980 / 1000 = 98.0 % → off_track (Progress row at D2).
    assert row.actual_text == "98.0%"
    assert row.status == "off_track"


def test_a_学区_without_progress_rows_shows_the_value_but_no_status(client, report, users):
    client.force_login(users.ivan)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q4", "scope": "T1"})
    row = rows_of(response)["kg-rate"]
    assert row.actual_text == "100.0%"
    assert row.status == "no_data"
    assert row.evaluated is False


def test_filters_by_section_status_and_owner(client, report, users):
    client.force_login(users.ivan)
    base = {"plan": "p2023", "period": "2023Q4"}
    assert set(rows_of(client.get(URL, {**base, "section": "equity"}))) == {"kg-rate"}
    assert set(rows_of(client.get(URL, {**base, "status": "off_track"}))) == {"big-class"}
    assert set(rows_of(client.get(URL, {**base, "owner": "学前教育科"}))) == {"kg-rate"}
    assert set(rows_of(client.get(URL, {**base, "owner": "D1"}))) == {"big-class"}


def test_the_default_scope_is_the_users_own_unit(client, report, users):
    client.force_login(users.rita)
    response = client.get(URL, {"plan": "p2023", "period": "2023Q4"})
    assert response.context["unit"].code == "D1"
    assert rows_of(response)["kg-rate"].actual_text == "100.0%"
    assert [u.code for u in response.context["scope_choices"]] == ["D1", "T1"]


def test_a_unit_outside_the_scope_is_not_found(client, report, users):
    client.force_login(users.alice)
    assert client.get(URL, {"plan": "p2023", "scope": "D2"}).status_code == 404
    client.force_login(users.rita)
    assert client.get(URL, {"plan": "p2023", "scope": "CITY"}).status_code == 404


def test_a_user_without_any_role_is_refused(client, report, users):
    client.force_login(users.nobody)
    assert client.get(URL).status_code == 403


def test_the_export_link_is_offered_only_to_users_who_may_export(client, report, users):
    client.force_login(users.alice)
    assert client.get(URL, {"plan": "p2023"}).context["can_export"] is False
    client.force_login(users.ivan)
    assert client.get(URL, {"plan": "p2023"}).context["can_export"] is True


def _count_queries(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"plan": "p2023", "period": "2023Q4", "scope": "CITY"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_number_of_units(client, report, users, tree):
    client.force_login(users.ivan)
    add_kindergartens(tree.t1, 10, report, prefix="KA")
    few = _count_queries(client)
    add_kindergartens(tree.t1, 490, report, prefix="KB")
    many = _count_queries(client)
    # 13 queries: session, user, plans, memberships (scope grants), the unit, periods, covering targets
    # (+ latest note), their Progress rows, indicator values at the unit, sections,
    # scope choices, breadcrumb, the bell's unread count — none of them per unit, per section or per target.
    assert few == many == 13
