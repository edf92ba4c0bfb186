"""The demo targets load on top of the demo tree and plan, link what they can, and load twice to the same state."""

from __future__ import annotations

import datetime

import pytest

from demo import plans as demo
from demo import schools as schools_demo
from demo import targets as demo_targets
from indicators.models import Indicator
from submissions.models import Period
from targets.models import Progress, Target, TargetKind


@pytest.mark.slow
def test_demo_targets_are_linked_and_idempotent(db: None) -> None:
    # given the demo tree, the seed 000 structure and the 2023 quarters
    schools_demo.load(None)
    demo.load(None)
    for q in range(1, 5):
        day = datetime.date(2023, 3 * q - 2, 1)
        Period.objects.create(code=f"2023Q{q}", year=2023, quarter=q, opens_on=day, due_on=day, locks_on=day)

    # and the county indicators of demo.indicators (their figures come from demo.submissions, not loaded here)
    for code in (
        "kg_3yr_rate",
        "kg_preschool_1yr_rate",
        "special_disabled_enrolment_rate",
    ):
        Indicator.objects.create(code=code, name=code, unit="%")

    # when the demo targets load twice
    demo_targets.load(None)
    first = list(Target.objects.order_by("plan__code", "code").values_list("plan__code", "code", "version", "text"))
    demo_targets.load(None)

    # then nothing changed the second time
    assert (
        list(Target.objects.order_by("plan__code", "code").values_list("plan__code", "code", "version", "text"))
        == first
    )
    seed = Target.objects.filter(plan__code="2023-chuyou")
    assert seed.count() == 61
    assert Target.objects.filter(plan__code="2015-county-basic").count() == 66
    # designation counts are linked (no figures needed); sub-targets point at their whole
    assert all(t.indicator_id for t in seed.filter(kind=TargetKind.COUNT_UNITS, code__in=["T03", "T04", "T09"]))
    assert seed.get(code="T02").part_of.code == "T01"
    # the district plan cascades: its targets contribute to the city's
    assert [t.code for t in seed.get(code="T05").contributions.all()] == ["D01-T05"]
    # 第五小学 delivered (met); 特殊教育提升计划 blocked and overdue by Q3 (off track)
    assert Progress.objects.get(target=seed.get(code="T16"), period__code="2023Q4").status == "met"
    assert Progress.objects.get(target=seed.get(code="T21"), period__code="2023Q3").status == "off_track"
    # 招生工作意见 in its 2–4 月 window, issued on 20 April: under way in Q1, met from Q2 on (not before)
    t41 = seed.get(code="T41")
    assert (t41.start_month, t41.due_month, str(t41.completed_on)) == (2, 4, "2023-04-20")
    assert [p.status for p in Progress.objects.filter(target=t41, org_unit=t41.scope).order_by("period__quarter")] == [
        "on_track",
        "met",
        "met",
        "met",
    ]
    # 2023 standard-kindergarten grants of the demo tree: 2023-04-18 and 2023-09-26 → 2 by Q4
    assert Progress.objects.get(target=seed.get(code="T03"), period__code="2023Q4", org_unit__code="CITY").actual == 2
