"""League tables (a target page's drill-down, ``?rows=schools``): a rank and a status on every row, values carried
forward from an earlier quarter marked, and a rate that schools do not carry explained (issue 14).

The report fixture's 入园率 target is "≥ 99 %" over kindergartens: K1 100.0 %, K2 98.0 % in 2023Q4, no school has a
progress row of its own (rows exist for CITY, D1 and D2).
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from schools.models import Level, OrgUnit, Ownership, SchoolType
from targets.models import Comparator, Target, TargetKind
from tests.reports.conftest import add_kindergartens, iv

D = Decimal
RATE_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})


def _rows(client, url: str = RATE_URL, **params: str) -> tuple[dict, str]:  # noqa: ANN001
    response = client.get(url, {"period": "2023Q4", "rows": "schools", **params})
    assert response.status_code == 200
    rows = {r.record.code: r.record for r in response.context["table"].paginated_rows}
    return rows, response.content.decode()


def test_every_school_gets_a_rank_and_a_status_ties_share_a_rank(client, report, users, tree):
    add_kindergartens(tree.t1, 2, report, prefix="KA")  # two more at 100.0 %: tied with K1
    empty = OrgUnit.objects.create(
        code="K9", name="无数据幼儿园", level=Level.SCHOOL, parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN, ownership=Ownership.PUBLIC,
    )  # fmt: skip
    client.force_login(users.ivan)
    rows, html = _rows(client)
    assert {code: rows[code].rank for code in rows} == {"K1": 1, "KA0000": 1, "KA0001": 1, "K2": 4, "K9": None}
    assert {code: rows[code].status for code in rows} == {
        "K1": "met", "KA0000": "met", "KA0001": "met", "K2": "below", "K9": None,
    }  # fmt: skip
    assert "未达成" in html
    assert "名次" in html
    # Sorted by rank: the best first, the school without a value last and unranked.
    ordered, _ = _rows(client, sort="rank")
    assert list(ordered)[-1] == empty.code
    assert [ordered[c].rank for c in ordered] == [1, 1, 1, 4, None]


def test_a_small_denominator_is_not_ranked(client, report, users, tree):
    small = OrgUnit.objects.create(
        code="K5", name="小幼儿园", level=Level.SCHOOL, parent=tree.d2,
        school_type=SchoolType.KINDERGARTEN, ownership=Ownership.PUBLIC,
    )  # fmt: skip
    iv(report.rate, small, report.q4, "12", "12", "100.0")  # 12 < SMALL_DENOMINATOR_THRESHOLD (20)
    client.force_login(users.ivan)
    rows, _ = _rows(client)
    assert rows["K5"].rank is None
    assert rows["K5"].status == "met"  # its value still meets the target
    assert (rows["K1"].rank, rows["K2"].rank) == (1, 2)


def test_children_keep_their_progress_status(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4"})
    rows = {r.record.code: r.record for r in response.context["table"].paginated_rows}
    assert (rows["D1"].status, rows["D1"].rank) == ("met", 1)
    assert (rows["D2"].status, rows["D2"].rank) == ("off_track", 2)


def test_the_export_carries_rank_and_status(client, report, users):
    client.force_login(users.ivan)
    response = client.get(RATE_URL, {"period": "2023Q4", "rows": "schools", "sort": "rank", "_export": "csv"})
    lines = response.content.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    status, rank = header.index("状态"), header.index("名次")
    cells = [line.split(",") for line in lines[1:]]
    assert [(c[0], c[status], c[rank]) for c in cells] == [("K1", "已达成", "1"), ("K2", "未达成", "2")]


def test_values_carried_forward_are_marked(client, report, users, tree):
    IndicatorValue.objects.filter(indicator=report.rate, org_unit=tree.k2, period=report.q4).update(carried_units=1)
    IndicatorValue.objects.filter(indicator=report.rate, org_unit=tree.d2, period=report.q4).update(carried_units=3)
    client.force_login(users.ivan)
    _, schools = _rows(client)
    assert schools.count("沿用此前季度的数据") == 1  # K2's own value
    children = client.get(RATE_URL, {"period": "2023Q4"}).content.decode()
    assert "含 3 个单位沿用此前季度的数据" in children


def _district_only_rate(report, tree) -> str:  # noqa: ANN001
    """按时入学率: the population aged 6 is counted by districts; schools report entrants, no rate of their own."""
    rate = Indicator.objects.create(
        code="ontime", name="<b>按时入学率</b>", numerator="entrants", denominator="pop6", factor=D(100),
        decimals=1, unit="%", aggregation=Aggregation.RATIO,
    )  # fmt: skip
    Target.objects.create(
        plan=report.plan, section=report.equity, code="ontime", text="按时入学率达 99%", kind=TargetKind.THRESHOLD,
        indicator=rate, comparator=Comparator.GTE, target_value=D(99), scope=tree.city, order=5,
    )  # fmt: skip
    now = timezone.now()
    for unit, num, den in ((tree.city, 990, 1000), (tree.d1, 500, 500), (tree.d2, 490, 500)):
        IndicatorValue.objects.create(
            indicator=rate, org_unit=unit, period=report.q4, numerator=num, denominator=den,
            value=D(num) * 100 / den, unit_count=1, computed_at=now,
        )  # fmt: skip
    for school in (tree.s1, tree.s2, tree.s3):
        IndicatorValue.objects.create(
            indicator=rate, org_unit=school, period=report.q4, numerator=100, denominator=None, value=None,
            unit_count=1, computed_at=now,
        )  # fmt: skip
    return reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "ontime"})


def test_a_rate_schools_do_not_carry_is_explained_instead_of_an_empty_league_table(client, report, users, tree):
    url = _district_only_rate(report, tree)
    client.force_login(users.ivan)
    response = client.get(url, {"period": "2023Q4", "rows": "schools"})
    html = response.content.decode()
    assert response.context["schools_carry"] is False
    assert "schools-carry-none" in html
    assert "无法逐校排名" in html
    assert "&lt;b&gt;按时入学率&lt;/b&gt;" in html  # the indicator's name is text
    assert "<b>按时入学率</b>" not in html
    # The districts do carry it: the children view is a table as before.
    children = client.get(url, {"period": "2023Q4"})
    assert children.context["schools_carry"] is True
    assert "schools-carry-none" not in children.content.decode()


def test_a_rate_with_no_value_anywhere_yet_is_not_explained_away(client, report, users, tree):
    url = _district_only_rate(report, tree)
    IndicatorValue.objects.filter(indicator__code="ontime").update(value=None)
    client.force_login(users.ivan)
    response = client.get(url, {"period": "2023Q4", "rows": "schools"})
    assert response.context["schools_carry"] is True  # no data this quarter: nothing to explain


def test_school_names_in_the_league_table_are_escaped(client, report, users, tree):
    tree.k2.name = "<script>alert(1)</script>幼儿园"
    tree.k2.save()
    client.force_login(users.ivan)
    _, html = _rows(client)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;幼儿园" in html


def test_the_league_table_query_count_does_not_grow_with_the_schools(
    client, report, users, tree, django_assert_max_num_queries
):
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "rows": "schools", "sort": "rank"}
    add_kindergartens(tree.t1, 5, report, prefix="KA")
    with django_assert_max_num_queries(50) as few:
        client.get(RATE_URL, params)
    add_kindergartens(tree.t1, 300, report, prefix="KB")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(RATE_URL, params)
    assert response.context["table"].paginated_rows[0].record.rank == 1
