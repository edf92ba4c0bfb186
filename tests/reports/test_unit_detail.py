"""The unit page: submissions by quarter, designations, targets covering the unit with its own value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schools.models import Designation, DesignationKind
from submissions.models import Submission
from tests.reports.conftest import add_kindergartens


def url(code: str) -> str:
    return reverse("reports:unit_detail", kwargs={"code": code})


def test_a_kindergarten_page_shows_its_submissions_designations_and_targets(client, report, users, tree):
    Submission.objects.create(org_unit=tree.k1, period=report.periods[2], status="approved")
    Submission.objects.create(org_unit=tree.k1, period=report.q4, status="submitted")
    kind = DesignationKind.objects.create(code="std-kg", name="标准化幼儿园")
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=dt.date(2023, 6, 1))
    client.force_login(users.kate)
    response = client.get(url("K1"), {"period": "2023Q4"})
    assert response.status_code == 200
    assert [s.period.code for s in response.context["own_submissions"]] == ["2023Q4", "2023Q3"]
    assert [d.kind.name for d in response.context["designations"]] == ["标准化幼儿园"]
    targets = {t.code: t for t in response.context["targets"]}
    # K1's own rate: 1000 / 1000 = 100.0 %; no Progress row at K1 → "未单独评估".
    assert targets["kg-rate"].unit_value == Decimal("100")
    assert targets["kg-rate"].unit_status is None
    html = response.content.decode()
    assert "100.0%" in html
    assert "未单独评估" in html


def test_a_district_page_counts_its_schools_submissions_by_status(client, report, users, tree):
    Submission.objects.create(org_unit=tree.s1, period=report.q4, status="approved")
    Submission.objects.create(org_unit=tree.s2, period=report.q4, status="submitted")
    Submission.objects.create(org_unit=tree.k1, period=report.q4, status="approved")
    Submission.objects.create(org_unit=tree.s3, period=report.q4, status="approved")  # D2: not counted
    client.force_login(users.rita)
    response = client.get(url("D1"), {"period": "2023Q4"})
    assert response.context["subtree_counts"] == [{"period": "2023Q4", "total": 3, "approved": 2, "submitted": 1}]
    targets = {t.code: t for t in response.context["targets"]}
    assert targets["kg-rate"].unit_status == "met"  # Progress row at D1
    assert targets["big-class"].unit_value == 0


def test_a_unit_outside_the_scope_is_not_found(client, report, users):
    client.force_login(users.alice)
    assert client.get(url("S3")).status_code == 404
    assert client.get(url("D1")).status_code == 404  # her scope is S1 only
    client.force_login(users.rita)
    assert client.get(url("S3")).status_code == 404


def _count(client, code: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url(code), {"period": "2023Q4"}).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_units(client, report, users, tree):
    client.force_login(users.ivan)
    add_kindergartens(tree.t1, 10, report, prefix="KA")
    few = _count(client, "T1")
    add_kindergartens(tree.t1, 490, report, prefix="KB")
    many = _count(client, "T1")
    # 10 queries: session, user, memberships, the unit, periods, own submissions, subtree submission
    # counts (one GROUP BY), designations of the subtree, covering targets with the unit's value
    # and status as subqueries, breadcrumb, the bell's unread count.
    assert few == many == 11
