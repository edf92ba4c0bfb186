"""A school's page lists the targets that concern the school, with its own result under a per-unit rule (issue 14).

A first-grade class-size limit (largest first-grade class ≤ 45, every school checked, scope CITY, primary
schools only). Progress rows exist for CITY and its children D1, D2 (as ``targets.progress`` writes them):
D2's row lists S3 (58 pupils) as failing; D1's lists no school. No school has a row of its own.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators.models import Aggregation, Indicator
from schools.models import Level, OrgUnit, Ownership, SchoolType
from targets.models import Comparator, Target, TargetKind
from tests.reports.conftest import iv, progress

D = Decimal


def url(code: str) -> str:
    return reverse("reports:unit_detail", kwargs={"code": code})


@pytest.fixture
def class_size(report, tree):  # noqa: ANN001
    indicator = Indicator.objects.create(
        code="g1_max_class",
        name="一年级最大班额",
        numerator="g1_max_class",
        decimals=0,
        unit="人",
        aggregation=Aggregation.MAX,
        unit_filter_school_types=[SchoolType.PRIMARY],
    )
    target = Target.objects.create(
        plan=report.plan,
        section=report.quality,
        code="g1-class",
        text="一年级班额不超过 45 人",
        kind=TargetKind.LIMIT,
        indicator=indicator,
        comparator=Comparator.LTE,
        target_value=D(45),
        scope=tree.city,
        order=2,
    )
    q4 = report.q4
    for unit, value in ((tree.s1, "40"), (tree.s2, "44"), (tree.s3, "58"), (tree.t1, "44"), (tree.d1, "44")):
        iv(indicator, unit, q4, value, None, value)
    iv(indicator, tree.d2, q4, "58", None, "58")
    iv(indicator, tree.city, q4, "58", None, "58")
    s3 = {"code": "S3", "name": tree.s3.name, "value": 58.0}
    progress(target, tree.city, q4, "58", "45", "off_track", failing_units=[s3], failing_count=1, units_checked=3)
    progress(target, tree.d1, q4, "44", "45", "met", failing_units=[], failing_count=0, units_checked=2)
    progress(target, tree.d2, q4, "58", "45", "off_track", failing_units=[s3], failing_count=1, units_checked=1)
    return target


def _targets(client, code: str) -> tuple[dict, str]:  # noqa: ANN001
    response = client.get(url(code), {"period": "2023Q4"})
    assert response.status_code == 200
    return {t.code: t for t in response.context["targets"]}, response.content.decode()


def test_a_school_over_the_class_size_limit_is_failing_not_unassessed(client, users, class_size):
    client.force_login(users.bob)
    targets, html = _targets(client, "S3")
    check = targets["g1-class"].school_check
    assert (check.state, check.value) == ("failing", D(58))
    assert 'data-school-check="failing"' in html
    assert "未达成" in html


def test_a_school_within_the_limit_complies(client, users, class_size):
    client.force_login(users.alice)
    targets, html = _targets(client, "S1")
    assert targets["g1-class"].school_check.state == "complying"
    assert 'data-school-check="complying"' in html


def test_a_school_beyond_the_stored_list_is_judged_by_its_own_value(client, users, class_size, report, tree):
    # D1's row lists 200 other failing schools of 250: S2 (44) is not among them, S1 would be at 46.
    others = [{"code": f"X{i:03d}", "name": f"学校{i}", "value": 50.0} for i in range(200)]
    row = class_size.progress.get(org_unit=tree.d1, period=report.q4)
    row.detail = {"failing_units": others, "failing_count": 250, "units_checked": 260}
    row.save()
    class_size.indicator.values.filter(org_unit=tree.s1).update(value=D(46), numerator=D(46))
    client.force_login(users.rita)
    assert _targets(client, "S1")[0]["g1-class"].school_check.state == "failing"
    assert _targets(client, "S2")[0]["g1-class"].school_check.state == "complying"


def test_a_school_sees_only_the_targets_that_concern_it(client, users, class_size, report, tree):
    Target.objects.create(
        plan=report.plan, section=report.equity, code="ms", text="建成智慧教育平台", kind=TargetKind.MILESTONE,
        scope=tree.city, order=9,
    )  # fmt: skip
    client.force_login(users.kate)
    kindergarten, _ = _targets(client, "K1")
    # The class-size limit counts primary schools only; a city milestone is no single school's.
    assert set(kindergarten) == {"kg-rate", "big-class"}
    client.force_login(users.alice)
    primary, _ = _targets(client, "S1")
    assert set(primary) == {"g1-class", "big-class"}  # not the kindergarten enrolment rate
    client.force_login(users.rita)
    district, _ = _targets(client, "D1")  # a district still sees every target covering it
    assert set(district) == {"kg-rate", "big-class", "g1-class", "ms"}


def test_names_in_the_check_are_escaped(client, users, class_size, tree):
    tree.d2.name = '<img src=x onerror="alert(1)">西区'
    tree.d2.save()
    client.force_login(users.bob)
    _, html = _targets(client, "S3")
    assert "&lt;img src=x" in html
    assert "<img src=x" not in html


def _count(client, code: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url(code), {"period": "2023Q4"}).status_code == 200
    return len(ctx.captured_queries)


def test_the_school_page_query_count_does_not_grow_with_the_targets_schools(
    client, users, class_size, report, tree, django_assert_max_num_queries
):
    client.force_login(users.bob)
    few = _count(client, "S3")
    # 300 more primary schools under D2, 200 of them listed as failing, and a second per-unit target.
    schools = OrgUnit.objects.bulk_create(
        OrgUnit(
            code=f"P{i:03d}", name=f"小学{i}", level=Level.SCHOOL, parent=tree.d2, path=f"{tree.d2.path}{i:09d}.",
            depth=tree.d2.depth + 1, school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC,
        )
        for i in range(1, 301)
    )  # fmt: skip
    listed = [{"code": s.code, "name": s.name, "value": 50.0} for s in schools[:199]]
    row = class_size.progress.get(org_unit=tree.d2, period=report.q4)
    row.detail = {"failing_units": [*listed, row.detail["failing_units"][0]], "failing_count": 300}
    row.save()
    second = Target.objects.get(pk=class_size.pk)
    second.pk, second.code = None, "g1-class-2"
    second.save()
    progress(second, tree.d2, report.q4, "58", "45", "off_track", failing_units=listed, failing_count=300)
    with django_assert_max_num_queries(few):
        response = client.get(url("S3"), {"period": "2023Q4"})
    targets = {t.code: t for t in response.context["targets"]}
    assert targets["g1-class"].school_check.state == "failing"  # listed at the end of the list
    assert targets["g1-class-2"].school_check.state == "failing"  # beyond the list: 58 > 45


def test_a_closed_school_keeps_its_targets(client, users, class_size, tree):
    tree.s3.is_active = False
    tree.s3.save()
    client.force_login(users.ivan)
    targets, _ = _targets(client, "S3")
    assert "g1-class" in targets
    assert targets["g1-class"].school_check.state == "failing"


def test_a_frequency_school_not_listed_complies_and_a_threshold_uses_the_quarters_bound(
    client, users, report, tree, class_size
):
    visits = Indicator.objects.create(
        code="visits", name="送教下乡次数", numerator="visits", decimals=0, unit="次", aggregation=Aggregation.SUM
    )
    freq = Target.objects.create(
        plan=report.plan, section=report.quality, code="visits", text="每校每学期送教 2 次", kind=TargetKind.FREQUENCY,
        indicator=visits, comparator=Comparator.GTE, target_value=D(2), per_unit_minimum=D(2), scope=tree.city, order=3,
    )  # fmt: skip
    progress(freq, tree.d1, report.q4, "50", "100", "at_risk", failing_units=[{"code": "S2", "value": 1.0}],
             failing_count=1, units_qualifying=3)  # fmt: skip
    rate = Indicator.objects.create(code="pass", name="合格率", numerator="p", denominator="n", unit="%")
    each = Target.objects.create(
        plan=report.plan, section=report.quality, code="pass", text="每校合格率达 95%", kind=TargetKind.THRESHOLD,
        indicator=rate, comparator=Comparator.GTE, target_value=D(95), applies_to_each_unit=True, scope=tree.city,
        order=4,
    )  # fmt: skip
    # 250 schools fail; the stored list names 200 others. The quarter's bound (expected) is 90, not 95.
    others = [{"code": f"X{i:03d}", "value": 50.0} for i in range(200)]
    progress(each, tree.d1, report.q4, "93", "90", "at_risk", failing_units=others, failing_count=250,
             units_checked=300)  # fmt: skip
    iv(rate, tree.s1, report.q4, "92", "100", "92")
    client.force_login(users.alice)
    targets, _ = _targets(client, "S1")
    assert targets["visits"].school_check.state == "complying"
    assert targets["pass"].school_check.state == "complying"  # 92 ≥ the quarter's 90
    client.force_login(users.rita)
    assert _targets(client, "S2")[0]["visits"].school_check.state == "failing"
