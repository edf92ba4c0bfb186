"""What the report pages say beside a status, checked against the progress rules (docs/progress-rules.md).

- The target page's "未达标单位" block: the list names *schools* checked one by one; the drill-down
  table shows each *child unit's* status. A rate whose schools have no value of their own (按时入学率:
  the denominator, the population aged 6, is only known for districts) is judged on each unit's
  total, so the block must say that, not "none" above a table of off-track districts.
- The dashboard and unit page: a district's share of a city-wide quantity has a value but no status
  of its own (the plan sets no district target): shown as "未单独评估" with the reason, not "无数据".

Progress rows are computed by ``recompute_progress`` from indicator values written here.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from schools.models import OrgUnit
from submissions.models import Period
from targets.models import Comparator, PathMode, Target, TargetKind
from targets.progress import recompute_progress

D = Decimal


@pytest.fixture
def q4(db: None) -> Period:
    periods = []
    for q in range(1, 5):
        start = datetime.date(2023, 3 * q - 2, 1)
        periods.append(
            Period.objects.create(code=f"2023Q{q}", year=2023, quarter=q, opens_on=start, due_on=start, locks_on=start)
        )
    return periods[3]


@pytest.fixture
def section(tree, q4) -> Section:  # noqa: ANN001
    plan = Plan.objects.create(code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city,
                               status=PlanStatus.PUBLISHED)  # fmt: skip
    return Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)


def value(indicator: Indicator, unit: OrgUnit, period: Period, number: str | None) -> None:
    IndicatorValue.objects.create(
        indicator=indicator,
        org_unit=unit,
        period=period,
        value=None if number is None else D(number),
        computed_at=timezone.now(),
    )


def each_unit_target(section: Section, tree, code: str = "T10") -> Target:  # noqa: ANN001
    rate = Indicator.objects.create(code=f"rate_{code}", name="适龄儿童按时入学率", unit="%", decimals=1,
                                    aggregation=Aggregation.RATIO)  # fmt: skip
    return Target.objects.create(
        plan=section.plan, section=section, code=code, text="适龄儿童按时入学率达100%", kind=TargetKind.THRESHOLD,
        indicator=rate, comparator=Comparator.GTE, target_value=D(100), path_mode=PathMode.FLAT,
        applies_to_each_unit=True, scope=tree.city, owner_name="基础教育科",
    )  # fmt: skip


def target_url(t: Target) -> str:
    return reverse("reports:target_detail", kwargs={"plan": t.plan.code, "code": t.code})


def failing_card(html: str) -> str:
    match = re.search(r'<section class="card failing".*?</section>', html, re.S)
    assert match, "no failing-units block"
    return match.group(0)


def drilldown_statuses(response) -> dict[str, str]:  # noqa: ANN001
    return {r.record.code: r.record.status for r in response.context["table"].paginated_rows}


# --- 1. The failing-unit block agrees with the drill-down rows ---


def test_a_rate_without_school_values_explains_why_no_school_is_listed(client, users, tree, section, q4):
    # given 按时入学率 ≥ 100 % for every unit, known for the city and districts only (schools: no value)
    t = each_unit_target(section, tree)
    value(t.indicator, tree.city, q4, "99.6")
    value(t.indicator, tree.d1, q4, "99.2")
    value(t.indicator, tree.d2, q4, "99.9")
    for school in (tree.s1, tree.s2, tree.s3):
        value(t.indicator, school, q4, None)  # the engine stores "no value" for a school without denominator
    recompute_progress()
    client.force_login(users.ivan)
    # when the inspector opens the target page at Q4 (the due quarter)
    response = client.get(target_url(t), {"period": "2023Q4"})
    # then every district is off track in the table, judged on its total (no school was checked) …
    assert drilldown_statuses(response) == {"D1": "off_track", "D2": "off_track"}
    assert response.context["row"].status == "off_track"
    summary = response.context["failing_summary"]
    assert (summary.case, summary.checked, summary.units) == ("no_school_values", 0, [])
    # … and the block says so instead of "none": no empty list under a column of off-track rows
    card = failing_card(response.content.decode())
    assert "无（或尚无数据）" not in card
    assert "无法逐校检查：学校本身没有该指标的数值" in card
    assert "按各自的汇总值判断" in card
    assert "<ul>" not in card


def test_failing_schools_are_listed_with_their_value_and_the_count(client, users, tree, section, q4):
    # given school values: S2 (98.0) falls short of 100, S1 and S3 comply
    t = each_unit_target(section, tree)
    value(t.indicator, tree.city, q4, "99.3")
    value(t.indicator, tree.d1, q4, "99.0")
    value(t.indicator, tree.d2, q4, "100")
    value(t.indicator, tree.s1, q4, "100")
    value(t.indicator, tree.s2, q4, "98.0")
    value(t.indicator, tree.s3, q4, "100")
    recompute_progress()
    client.force_login(users.ivan)
    response = client.get(target_url(t), {"period": "2023Q4"})
    # then D1 (holding S2) is off track, D2 met; the block lists S2, the only failing school of 3 checked
    assert drilldown_statuses(response) == {"D1": "off_track", "D2": "met"}
    assert [f["code"] for f in response.context["failing"]] == ["S2"]
    card = failing_card(response.content.decode())
    assert "共 1 所学校未达到要求（共检查 3 所）：" in card
    assert '东区第二小学</a>：<span class="num">98.0%</span>' in card
    # from D2, where every school complies, the block says so (and the table agrees: S3 alone, met)
    response = client.get(target_url(t), {"period": "2023Q4", "unit": "D2"})
    assert response.context["failing_summary"].case == "none_fail"
    assert "本季度检查的 1 所学校全部达到要求。" in failing_card(response.content.decode())


def test_a_unit_without_its_own_progress_row_says_so(client, users, tree, section, q4):
    t = each_unit_target(section, tree)
    value(t.indicator, tree.city, q4, "99.3")
    value(t.indicator, tree.s2, q4, "98.0")
    recompute_progress()
    client.force_login(users.ivan)
    # T1 (学区) is a grandchild of the scope: Progress rows exist for CITY, D1 and D2 only
    response = client.get(target_url(t), {"period": "2023Q4", "unit": "T1"})
    assert response.context["failing_summary"].case == "not_evaluated"
    assert "本单位没有单独评估" in failing_card(response.content.decode())


def test_the_failing_block_in_english_has_no_chinese_punctuation(client, users, tree, section, q4):
    t = each_unit_target(section, tree)
    value(t.indicator, tree.city, q4, "99.6")
    value(t.indicator, tree.d1, q4, "99.2")
    recompute_progress()
    client.force_login(users.ivan)
    client.cookies["django_language"] = "en"
    card = failing_card(client.get(target_url(t), {"period": "2023Q4"}).content.decode())
    assert "Schools cannot be checked one by one" in card
    assert not re.search(r"[：（）；]", card)


# --- 2. A value with "no data": a share of a city-wide quantity is not assessed per district ---


@pytest.fixture
def entrants(tree, section, q4) -> Target:  # noqa: ANN001
    ind = Indicator.objects.create(code="kg_new_entrants", name="幼儿园新增学位", unit="个", decimals=0,
                                   aggregation=Aggregation.SUM)  # fmt: skip
    t = Target.objects.create(plan=section.plan, section=section, code="T01", text="新增幼儿园学位23000个",
                              kind=TargetKind.QUANTITY, indicator=ind, comparator=Comparator.EQ,
                              target_value=D(23000), scope=tree.city)  # fmt: skip
    value(ind, tree.city, q4, "23500")
    value(ind, tree.d1, q4, "5592")
    recompute_progress()
    return t


def test_a_districts_share_of_a_city_quantity_is_not_assessed_on_the_dashboard(client, users, tree, entrants):
    client.force_login(users.ivan)
    url = reverse("reports:dashboard")
    # the city itself: met (23500 ≥ 23000)
    city = client.get(url, {"plan": "p23", "scope": "CITY", "period": "2023Q4"})
    (row,) = city.context["dash"].rows
    assert (row.status, row.contribution, row.not_assessed) == ("met", False, False)
    # the district: its contribution 5592, status no_data by the rules (no district target) …
    response = client.get(url, {"plan": "p23", "scope": "D1", "period": "2023Q4"})
    (row,) = response.context["dash"].rows
    assert (row.actual, row.status, row.contribution, row.not_assessed) == (D(5592), "no_data", True, True)
    html = response.content.decode()
    # … shown as "not assessed separately" with the reason, not as a bare "无数据" beside a value
    assert '<span class="badge badge-not_assessed" title="市教育局的目标不分解到下级单位' in html
    assert "未单独评估" in html
    assert "仅计贡献" in html
    assert "badge badge-no_data" not in html.split("targets-table", 1)[1]
    assert "在状态汇总中计为“未评估”" in html


def test_the_summary_counts_a_row_not_assessed_on_its_own_and_the_filter_finds_it(client, users, tree, entrants):
    client.force_login(users.ivan)
    url = reverse("reports:dashboard")
    response = client.get(url, {"plan": "p23", "scope": "D1", "period": "2023Q4"})
    totals = {status: count for status, _label, count in response.context["dash"].totals}
    # a contribution is not a target without data: the summary says what the table says
    assert (totals["not_assessed"], totals["no_data"]) == (1, 0)
    assert '<span class="badge badge-not_assessed">未评估</span> <strong>1</strong>' in response.content.decode()
    only = client.get(url, {"plan": "p23", "scope": "D1", "period": "2023Q4", "status": "not_assessed"})
    assert [row.target.code for row in only.context["dash"].rows] == ["T01"]
    none = client.get(url, {"plan": "p23", "scope": "D1", "period": "2023Q4", "status": "no_data"})
    assert none.context["dash"].rows == []
    # the city's own row is assessed: the filter for "not assessed" leaves it out there
    city = client.get(url, {"plan": "p23", "scope": "CITY", "period": "2023Q4", "status": "not_assessed"})
    assert city.context["dash"].rows == []


def test_the_workbook_marks_a_districts_share_not_assessed_as_the_page_does(client, users, tree, entrants):
    import io

    import openpyxl

    client.force_login(users.ivan)
    response = client.get("/api/v1/plans/p23/export.xlsx", {"scope": "D1", "period": "2023Q4"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    overview = {row[0]: row[1] for row in book["概览"].iter_rows(min_row=5, max_row=11, values_only=True)}
    assert (overview["未评估"], overview["无数据"]) == (1, 0)
    section = book["主要目标"]
    header = [cell.value for cell in section[3]]
    (t01,) = [row for row in section.iter_rows(min_row=4, values_only=True) if row[0] == "T01"]
    assert t01[header.index("状态")] == "未评估"


def test_a_districts_share_is_marked_not_assessed_on_its_unit_page(client, users, tree, entrants):
    client.force_login(users.ivan)
    response = client.get(reverse("reports:unit_detail", kwargs={"code": "D1"}), {"period": "2023Q4"})
    (t,) = response.context["targets"]
    assert (t.unit_value, t.unit_status, t.unit_contribution) == (D(5592), "no_data", True)
    html = response.content.decode()
    assert 'class="badge badge-not_assessed"' in html
    assert "badge badge-no_data" not in html


# --- 4. The status column: "未单独评估" is a badge (kept on one line), not loose help text ---


def test_not_assessed_on_a_school_page_is_a_one_line_badge(client, users, tree, section, q4):
    t = each_unit_target(section, tree)
    value(t.indicator, tree.city, q4, "99.3")
    value(t.indicator, tree.s1, q4, "100")
    recompute_progress()
    client.force_login(users.ivan)
    html = client.get(reverse("reports:unit_detail", kwargs={"code": "S1"}), {"period": "2023Q4"}).content.decode()
    assert re.search(r'<span class="badge badge-not_assessed" title="[^"]+">未单独评估</span>', html)
    assert '<span class="help">未单独评估</span>' not in html


# --- 5. Before the target's 起评季度: the value is shown, "not assessed yet" instead of a status ---


def test_a_quarter_before_the_assess_from_quarter_is_shown_as_not_assessed_yet(client, users, tree, section, q4):
    ind = Indicator.objects.create(code="pri_new_entrants", name="一年级新生", unit="人", decimals=0,
                                   aggregation=Aggregation.SUM)  # fmt: skip
    q1, q3 = Period.objects.get(code="2023Q1"), Period.objects.get(code="2023Q3")
    Target.objects.create(plan=section.plan, section=section, code="T07", text="招收一年级新生23000人",
                          kind=TargetKind.QUANTITY, indicator=ind, comparator=Comparator.GTE,
                          target_value=D(23000), scope=tree.city, assess_from=q3)  # fmt: skip
    value(ind, tree.city, q1, "0")
    value(ind, tree.city, q3, "23833")
    recompute_progress()
    client.force_login(users.ivan)
    url = reverse("reports:dashboard")

    spring = client.get(url, {"plan": "p23", "scope": "CITY", "period": "2023Q1"})
    (row,) = spring.context["dash"].rows
    assert (row.actual, row.status, row.assess_from, row.percent) == (D(0), "no_data", "2023Q3", None)
    totals = {status: count for status, _label, count in spring.context["dash"].totals}
    assert (totals["not_assessed"], totals["no_data"], totals["off_track"]) == (1, 0, 0)
    html = spring.content.decode()
    assert re.search(
        r'<span class="badge badge-not_assessed" title="本目标自2023Q3起评估[^"]*">未到起评季度</span>', html
    )
    assert "“未到起评季度”" in html  # the legend
    assert "“未单独评估”" not in html

    autumn = client.get(url, {"plan": "p23", "scope": "CITY", "period": "2023Q3"})
    (row,) = autumn.context["dash"].rows
    assert (row.status, row.assess_from, row.percent) == ("met", "", 100)

    detail = client.get(reverse("reports:target_detail", kwargs={"plan": "p23", "code": "T07"}), {"period": "2023Q1"})
    assert "未到起评季度：本目标自2023Q3起评估" in detail.content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(url, {"plan": "p23", "scope": "CITY", "period": "2023Q1"}).content.decode()
    assert "Not assessed yet" in english
    assert "assessed from 2023Q3" in english
