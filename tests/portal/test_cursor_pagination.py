"""Large API lists can be walked by cursor (``?cursor=``): every row once, scope applied, no COUNT(*) per page;
clients that page by ``limit``/``offset`` get exactly the answer they had before."""

from __future__ import annotations

import base64
import datetime
import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from indicators.models import Indicator, IndicatorValue
from submissions.models import Period
from tests.conftest import Personas, Tree


def _values(tree: Tree) -> None:
    """2 indicators × 2 quarters × 9 units = 36 values."""
    day = datetime.date(2023, 1, 1)
    periods = [
        Period.objects.create(code=f"2023Q{q}", year=2023, quarter=q, opens_on=day, due_on=day, locks_on=day)
        for q in (1, 2)
    ]
    units = [tree.city, tree.d1, tree.d2, tree.t1, tree.s1, tree.s2, tree.k1, tree.s3, tree.k2]
    for code in ("rate_a", "rate_b"):
        indicator = Indicator.objects.create(code=code, name=code, unit="%")
        for period in periods:
            for number, unit in enumerate(units, start=1):
                IndicatorValue.objects.create(
                    indicator=indicator,
                    org_unit=unit,
                    period=period,
                    value=Decimal(number),
                    computed_at=timezone.now(),
                )


def _walk(client: APIClient, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow ``next`` from the first cursor page; returns (rows, page bodies)."""
    pages = [client.get(path, {"cursor": "", **params}).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    return [row for page in pages for row in page["results"]], pages


def _key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["indicator"], row["org_unit"], row["period"])


def test_walking_indicator_values_by_cursor_returns_every_row_once(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.bea)
    rows, pages = _walk(client, "/api/v1/indicator-values/", limit=5)
    assert len(rows) == 36  # 2 × 2 × 9, hand-counted
    assert len({_key(row) for row in rows}) == 36
    assert len(pages) == 8  # 7 pages of 5, one of 1
    assert all("count" not in page for page in pages)
    # The same rows as the offset listing (in another order: the cursor pages by creation).
    offset_rows = client.get("/api/v1/indicator-values/", {"limit": 100}).json()["results"]
    assert sorted(map(_key, rows)) == sorted(map(_key, offset_rows))


def test_cursor_previous_link_goes_back_to_the_same_page(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.bea)
    first = client.get("/api/v1/indicator-values/", {"cursor": "", "limit": "10"}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert first["previous"] is None
    assert back["results"] == first["results"]


def test_cursor_walk_keeps_the_scope(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.rita)  # reviewer of D1: D1, T1, S1, S2, K1
    rows, _pages = _walk(client, "/api/v1/indicator-values/", limit=3)
    assert {row["org_unit"] for row in rows} == {"D1", "T1", "S1", "S2", "K1"}
    assert len(rows) == 20  # 5 units × 2 indicators × 2 quarters
    units, _pages = _walk(client, "/api/v1/org-units/", limit=2)
    assert sorted(row["code"] for row in units) == ["D1", "K1", "S1", "S2", "T1"]


def test_cursor_filters_still_apply(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.bea)
    rows, _pages = _walk(client, "/api/v1/indicator-values/", indicator="rate_b", period="2023Q2", limit=4)
    assert len(rows) == 9
    assert {(row["indicator"], row["period"]) for row in rows} == {("rate_b", "2023Q2")}


def test_a_cursor_page_issues_no_count_query(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.bea)
    first = client.get("/api/v1/indicator-values/", {"cursor": "", "limit": "5"}).json()
    for url in (None, first["next"]):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url) if url else client.get("/api/v1/indicator-values/", {"cursor": ""})
        assert response.status_code == 200
        assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_offset_pages_answer_as_before(tree: Tree, users: Personas) -> None:
    _values(tree)
    client = APIClient()
    client.force_authenticate(users.bea)
    body = client.get("/api/v1/indicator-values/", {"limit": 10, "offset": 30}).json()
    assert body["count"] == 36
    assert len(body["results"]) == 6
    assert body["next"] is None
    assert "offset=20" in body["previous"]
    plain = client.get("/api/v1/org-units/").json()
    assert plain["count"] == 9
    assert plain["next"] is None


def test_a_bad_cursor_is_a_404_in_the_error_shape(users: Personas) -> None:
    client = APIClient()
    client.force_authenticate(users.bea)
    for cursor in (
        "not-base64!",
        base64.b64encode(b"p=abc").decode(),
        base64.b64encode(b"p=1;x").decode(),
        base64.b64encode(b"p=%C2%B2").decode(),
    ):
        response = client.get("/api/v1/org-units/", {"cursor": cursor})
        assert response.status_code == 404, cursor
        assert "errors" in response.json()


@pytest.mark.django_db
def test_the_schema_announces_the_cursor() -> None:
    out = StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out, stderr=StringIO())
    schema = json.loads(out.getvalue())
    for path in ("/api/v1/indicator-values/", "/api/v1/org-units/", "/api/v1/submissions/"):
        names = {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert {"cursor", "limit", "offset"} <= names, path
