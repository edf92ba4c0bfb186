"""The target preview (the 预览 button and the live JSON) is what saving stores: ``targets_service.preview_target``
runs ``create_target`` / ``update_target`` themselves in a transaction rolled back, for every kind (issue 13 §6)."""

# ruff: noqa: F811  (the fixtures imported from test_target_pages are parameters and local names here)
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from indicators.models import Aggregation, Indicator, IndicatorValue
from plans.models import Plan, PlanStatus, Section
from portal.errors import ServiceError
from portal.models import ConfigChange
from schools.models import Designation, DesignationKind
from submissions.models import Period
from targets import targets_service
from targets.models import Comparator, MilestoneStatus, Progress, Rhythm, Target, TargetChange, TargetKind
from targets.progress import ProgressPreview
from tests.targets.test_target_pages import _form_data, plan, q1  # noqa: F401  (fixtures)

D = Decimal
TODAY = datetime.datetime(2023, 2, 15, 8, tzinfo=datetime.UTC)  # 2023Q1 is the current quarter


@pytest.fixture
def setting(tree, users) -> dict[str, Any]:  # noqa: ANN001
    day = datetime.date(2023, 1, 1)
    q1 = Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)
    plan = Plan.objects.create(code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city,
                               status=PlanStatus.PUBLISHED)  # fmt: skip
    section = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    now = timezone.now()

    def values(indicator: Indicator, numbers: dict[Any, int]) -> None:
        for unit, number in numbers.items():
            IndicatorValue.objects.create(indicator=indicator, org_unit=unit, period=q1, value=D(number),
                                          computed_at=now)  # fmt: skip

    rate = Indicator.objects.create(code="kg_rate", name="入园率", aggregation=Aggregation.RATIO)
    values(rate, {tree.city: 97})
    places = Indicator.objects.create(code="places", name="新增学位", aggregation=Aggregation.SUM)
    values(places, {tree.city: 40})
    cases = Indicator.objects.create(code="cases", name="违规办学", aggregation=Aggregation.SUM)
    values(cases, {tree.city: 1, tree.d1: 1, tree.d2: 0, tree.s1: 1, tree.s2: 0, tree.s3: 0})
    lessons = Indicator.objects.create(code="lessons", name="公开课", aggregation=Aggregation.SUM)
    values(lessons, {tree.city: 5, tree.d1: 3, tree.d2: 2, tree.s1: 3, tree.s2: 0, tree.s3: 2})
    kind = DesignationKind.objects.create(code="model_kg", name="示范园")
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 1, 20))
    designated = Indicator.objects.create(
        code="model_kg", name="示范园", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind
    )
    common = {"section": section, "scope": tree.city, "path_mode": "flat"}
    kinds: dict[str, dict[str, Any]] = {
        TargetKind.THRESHOLD: {"indicator": rate, "comparator": Comparator.GTE, "target_value": D(99)},
        TargetKind.QUANTITY: {"indicator": places, "comparator": Comparator.GTE, "target_value": D(100)},
        TargetKind.COUNT_UNITS: {"indicator": designated, "comparator": Comparator.GTE, "target_value": D(2)},
        TargetKind.LIMIT: {"indicator": cases, "comparator": Comparator.LTE, "target_value": D(0)},
        TargetKind.FREQUENCY: {
            "indicator": lessons,
            "comparator": Comparator.GTE,
            "target_value": D(2),
            "per_unit_minimum": D(2),
            "rhythm": Rhythm.SEMESTER,
        },  # fmt: skip
        TargetKind.MILESTONE: {"milestone_status": MilestoneStatus.IN_PROGRESS, "due_date": datetime.date(2023, 9, 1)},
        TargetKind.NARRATIVE: {},
    }
    return {"plan": plan, "q1": q1, "user": users.bea, "common": common, "kinds": kinds}


def _stored() -> tuple[int, ...]:
    return (
        Target.objects.count(),
        Progress.objects.count(),
        TargetChange.objects.count(),
        ConfigChange.objects.count(),
        Progress.objects.filter(status="met").count(),
    )


def _as_saved(target: Target, q1: Period) -> tuple[Any, ...]:
    row = Progress.objects.get(target=target, org_unit=target.scope, period=q1)
    return (row.status, row.actual, row.expected, row.projection, row.detail)


