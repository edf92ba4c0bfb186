""" "Which quarter is current" is one rule (submissions.models.current_of): the latest quarter that has opened for
reporting, the earliest before any has. Between a quarter's first day and its opening day (1 April to the day Q2
opens) the plan page showed Q2 while the dashboard showed Q1; now every page, export and the target preview agree."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import time_machine
from django.urls import reverse

from submissions.models import Period, current_of
from tests.reports.conftest import ReportData

ROOT = Path(__file__).resolve().parents[2]


def test_the_rule_on_its_own(report: ReportData) -> None:
    periods = report.periods  # 2023: each quarter opens on its first day
    assert (
        getattr(current_of(periods, dt.date(2022, 12, 1)), "code", None) == "2023Q1"
    )  # nothing open yet: the earliest
    assert getattr(current_of(periods, dt.date(2023, 5, 31)), "code", None) == "2023Q2"
    assert getattr(current_of(periods, dt.date(2024, 3, 1)), "code", None) == "2023Q4"
    assert current_of([], dt.date(2023, 5, 1)) is None
    assert getattr(Period.objects.current(year=2023, on=dt.date(2023, 8, 1)), "code", None) == "2023Q3"
    assert Period.objects.current(year=2031, on=dt.date(2023, 8, 1)) is None


def test_dashboard_plan_page_and_preview_agree_before_q2_opens(client, users, report: ReportData) -> None:  # noqa: ANN001
    # Q2 begins on 1 April but opens for reporting only on 25 May.
    Period.objects.filter(code="2023Q2").update(opens_on=dt.date(2023, 5, 25))
    client.force_login(users.ivan)
    with time_machine.travel(dt.datetime(2023, 4, 15, 10, tzinfo=dt.UTC)):
        dashboard = client.get(reverse("reports:dashboard"), {"plan": report.plan.code})
        plan_page = client.get(reverse("plans:plan_detail", args=[report.plan.code]))
    assert dashboard.context["period"].code == "2023Q1"
    assert plan_page.context["period"].code == "2023Q1"


def test_no_second_copy_of_the_rule() -> None:
    # The old copies were functions choosing "the latest period that has opened/started"; a new one would be found.
    pattern = re.compile(r"def (current_period|default_period)\b|start_date <= today")
    copies = [
        str(path.relative_to(ROOT))
        for app in ("portal", "schools", "submissions", "indicators", "plans", "targets", "reports")
        for path in (ROOT / app).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []
