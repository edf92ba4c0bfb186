"""Issue 13 "Done when": after ``load_demo`` the demo shows one of each case the issue made possible.

A scoped figure and an optional one, 不适用 values, a cv indicator in a county's equity view, a per-district count
target, a monthly frequency target of a 学区, a count target without a quota, a designation level filter and a
month-spanning milestone.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from indicators.models import Aggregation, Indicator, IndicatorValue
from reports import equity
from schools.models import Level, OrgUnit
from submissions.models import Figure, Period, Value
from submissions.reporting import ReportedBy
from targets.models import Target


@pytest.fixture
def demo(db: None) -> None:
    call_command("load_demo", stdout=StringIO())


def test_the_demo_holds_one_of_each(demo: None, client) -> None:  # noqa: ANN001
    active_schools = OrgUnit.objects.filter(is_active=True, level=Level.SCHOOL).count()

    # a scoped figure: reported by fewer units than all schools of its kind, because of its region
    scoped = Figure.objects.get(code="pri_after_school_pupils")
    who = ReportedBy.of(scoped)
    assert who.within
    assert 0 < who.units() < ReportedBy(school_types=who.school_types).units() <= active_schools
    # an optional figure, and one that allows 不适用 with 不适用 answers stored (never as 0)
    assert Figure.objects.filter(is_active=True, required=False).exists()
    assert Figure.objects.filter(is_active=True, allows_not_applicable=True).exists()
    not_applicable = Value.objects.filter(not_applicable=True)
    assert not_applicable.exists()
    assert not not_applicable.exclude(value=None).exists()

    # a cv indicator shown with a value in a district's equity view
    cv_codes = set(Indicator.objects.filter(aggregation=Aggregation.CV, is_active=True).values_list("code", flat=True))
    assert cv_codes
    shown = None
    for district in OrgUnit.objects.filter(level=Level.DISTRICT).order_by("code"):
        for period in Period.objects.order_by("-year", "-quarter"):
            rows = equity.equity_rows(district, period)
            values = [stage.cv for row in rows for stage in row.stages if stage.cv is not None]
            if values:
                shown = (district, period, values[0])
                break
        if shown:
            break
    assert shown is not None, "no cv value in any district's equity view"
    district, period, value = shown
    # The 小学 figures are stage figures: each cv row is the primary stage, and a 九年一贯制 school is its 小学部.
    rows = equity.equity_rows(district, period, furthest=10_000)
    assert {row.stage for row in rows} == {"primary"}
    nine_year = OrgUnit.objects.filter(path__startswith=district.path, school_type="nine_year", is_active=True)
    if nine_year.exists():
        names = {school.name for row in rows for stage in row.stages for school in stage.furthest}
        assert any(name.endswith("（小学部）") for name in names)
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get(reverse("reports:unit_equity", args=[district.code]), {"period": period.code})
    assert response.status_code == 200
    html = response.content.decode()
    assert any(code in html for code in cv_codes)
    assert f"{value:.3f}" in html
    assert IndicatorValue.objects.filter(indicator__code__in=cv_codes, value__isnull=False).exists()

    # a per-district count target, a monthly frequency target of each 学区, a count target without a quota
    # (in the seed plan; this year's plan is a copy of it)
    seed = Target.objects.filter(plan__code="2023-chuyou")
    per_district = seed.get(code="PU1")
    assert (per_district.kind, per_district.applies_to_each_unit, per_district.each_unit_level) == (
        "count_units",
        True,
        Level.DISTRICT,
    )
    monthly = seed.get(code="PU2")
    assert (monthly.kind, monthly.each_unit_level, monthly.rhythm) == ("frequency", Level.TOWNSHIP, "month")
    no_quota = seed.get(code="PU3")
    assert no_quota.kind == "count_units"
    assert no_quota.target_value is None
    assert set(no_quota.progress.filter(org_unit=no_quota.scope).values_list("status", flat=True)) == {"tracked"}

    # an indicator that counts one designation level only
    assert Indicator.objects.filter(aggregation=Aggregation.COUNT_DESIGNATIONS).exclude(designation_level="").exists()

    # a milestone that spans months: starts before it is due
    spanning = Target.objects.filter(kind="milestone", start_month__isnull=False, due_month__isnull=False)
    assert any((t.start_month or 0) < (t.due_month or 0) for t in spanning)
