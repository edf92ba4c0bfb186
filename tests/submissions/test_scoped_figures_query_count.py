"""Issue 13 "Done when": the submission page's query count does not grow with the number of figures' scopes.

Each added figure has its own scope (``within`` subtrees, ownership, school types, from/until periods, optional),
so that every scoped condition ``submissions/reporting.py`` reads is exercised; the principal's page and the API
submission detail (with its ``figures: [{code, name, required}]``) cost the same number of queries for 3 such
figures as for 30.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from schools.models import Level, Ownership, SchoolType
from submissions.models import Figure, Period
from tests.submissions.conftest import S1_CLEAN, make_period, make_submission


def add_scoped_figures(tree: Any, setup: Any, start: int, count: int) -> None:
    """``count`` figures, each with a different scope; about half of them are reported by S1 in 2023Q1."""
    q4, q1 = setup.q4, setup.q1
    later = Period.objects.get(code=Period.code_for(2023, 2))
    variants: list[dict[str, Any]] = [
        {"within": [tree.d1], "reported_by_school_types": [SchoolType.PRIMARY]},  # S1: yes
        {"within": [tree.t1], "reported_by_ownership": [Ownership.PUBLIC], "required": False},  # yes, optional
        {"within": [tree.d2]},  # no: another district
        {"within": [tree.d1, tree.d2], "from_period": q4, "until_period": q1, "allows_not_applicable": True},  # yes
        {"reported_by_school_types": [SchoolType.KINDERGARTEN], "within": [tree.t1]},  # no: kindergartens
        {"until_period": q4, "within": [tree.city]},  # no: ended before 2023Q1
        {"from_period": later, "reported_by_ownership": [Ownership.PUBLIC]},  # no: starts later
        {"reported_by_levels": [Level.DISTRICT], "within": [tree.d1]},  # no: the district itself
        {"reported_by_ownership": [Ownership.INCLUSIVE_PRIVATE, Ownership.PUBLIC], "within": [tree.t1, tree.d2]},
    ]
    for n in range(start, start + count):
        spec = dict(variants[n % len(variants)])
        within = spec.pop("within", [])
        figure = Figure.objects.create(code=f"scoped_{n}", name=f"范围填报项{n}", order=100 + n, **spec)
        figure.reported_by_within.set(within)


def page_queries(client: Any, url: str) -> int:
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def scoped(setup, tree):
    make_period(2023, 2)
    add_scoped_figures(tree, setup, 0, 3)
    return make_submission(tree.s1, setup.q1, **S1_CLEAN)


def test_the_principal_page_costs_the_same_for_3_and_30_scoped_figures(client, setup, users, tree, scoped):
    client.force_login(users.alice)
    url = scoped.get_absolute_url()
    few = page_queries(client, url)
    body = client.get(url).content.decode()
    assert "范围填报项0" in body
    assert "范围填报项1" in body
    assert "范围填报项2" not in body
    add_scoped_figures(tree, setup, 3, 27)
    many = page_queries(client, url)
    body = client.get(url).content.decode()
    # the page really lists the added figures S1 reports (and only those)
    assert "范围填报项27" in body
    assert "范围填报项28" in body
    assert "范围填报项29" not in body
    assert "范围填报项11" not in body
    assert "范围填报项15" not in body
    assert many == few


def test_the_api_detail_costs_the_same_for_3_and_30_scoped_figures(setup, users, tree, scoped):
    api = APIClient()
    api.force_authenticate(users.alice)
    url = f"/api/v1/submissions/{scoped.pk}/"
    few = page_queries(api, url)
    add_scoped_figures(tree, setup, 3, 27)
    many = page_queries(api, url)
    figures = {row["code"]: row for row in api.get(url).json()["figures"]}
    assert {"scoped_0", "scoped_1", "scoped_3", "scoped_9", "scoped_10"} <= set(figures)
    assert not {"scoped_2", "scoped_4", "scoped_5", "scoped_6", "scoped_7", "scoped_11"} & set(figures)
    assert figures["scoped_1"]["required"] is False
    assert figures["scoped_0"]["required"] is True
    assert figures["scoped_0"]["name"] == "范围填报项0"
    assert many == few
