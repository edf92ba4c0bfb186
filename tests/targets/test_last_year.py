"""This year against last year (issue 12 §3): a copied target links to its source (``copied_from``); the plan page
and the dashboard show the source's actual at the same quarter and the change, read in one query.

Numbers: the report fixture's 2023 plan (tests/reports/conftest.py) — kindergarten rate at CITY 2023Q4 = 99.0,
at D1 100.0; large classes at CITY 2023Q4 = 1. The 2024 copy's Q4 rows are written here: CITY 99.5 (▲ 0.5),
D1 99.0 (▼ 1.0); the large-class copy has no 2024 value, so no change is shown.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plans.models import Plan
from targets.models import Comparator, Progress, Target, TargetKind
from targets.plan_copy import copy_plan
from tests.reports.conftest import make_periods


@pytest.fixture
def copied(report, users, tree) -> Plan:  # noqa: ANN001
    periods = make_periods(2024)
    plan = copy_plan(users.bea, report.plan, "p2024", 2024, "2024年初等与学前教育工作要点")
    rate = plan.targets.get(code="kg-rate")
    for unit, actual in ((tree.city, "99.5"), (tree.d1, "99.0")):
        Progress.objects.update_or_create(
            target=rate, period=periods[3], org_unit=unit,
            defaults={"actual": Decimal(actual), "status": "met", "computed_at": timezone.now()},
        )  # fmt: skip
    return plan


def test_copy_plan_links_each_target_to_its_source(report, copied) -> None:  # noqa: ANN001
    assert copied.targets.get(code="kg-rate").copied_from == report.t_rate
    assert copied.targets.get(code="big-class").copied_from == report.t_limit
    assert report.t_rate.copied_from is None


def test_the_plan_page_compares_with_the_same_quarter_last_year(client: Client, users, copied, tree) -> None:  # noqa: ANN001
    Target.objects.create(plan=copied, section=copied.sections.get(code="equity"), code="new", text="新增目标",
                          kind=TargetKind.NARRATIVE, scope=tree.city, order=9)  # fmt: skip
    client.force_login(users.ivan)
    html = client.get(reverse("plans:plan_detail", args=["p2024"])).content.decode()
    assert html.count("去年同期（2023Q4）") == 2  # the two copied targets; the new one shows nothing
    assert "99.0%" in html
    assert "▲ 0.5%" in html
    assert "▼" not in html  # large classes: no 2024 value, no change


def test_the_dashboard_compares_at_its_own_unit(client: Client, users, copied) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("reports:dashboard")
    city = client.get(url, {"plan": "p2024", "period": "2024Q4"}).content.decode()
    assert "去年同期（2023Q4）" in city
    assert "▲ 0.5%" in city
    d1 = client.get(url, {"plan": "p2024", "period": "2024Q4", "scope": "D1"}).content.decode()
    assert "100.0%" in d1
    assert "▼ 1.0%" in d1


def test_the_comparison_costs_one_query_whatever_the_number_of_targets(client: Client, users, report, copied) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    pages = [
        (reverse("plans:plan_detail", args=["p2024"]), {}),
        (reverse("reports:dashboard"), {"plan": "p2024", "period": "2024Q4"}),
    ]

    def queries() -> list[int]:
        counts = []
        for url, params in pages:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url, params).status_code == 200
            counts.append(len(ctx.captured_queries))
        return counts

    before = queries()
    for i in range(3):
        source = Target.objects.create(plan=report.plan, section=report.equity, code=f"extra{i}", text=f"目标{i}",
                                       kind=TargetKind.THRESHOLD, indicator=report.rate, comparator=Comparator.GTE,
                                       target_value=Decimal(90), scope=report.t_rate.scope, order=10 + i)  # fmt: skip
        Progress.objects.create(target=source, period=report.q4, org_unit=source.scope, actual=Decimal(91),
                                status="met", computed_at=timezone.now())  # fmt: skip
        Target.objects.create(plan=copied, section=copied.sections.get(code="equity"), code=f"extra{i}",
                              text=f"目标{i}", kind=TargetKind.THRESHOLD, indicator=report.rate,
                              comparator=Comparator.GTE, target_value=Decimal(90), scope=source.scope,
                              order=10 + i, copied_from=source)  # fmt: skip
    assert queries() == before
