"""The target page lists the child-plan targets that contribute to it (district plans cascading the
city plan), with their scope and status, limited to what the viewer may see; the plan page and the
target page read the same function."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans.models import Plan, Section
from targets.models import Comparator, Target, TargetKind
from targets.queries import target_contributions
from tests.reports.conftest import progress

RATE_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})


@pytest.fixture
def cascade(report, tree):  # noqa: ANN001, ANN201
    """Two district plans under the city plan; each has a target contributing to the city's kg-rate.

    D1's target (≥ 99.5 %) is met in 2023Q4 with 100.0; D2's target (≥ 99 %) has no progress row.
    """
    targets = {}
    for district, goal in ((tree.d1, "99.5"), (tree.d2, "99")):
        plan = Plan.objects.create(
            code=f"p2023-{district.code.lower()}",
            title=f"{district.name}2023年工作要点",
            year=2023,
            owner_unit=district,
            parent=report.plan,
        )
        section = Section.objects.create(plan=plan, code="equity", title="教育公平", order=1)
        targets[district.code] = Target.objects.create(
            plan=plan,
            section=section,
            code=f"kg-{district.code.lower()}",
            text=f"{district.name}学前一年入园率达 {goal}% 以上",
            kind=TargetKind.THRESHOLD,
            indicator=report.rate,
            comparator=Comparator.GTE,
            target_value=Decimal(goal),
            scope=district,
            contributes_to=report.t_rate,
        )
    progress(targets["D1"], tree.d1, report.q4, "100.0", "99.5", "met")
    return targets


def test_the_target_page_lists_the_contributing_targets_with_their_status(client, cascade, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4"})
    rows = [
        (c.target.code, c.target.scope.code, c.progress.status if c.progress else None)
        for c in response.context["contributions"]
    ]
    assert rows == [("kg-d1", "D1", "met"), ("kg-d2", "D2", None)]
    html = response.content.decode()
    section = html[html.index('class="card contributions"') :]
    section = section[: section.index("</section>")]
    assert "东区学前一年入园率达 99.5% 以上" in section
    assert reverse("reports:target_detail", kwargs={"plan": "p2023-d1", "code": "kg-d1"}) in section
    # D1's row carries its "met" badge and value; D2 (no progress row) says "no data".
    assert section.count("badge-met") == 1
    assert section.count("badge-no_data") == 1


def test_a_district_reviewer_sees_only_the_contributions_in_their_scope(client, cascade, users):
    client.force_login(users.rita)  # reviewer of D1
    response = client.get(RATE_URL, {"period": "2023Q4"})
    assert [c.target.code for c in response.context["contributions"]] == ["kg-d1"]
    assert "kg-d2" not in response.content.decode()


def test_the_child_target_page_links_up_to_the_parent_target(client, cascade, users):
    client.force_login(users.ivan)
    response = client.get(reverse("reports:target_detail", kwargs={"plan": "p2023-d1", "code": "kg-d1"}))
    assert response.status_code == 200
    assert response.context["contributions"] == []
    assert f"{RATE_URL}?period=" in response.content.decode()


def test_no_status_is_shown_for_a_child_plan_of_another_year(cascade, report, users):
    d1 = cascade["D1"]
    d1.plan.year = 2024
    d1.plan.save()
    result = target_contributions(users.ivan, [report.t_rate], report.q4)
    assert [(c.target.code, c.progress) for c in result[report.t_rate.pk]] == [("kg-d1", None), ("kg-d2", None)]


def test_the_contributions_cost_two_queries_whatever_their_number(cascade, report, users):
    with CaptureQueriesContext(connection) as ctx:
        result = target_contributions(users.ivan, [report.t_rate, report.t_limit], report.q4)
    # memberships of the user (scope), the child targets, their progress at their own scope.
    assert len(ctx.captured_queries) == 3
    assert set(result) == {report.t_rate.pk}
    with CaptureQueriesContext(connection) as ctx:
        assert target_contributions(users.ivan, [], report.q4) == {}
    assert len(ctx.captured_queries) == 0