def _as_previewed(preview: ProgressPreview) -> tuple[Any, ...]:
    def dec(number: float | None) -> Decimal | None:
        return None if number is None else D(str(number))

    return (preview.status, dec(preview.actual), dec(preview.expected), dec(preview.projection),
            preview.detail.to_json())  # fmt: skip


def _same(preview: ProgressPreview, target: Target, q1: Period) -> None:
    status, actual, expected, projection, detail = _as_saved(target, q1)
    p_status, p_actual, p_expected, p_projection, p_detail = _as_previewed(preview)
    assert (p_status, p_detail) == (status, detail)
    for a, b in ((p_actual, actual), (p_expected, expected), (p_projection, projection)):
        assert (a is None and b is None) or (a is not None and b is not None and a == b.normalize().quantize(a))


@pytest.mark.parametrize("kind", list(TargetKind.values))
def test_preview_of_a_new_target_is_what_saving_stores_and_stores_nothing(setting, kind: str) -> None:  # noqa: ANN001
    fields = {**setting["common"], **setting["kinds"][kind], "kind": kind, "code": "T90", "text": f"一个{kind}目标"}
    before = _stored()
    with time_machine.travel(TODAY, tick=False):
        previewed = targets_service.preview_target(setting["user"], setting["plan"], fields)
        assert _stored() == before  # nothing written: no target, progress, history or audit row
        assert previewed.period == "2023Q1"
        saved = targets_service.create_target(setting["user"], setting["plan"], fields)
    _same(previewed, saved, setting["q1"])
    if kind == TargetKind.THRESHOLD:
        assert previewed.status == "at_risk"  # 97 against 99: not a vacuous "no data" on both sides


@pytest.mark.parametrize("kind", [TargetKind.THRESHOLD, TargetKind.LIMIT, TargetKind.FREQUENCY])
def test_preview_of_a_change_is_what_the_update_stores(setting, kind: str) -> None:  # noqa: ANN001
    fields = {**setting["common"], **setting["kinds"][kind], "kind": kind, "code": "T91", "text": "目标"}
    with time_machine.travel(TODAY, tick=False):
        target = targets_service.create_target(setting["user"], setting["plan"], fields)
        changed = {"target_value": D(96) if kind == TargetKind.THRESHOLD else D(1)}
        if kind == TargetKind.FREQUENCY:
            changed["per_unit_minimum"] = D(1)
        before, version = _stored(), target.version
        previewed = targets_service.preview_target(setting["user"], setting["plan"], changed, target=target)
        assert _stored() == before
        target.refresh_from_db()
        assert (target.version, target.target_value) == (version, fields["target_value"])
        saved = targets_service.update_target(setting["user"], target, changed, version=version, reason="调整")
    _same(previewed, saved, setting["q1"])


def test_a_preview_refuses_what_saving_refuses(setting) -> None:  # noqa: ANN001
    fields = {**setting["common"], **setting["kinds"][TargetKind.THRESHOLD], "kind": TargetKind.THRESHOLD,
              "code": "T92", "text": "x"}  # fmt: skip
    targets_service.create_target(setting["user"], setting["plan"], fields)
    before = _stored()
    with pytest.raises(ServiceError) as refused, time_machine.travel(TODAY, tick=False):
        targets_service.preview_target(setting["user"], setting["plan"], fields)  # the code is taken
    with pytest.raises(ServiceError) as saving:
        targets_service.create_target(setting["user"], setting["plan"], fields)
    assert refused.value.errors == saving.value.errors
    assert _stored() == before


def test_the_button_and_the_live_preview_show_what_saving_would_refuse(client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    existing = Target.objects.get(code="T05")
    data = _form_data(existing, target_value="96")  # a new target under a code already taken
    data.pop("version")
    before = _stored()
    live = client.get(reverse("plans:target_preview", args=["p23"]), data).json()
    assert "code" in live["errors"]
    button = client.post(reverse("plans:target_create", args=["p23"]), {**data, "preview": "1"})
    assert button.status_code == 200
    assert live["errors"]["code"][0] in button.content.decode()
    assert _stored() == before
