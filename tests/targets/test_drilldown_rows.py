"""The drill-down table's body rows are rendered by DrilldownTable.rows_html (the league table's hot
path); they must be the very HTML django-tables2's generic row loop produces for the same page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from schools.models import Level, OrgUnit, Ownership, SchoolType
from tests.reports.conftest import iv, progress

RATE_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})
LIMIT_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "big-class"})


def tbody(html: str) -> str:
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, re.S)
    assert body is not None
    return re.sub(r">\s+<", "><", body.group(1).strip())


def both_ways(client, url: str, params: dict[str, str]) -> tuple[str, str]:  # noqa: ANN001
    """(rows_html's body, django-tables2's generic body) of the same table page."""
    response = client.get(url, params)
    assert response.status_code == 200
    table, request = response.context["table"], response.wsgi_request
    fast = tbody(table.as_html(request))
    table.template_name = "includes/table.html"  # the generic row loop
    return fast, tbody(table.as_html(request))


@pytest.fixture
def varied(report, tree):  # noqa: ANN001, ANN201
    """Kindergartens covering every kind of cell: a small denominator, no value at all, a status,
    and a name with markup that must be escaped."""
    tiny = OrgUnit.objects.create(
        code="K9<i>&",
        name='<b>小&"幼儿园"</b>',
        level=Level.SCHOOL,
        parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN,
        ownership=Ownership.PRIVATE,
    )
    iv(report.rate, tiny, report.q4, "5", "12", "41.7")
    progress(report.t_rate, tiny, report.q4, "41.7", "99", "off_track")
    OrgUnit.objects.create(
        code="K8", name="无数据幼儿园", level=Level.SCHOOL, parent=tree.d1, school_type=SchoolType.KINDERGARTEN
    )
    return report


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (RATE_URL, {"period": "2023Q4", "rows": "schools"}),
        (RATE_URL, {"period": "2023Q4", "rows": "schools", "sort": "-name"}),
        (RATE_URL, {"period": "2023Q4"}),  # districts: names link one level down
        (RATE_URL, {"period": "2023Q1", "rows": "schools"}),  # no values at all in Q1 at the schools
        (LIMIT_URL, {"period": "2023Q4", "rows": "schools"}),  # a count: no small-denominator guard
        (RATE_URL, {"period": "2023Q4", "rows": "schools", "ownership": "public", "school_type": "primary"}),  # empty
    ],
)
def test_the_fast_rows_equal_django_tables2s_rows(client, varied, users, url, params):
    client.force_login(users.ivan)
    fast, generic = both_ways(client, url, params)
    assert fast == generic


def test_the_rows_carry_the_cells_readers_rely_on(client, varied, users):
    client.force_login(users.ivan)
    fast, _generic = both_ways(client, RATE_URL, {"period": "2023Q4", "rows": "schools"})
    assert "&lt;b&gt;小&amp;&quot;幼儿园&quot;&lt;/b&gt;" in fast  # escaped, never markup
    assert "<b>小" not in fast
    assert ">K9&lt;i&gt;&amp;<" in fast
    assert "样本过小（分母 12）" in fast
    assert '<span class="badge badge-off_track">' in fast
    assert ">民办<" in fast  # ownership shown by its label, not its code
    assert ">无数据<" in fast
    empty, _generic = both_ways(client, RATE_URL, {"period": "2023Q4", "rows": "schools", "school_type": "primary"})
    assert "暂无数据" in empty
