"""A frequency target said the same way on the dashboard, the target page, its drill-down and the workbook
(``targets.display``): the share of schools as a share, the per-unit rule as a rule — not "67 次 ≥ 3 次 · 100%",
and no district row saying "11 次 +8" beside 滞后."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from indicators.models import Aggregation, Indicator
from reports import drilldown
from schools.models import SchoolType
from targets.models import Progress, Target, TargetKind
from targets.progress import recompute_progress
from targets.queries import TargetRow
from tests.reports.conftest import iv

D = Decimal
SHARE = "67% 的学校达到 每学期≥3次"
RULE = "每所学校 每学期≥3次"


@pytest.fixture
def frequency(report, tree) -> Target:  # noqa: ANN001
    visits = Indicator.objects.create(
        code="visits", name="送教下乡次数", unit="次", decimals=0, aggregation=Aggregation.SUM,
        unit_filter_school_types=[SchoolType.PRIMARY],
    )  # fmt: skip
    target = Target.objects.create(
        plan=report.plan, section=report.quality, code="visits", text="送教下乡每学期不少于3次",
        kind=TargetKind.FREQUENCY, indicator=visits, per_unit_minimum=D(3), scope=tree.city, order=2,
    )  # fmt: skip
    q2, q4 = report.periods[1], report.periods[3]
    # Year to date: second-semester counts S1 6 − 2 = 4, S2 5 − 0 = 5, S3 2 − 1 = 1 (below 3).
    for unit, at_q2, at_q4 in ((tree.s1, "2", "6"), (tree.s2, "0", "5"), (tree.s3, "1", "2")):
        iv(visits, unit, q2, at_q2, None, at_q2)
        iv(visits, unit, q4, at_q4, None, at_q4)
    iv(visits, tree.d1, q4, "11", None, "11")
    iv(visits, tree.d2, q4, "2", None, "2")
    iv(visits, tree.city, q4, "13", None, "13")
    recompute_progress(target_ids=[target.pk])
    return target


def test_the_row_says_a_share_and_a_rule(frequency, tree, report) -> None:  # noqa: ANN001
    stored = Progress.objects.get(target=frequency, org_unit=tree.city, period=report.q4)
    row = TargetRow(frequency, stored.actual, stored.expected, stored.status, [])
    assert (row.actual_text, row.target_text, row.percent) == (SHARE, RULE, 66)
    assert stored.status == "off_track"


def test_dashboard_target_page_drilldown_and_workbook_agree(client, frequency, users, tree) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    dashboard = client.get(reverse("reports:dashboard"), {"plan": "p2023", "period": "2023Q4"}).content.decode()
    assert SHARE in dashboard
    assert RULE in dashboard
    assert "67 次" not in dashboard

    url = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "visits"})
    page = client.get(url, {"period": "2023Q4"}).content.decode()
    assert SHARE in page
    assert RULE in page
    # The drill-down's district rows: each district's own share beside its own status, no "11 次" with a gap.
    assert "100% 的学校达到 每学期≥3次" in page  # 东区: S1 and S2 both reach 3
    assert "0% 的学校达到 每学期≥3次" in page  # 西区: S3 does not
    assert "11 次" not in page
    assert "+8" not in page

    response = client.get("/api/v1/plans/p2023/export.xlsx", {"scope": "CITY", "period": "2023Q4"})
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["教育质量"]
    header = [c.value for c in sheet[3]]
    cells = next(
        dict(zip(header, (c.value for c in r), strict=True))
        for r in sheet.iter_rows(min_row=4)
        if r[0].value == "visits"
    )
    assert (cells["当前值"], cells["目标值"], cells["状态"]) == (SHARE, RULE, "滞后")


def test_the_drilldown_export_carries_the_share(frequency, users, tree, report) -> None:  # noqa: ANN001
    table = drilldown.drilldown_table(users.ivan, frequency, tree.city, report.q4, {})
    header, *body = [table.export_header(), *table.export_rows()]
    assert "达标单位占比" in header
    shares = {row[header.index("代码")]: row[header.index("达标单位占比")] for row in body}
    assert (shares["D1"], shares["D2"]) == (100, 0)


def test_the_plan_page_says_the_share_too(client, frequency, users) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    page = client.get(reverse("plans:plan_detail", args=["p2023"]), {"period": "2023Q4"}).content.decode()
    assert SHARE in page
    assert "67 次" not in page


def test_the_failing_units_keep_their_own_counts(client, frequency, users) -> None:  # noqa: ANN001
    client.force_login(users.ivan)
    url = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "visits"})
    page = client.get(url, {"period": "2023Q4"}).content.decode()
    # S3 did 1 visit this semester: its own count, not "1%".
    assert '<span class="num">1 次</span>' in page
    assert "逐个检查：每所学校 每学期≥3次" in page
