"""The unit pickers' search (schools/unit_search.py, ``schools:unit_search``) and the bounded dashboard picker.

Issue 17: a scope picker that searches instead of listing every unit. The endpoint never returns a unit outside
the user's scope, answers in a constant number of queries and at most 20 results; the dashboard's picker lists
the chosen scope's neighbourhood only, however many units the tree has.
"""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans.models import Plan
from schools.models import Level, OrgUnit
from tests.conftest import Personas, Tree

URL = reverse("schools:unit_search")


def _codes(client: Client, **params: str) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return [unit["code"] for unit in response.json()["results"]]


def _townships(parent: OrgUnit, count: int, prefix: str) -> None:
    for i in range(count):
        OrgUnit.objects.create(code=f"{prefix}{i:03d}", name=f"{parent.name}第{i}学区", level=Level.TOWNSHIP,
                               parent=parent)  # fmt: skip


def test_results_stay_inside_the_users_scope(client: Client, tree: Tree, users: Personas) -> None:
    client.force_login(users.rita)  # reviewer of D1 (东区)
    # "区" is in every district's and most schools' names: only D1's subtree comes back.
    found = _codes(client, q="区")
    assert set(found) == {"D1", "T1", "S1", "S2", "K1"}
    assert _codes(client, q="S3") == []
    assert _codes(client, q="西区") == []
    client.force_login(users.alice)  # principal of S1
    assert _codes(client, q="") == ["S1"]
    client.force_login(users.nobody)
    assert _codes(client, q="区") == []


def test_code_prefix_name_part_levels_and_order(client: Client, tree: Tree, users: Personas) -> None:
    client.force_login(users.ivan)  # inspector of CITY: sees everything
    assert _codes(client, q="d") == ["D1", "D2"]  # code prefix, case-insensitive; shallow first
    assert _codes(client, q="幼儿园") == ["K2", "K1"]  # part of the name; K2 (depth 2) before K1 (depth 3)
    assert _codes(client, q="区", level="district,township") == ["D1", "D2", "T1"]
    payload = client.get(URL, {"q": "S1"}).json()["results"]
    assert payload == [{"id": tree.s1.pk, "code": "S1", "name": "东区中心小学", "level": "school",
                        "parent": "东区第一学区"}]  # fmt: skip


def test_admin_pickers_only_offer_units_one_may_administer(client: Client, tree: Tree, users: Personas) -> None:
    client.force_login(users.rita)  # a reviewer administers nothing
    assert _codes(client, q="区", perm="admin") == []
    client.force_login(users.bea)
    assert "D2" in _codes(client, q="区", perm="admin")


def test_at_most_twenty_results_in_a_constant_number_of_queries(client: Client, tree: Tree, users: Personas) -> None:
    client.force_login(users.ivan)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert len(_codes(client, q="学区")) <= 20
        return len(ctx.captured_queries)

    _townships(tree.d1, 5, "TA")
    few = queries()
    _townships(tree.d2, 40, "TB")
    assert queries() == few
    assert len(_codes(client, q="学区")) == 20
    assert len(_codes(client, q="学区", limit="5")) == 5
    assert len(_codes(client, q="学区", limit="500")) == 20  # capped


def test_the_search_needs_a_signed_in_user(client: Client, tree: Tree) -> None:
    response = client.get(URL, {"q": "D"})
    assert response.status_code == 302
    assert "login" in response["Location"]


def _scope_options(html: str) -> list[str]:
    select = re.search(r'<select id="f-scope".*?</select>', html, re.S)
    assert select
    return re.findall(r'<option value="([^"]+)"', select.group(0))


def test_the_dashboard_scope_picker_does_not_grow_with_the_tree(client: Client, tree: Tree, users: Personas) -> None:
    Plan.objects.create(code="p23", title="2023", year=2023, owner_unit=tree.city)
    client.force_login(users.bea)
    url = reverse("reports:dashboard")
    at_city = _scope_options(client.get(url, {"plan": "p23"}).content.decode())
    assert at_city == ["CITY", "D1", "D2"]  # the scope and its children
    _townships(tree.d1, 45, "TA")
    at_d1 = _scope_options(client.get(url, {"plan": "p23", "scope": "D1"}).content.decode())
    _townships(tree.d1, 45, "TC")
    assert OrgUnit.objects.filter(parent=tree.d1).count() == 91
    again = _scope_options(client.get(url, {"plan": "p23", "scope": "D1"}).content.decode())
    # CITY and D1 (ancestors and the scope), then at most 30 of D1's children: 46 or 91 townships, the same count.
    assert len(at_d1) == len(again) == 2 + 30
    assert again[:3] == ["CITY", "D1", "T1"]
    html = client.get(url, {"plan": "p23", "scope": "D1"}).content.decode()
    assert 'data-unit-picker="1"' in html
    assert "js/unit-picker.js" in html


def test_the_dashboard_html_does_not_grow_with_the_tree(client: Client, tree: Tree, users: Personas) -> None:
    """Issue 17 "dashboard HTML at 100k under 100 KB": the page's size is that of the neighbourhood it shows."""
    Plan.objects.create(code="p23", title="2023", year=2023, owner_unit=tree.city)
    client.force_login(users.bea)
    url = reverse("reports:dashboard")

    def sizes() -> tuple[int, int]:
        at_city = len(client.get(url, {"plan": "p23"}).content)
        at_d1 = len(client.get(url, {"plan": "p23", "scope": "D1"}).content)
        return at_city, at_d1

    _townships(tree.d1, 40, "TA")
    _townships(tree.d2, 40, "TB")
    few = sizes()
    _townships(tree.d1, 130, "TC")  # codes sort after TA: the first 30 children listed stay the same
    _townships(tree.d2, 130, "TD")
    assert OrgUnit.objects.count() > 300
    many = sizes()
    assert many == few
    assert max(many) < 100 * 1024


def test_the_dashboard_finds_a_scope_without_javascript(client: Client, tree: Tree, users: Personas) -> None:
    """The picker's search as a plain form (``scope_q``): matching units in scope, at most 20, as links."""
    Plan.objects.create(code="p23", title="2023", year=2023, owner_unit=tree.city)
    _townships(tree.d1, 25, "TA")
    _townships(tree.d2, 5, "TB")
    url = reverse("reports:dashboard")
    client.force_login(users.rita)  # reviewer of D1
    html = client.get(url, {"plan": "p23", "scope": "D1", "scope_q": "学区"}).content.decode()
    assert 'name="scope_q"' in html  # the form (inside <noscript>)
    section = re.search(r'<section class="card no-print" id="scope-results">.*?</section>', html, re.S)
    assert section
    found = re.findall(r"scope=([A-Z0-9]+)&amp;", section.group(0))
    assert len(found) == 20
    assert all(code.startswith(("T", "D1")) and not code.startswith("TB") for code in found)
    nothing = client.get(url, {"plan": "p23", "scope_q": "<b>不存在</b>"}).content.decode()
    assert "&lt;b&gt;不存在&lt;/b&gt;" in nothing
    assert "<b>不存在</b>" not in nothing
    assert "没有找到单位" in nothing
