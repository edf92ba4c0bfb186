# ruff: noqa: F811  (pytest fixtures imported from test_target_pages are parameters by the same name)
"""The target form per kind (targets/kind_fields.py), the next free code and number, document order.

Issue 12 §4: the form shows only the fields of the chosen kind, in that kind's words; fields of other kinds
are ignored and cleared on save; the live preview and the saved result agree; the next code is offered.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from plans.models import Plan, WorkItem
from targets import kind_fields
from targets.models import Comparator, Target, TargetKind
from tests.targets.test_target_pages import _form_data, plan, q1  # noqa: F401  (fixtures)


def _row(html: str, name: str) -> str:
    """The opening tag of the form row of field ``name``."""
    match = re.search(rf'<div class="field" data-field="{name}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_the_table_gives_every_kind_its_own_fields() -> None:
    assert "applies_to_each_unit" in kind_fields.fields_of(TargetKind.THRESHOLD)
    assert "per_unit_minimum" not in kind_fields.fields_of(TargetKind.THRESHOLD)
    assert "per_unit_minimum" in kind_fields.fields_of(TargetKind.FREQUENCY)
    assert "indicator" not in kind_fields.fields_of(TargetKind.MILESTONE)
    assert "milestone_status" in kind_fields.fields_of(TargetKind.MILESTONE)
    assert kind_fields.fields_of(TargetKind.NARRATIVE) == frozenset(kind_fields.COMMON_FIELDS)
    assert str(kind_fields.text_of(TargetKind.THRESHOLD, "applies_to_each_unit").label) == "每个单位须达到"
    assert kind_fields.fields_of("nonsense") == kind_fields.fields_of(TargetKind.THRESHOLD)
    cleared = kind_fields.only_kind_fields(
        TargetKind.MILESTONE, {"text": "x", "per_unit_minimum": Decimal(2), "comparator": "gte",
                               "applies_to_each_unit": True, "at_risk_margin": Decimal("0.2")}
    )  # fmt: skip
    assert cleared == {"text": "x", "per_unit_minimum": None, "comparator": "", "applies_to_each_unit": False,
                       "at_risk_margin": Decimal("0.05")}  # fmt: skip


def test_the_form_shows_only_the_fields_of_the_target_kind_in_its_words(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    threshold = client.get(reverse("plans:target_update", args=["p23", "T05"])).content.decode()
    assert " hidden" not in _row(threshold, "applies_to_each_unit")
    assert " hidden" in _row(threshold, "per_unit_minimum")
    assert " hidden" in _row(threshold, "milestone_status")
    assert "每个单位须达到" in threshold
    milestone = client.get(reverse("plans:target_update", args=["p23", "T16"])).content.decode()
    assert " hidden" in _row(milestone, "indicator")
    assert " hidden" in _row(milestone, "applies_to_each_unit")
    assert " hidden" not in _row(milestone, "milestone_status")
    assert " hidden" not in _row(milestone, "due_date")
    assert "须在此日期前完成" in milestone
    # The browser gets the same table (target-kind.js): the frequency wording is there for a switch.
    script = re.search(r'id="target-kind-fields"[^>]*>(.*?)</script>', threshold, re.S)
    assert script
    table = json.loads(script.group(1))
    assert table["frequency"]["per_unit_minimum"]["label"] == "每个单位每周期至少（次）"
    assert "per_unit_minimum" not in table["threshold"]
    assert table["narrative"]["scope"]["label"] == "范围"  # a kind without its own wording: the form's label
    assert "js/target-kind.js" in threshold


def test_a_new_target_without_js_shows_the_kind_asked_for(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    url = reverse("plans:target_create", args=["p23"])
    html = client.get(url, {"kind": "frequency"}).content.decode()
    assert " hidden" not in _row(html, "per_unit_minimum")
    assert " hidden" in _row(html, "applies_to_each_unit")
    # "预览" re-renders the form in the kind chosen meanwhile (no JS needed to see the right rows).
    posted = client.post(url, {"kind": "milestone", "preview": "1", "code": "T17", "text": "x"}).content.decode()
    assert " hidden" not in _row(posted, "milestone_status")
    assert " hidden" in _row(posted, "per_unit_minimum")


def test_switching_the_kind_clears_the_other_kinds_values_and_the_preview_agrees(
    client: Client, users, plan, tree
) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    target = Target.objects.get(code="T05")
    Target.objects.filter(pk=target.pk).update(applies_to_each_unit=True)
    target.refresh_from_db()
    url = reverse("plans:target_update", args=["p23", "T05"])
    # The browser still posts the hidden rows' values (indicator, comparator, target value, per-unit flag).
    data = _form_data(target, kind="milestone", applies_to_each_unit="on", per_unit_minimum="3",
                      milestone_status="in_progress", reason="改为里程碑")  # fmt: skip
    live = client.get(reverse("plans:target_preview", args=["p23"]), {**data, "target": "T05"}).json()  # type: ignore[arg-type]
    assert client.post(url, data).status_code == 302
    target.refresh_from_db()
    assert (target.kind, target.indicator_id, target.comparator, target.target_value) == ("milestone", None, "", None)
    assert (target.applies_to_each_unit, target.per_unit_minimum, target.path_mode) == (False, None, "linear")
    assert target.milestone_status == "in_progress"
    # A milestone in progress is on track: the live preview said the same before saving.
    saved = target.progress.get(org_unit=tree.city, period__code="2023Q1")
    assert live["status"] == saved.status == "on_track"


def test_a_field_of_another_kind_is_ignored_on_create(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    body = {"section": plan.sections.get(code="goals").pk, "code": "T17", "text": "送教下乡每学期不少于2次",
            "kind": "frequency", "per_unit_minimum": "2", "comparator": "gte", "applies_to_each_unit": "on",
            "baseline_value": "1", "path_mode": "flat", "at_risk_margin": "0.05", "order": "17"}  # fmt: skip
    assert client.post(reverse("plans:target_create", args=["p23"]), body).status_code == 302
    target = Target.objects.get(plan=plan, code="T17")
    assert (target.per_unit_minimum, target.comparator) == (Decimal(2), "")
    assert (target.applies_to_each_unit, target.baseline_value, target.path_mode) == (False, None, "linear")


def test_a_new_target_is_offered_the_next_code_and_place(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    Target.objects.filter(code="T16").update(order=16)
    form = client.get(reverse("plans:target_create", args=["p23"])).context["form"]
    # T05 and T16 → T17 (prefix and padding kept); order after the last (16).
    assert (form.initial["code"], form.initial["order"]) == ("T17", 17)


def test_the_first_target_of_a_plan_is_t01(client: Client, users, tree) -> None:  # noqa: ANN001
    empty = Plan.objects.create(code="p24", title="2024", year=2024, owner_unit=tree.city)
    empty.sections.create(code="goals", title="主要目标", order=1)
    client.force_login(users.bea)
    form = client.get(reverse("plans:target_create", args=["p24"])).context["form"]
    assert (form.initial["code"], form.initial["order"]) == ("T01", 1)


def test_codes_with_another_scheme_keep_their_padding(users, plan) -> None:  # noqa: ANN001
    from targets.targets_service import next_code_and_order

    section = plan.sections.get(code="goals")
    for number in (7, 8, 9):
        Target.objects.create(plan=plan, section=section, code=f"G{number:03d}", text="t", kind=TargetKind.NARRATIVE,
                              scope=plan.owner_unit, order=number)  # fmt: skip
    # G007, G008, G009 outnumber T05, T16: the plan's scheme is G with three digits.
    assert next_code_and_order(plan) == ("G010", 10)


def test_a_new_work_item_is_offered_the_next_number(client: Client, users, plan) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    form = client.get(reverse("plans:workitem_create", args=["p23"])).context["form"]
    item = WorkItem.objects.get(section__plan=plan)
    assert (form.initial["number"], form.initial["section"]) == (item.number + 1, item.section_id)


def test_targets_are_listed_in_document_order(client: Client, users, plan) -> None:  # noqa: ANN001
    goals = plan.sections.get(code="goals")
    # Created out of order: T03 (order 3) after T04 (order 4); the page follows the order, not creation.
    for code, order in (("T04", 4), ("T03", 3)):
        Target.objects.create(plan=plan, section=goals, code=code, text=f"目标{code}", kind=TargetKind.THRESHOLD,
                              comparator=Comparator.GTE, scope=plan.owner_unit, order=order)  # fmt: skip
    Target.objects.filter(code="T05").update(order=5)
    client.force_login(users.ivan)
    html = client.get(reverse("plans:plan_detail", args=["p23"])).content.decode()
    positions = [html.index(f"<td>{code}</td>") for code in ("T03", "T04", "T05", "T16")]
    assert positions == sorted(positions)


def test_the_service_clears_the_old_kinds_fields_on_a_switch(users, plan) -> None:  # noqa: ANN001
    """The API and the workbook too: a kind switch that does not mention the old kind's fields resets them;
    a value explicitly sent for a field the new kind has not is still refused."""
    from portal.errors import ServiceError
    from targets import targets_service

    target = Target.objects.get(code="T05")
    Target.objects.filter(pk=target.pk).update(applies_to_each_unit=True, per_unit_minimum=Decimal(3))
    target.refresh_from_db()
    with pytest.raises(ServiceError) as refused:
        targets_service.update_target(users.bea, target, {"kind": "milestone", "indicator": target.indicator},
                                      version=target.version, reason="改为里程碑")  # fmt: skip
    assert refused.value.errors == {"indicator": ["里程碑和定性工作不关联统计指标。"]}
    target = Target.objects.get(code="T05")
    saved = targets_service.update_target(users.bea, target, {"kind": "milestone"}, version=target.version,
                                          reason="改为里程碑")  # fmt: skip
    saved.refresh_from_db()
    assert (saved.kind, saved.indicator_id, saved.comparator, saved.target_value) == ("milestone", None, "", None)
    assert (saved.applies_to_each_unit, saved.per_unit_minimum) == (False, None)
    changed = set(saved.changes.values_list("field", flat=True))
    assert changed >= {"kind", "indicator", "comparator", "target_value", "applies_to_each_unit", "per_unit_minimum"}
