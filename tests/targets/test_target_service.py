"""Target editing rules: who may, validation, reasons on published plans, history, version conflicts, notes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from indicators.models import Indicator
from plans.models import Plan, PlanStatus, Section
from portal.errors import ServiceError, VersionConflict
from submissions.models import Period
from targets import targets_service as service
from targets.models import Comparator, MilestoneStatus, NoteReview, Progress, Target, TargetChange, TargetKind

D = Decimal


@pytest.fixture
def q1(db: None) -> Period:
    day = datetime.date(2023, 1, 1)
    return Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)


@pytest.fixture
def plan(tree) -> Plan:  # noqa: ANN001
    return Plan.objects.create(code="p23", title="计划", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED)


@pytest.fixture
def section(plan: Plan) -> Section:
    return Section.objects.create(plan=plan, code="goals", title="主要目标")


@pytest.fixture
def rate(db: None) -> Indicator:
    return Indicator.objects.create(code="kg_rate", name="入园率")


def fields(section: Section, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "section": section, "code": "T05", "text": "学前一年幼儿入园率达99%以上", "kind": TargetKind.THRESHOLD,
        "comparator": Comparator.GTE, "target_value": D(99),
    }  # fmt: skip
    base.update(extra)
    return base


def test_bureau_admin_creates_a_target_and_its_progress_is_computed(users, plan, section, rate, q1) -> None:  # noqa: ANN001
    target = service.create_target(users.bea, plan, fields(section, indicator=rate))

    assert target.scope == plan.owner_unit  # default scope: the plan's unit
    assert TargetChange.objects.filter(target=target, field="created").count() == 1
    # One period × (CITY, D1, D2), no indicator values yet.
    assert list(Progress.objects.filter(target=target).values_list("status", flat=True)) == ["no_data"] * 3


def test_others_may_not_create_targets(users, plan, section) -> None:  # noqa: ANN001
    for user in (users.rita, users.ivan, users.alice):
        with pytest.raises(PermissionDenied):
            service.create_target(user, plan, fields(section))


def test_invalid_targets_are_refused_with_every_error(users, plan, section, rate) -> None:  # noqa: ANN001
    bad = fields(
        section, code="", comparator=Comparator.RANGE, target_value=D(5), target_value_max=D(3), at_risk_margin=D(2)
    )
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, plan, bad)
    assert set(caught.value.errors) == {"code", "target_value_max", "at_risk_margin"}
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, plan, fields(section, kind=TargetKind.MILESTONE, indicator=rate))
    assert "indicator" in caught.value.errors
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, plan, fields(section, kind=TargetKind.COUNT_UNITS, indicator=rate))
    assert caught.value.errors["indicator"] == ["单位数目标需要选择“认定数”或“新建单位数”类指标。"]


def test_a_maximum_below_the_target_value_is_refused_whatever_the_comparator(users, plan, section) -> None:  # noqa: ANN001
    """The table refuses it for every comparator (targets_target_range_ordered): the service says so first, with
    the field's message, instead of a database error (an edit sending only a maximum, as the API fuzzer did)."""
    target = service.create_target(users.bea, plan, fields(section))
    with pytest.raises(ServiceError) as caught:
        service.update_target(users.bea, target, {"target_value_max": D(0)}, version=target.version, reason="调整")
    assert caught.value.errors == {"target_value_max": ["目标上限不能小于目标值。"]}
    target.refresh_from_db()
    assert (target.target_value_max, target.version) == (None, 1)  # nothing written
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, plan, fields(section, code="T06", target_value_max=D(98)))
    assert set(caught.value.errors) == {"target_value_max"}


def test_the_assess_from_quarter_is_checked(users, plan, section, rate, q1) -> None:  # noqa: ANN001
    q3 = Period.objects.create(code="2023Q3", year=2023, quarter=3, opens_on=q1.opens_on, due_on=q1.due_on,
                               locks_on=q1.locks_on)  # fmt: skip
    last_year = Period.objects.create(code="2022Q3", year=2022, quarter=3, opens_on=q1.opens_on, due_on=q1.due_on,
                                      locks_on=q1.locks_on)  # fmt: skip
    refused = {
        "another year": fields(section, indicator=rate, assess_from=last_year),
        "after the due period": fields(section, indicator=rate, assess_from=q3, due_period=q1),
        "a milestone": fields(section, kind=TargetKind.MILESTONE, comparator="", assess_from=q3),
    }
    messages = {}
    for case, bad in refused.items():
        with pytest.raises(ServiceError) as caught:
            service.create_target(users.bea, plan, bad)
        messages[case] = caught.value.errors["assess_from"]
    assert messages == {
        "another year": ["起评季度须在工作要点年度（2023年）内。"],
        "after the due period": ["起评季度不能晚于完成期限。"],
        "a milestone": ["里程碑和定性工作不设起评季度。"],
    }
    target = service.create_target(users.bea, plan, fields(section, indicator=rate, assess_from=q3))
    assert target.assess_from == q3
    # On a published plan it changes how the target is judged: a reason is needed, and it is kept.
    with pytest.raises(ServiceError):
        service.update_target(users.bea, target, {"assess_from": None}, version=target.version)
    target = Target.objects.get(pk=target.pk)  # the refused call changed the instance in memory, not the row
    assert target.assess_from == q3
    service.update_target(users.bea, target, {"assess_from": None}, version=target.version, reason="全年评估")
    change = TargetChange.objects.get(target=target, field="assess_from")
    assert (change.old_value, change.new_value, change.reason) == ("2023Q3", "", "全年评估")


def test_duplicate_codes_are_refused(users, plan, section) -> None:  # noqa: ANN001
    service.create_target(users.bea, plan, fields(section))
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, plan, fields(section))
    assert "code" in caught.value.errors


def test_changing_a_published_target_value_requires_a_reason_and_is_kept_in_history(users, plan, section) -> None:  # noqa: ANN001
    target = service.create_target(users.bea, plan, fields(section))

    with pytest.raises(ServiceError) as caught:
        service.update_target(users.bea, target, {"target_value": D(98)}, version=1)
    assert caught.value.errors == {"reason": ["已发布工作要点的目标值变更须填写原因。"]}
    target.refresh_from_db()
    assert (target.target_value, target.version) == (D(99), 1)  # nothing written

    service.update_target(
        users.bea, target, {"target_value": D(98), "owner_name": "初幼教科"}, version=1, reason="省厅调整口径"
    )

    target.refresh_from_db()
    assert (target.target_value, target.version, target.owner_name) == (D(98), 2, "初幼教科")
    change = TargetChange.objects.get(target=target, field="target_value")
    assert (change.old_value, change.new_value, change.reason, change.user) == ("99", "98", "省厅调整口径", users.bea)
    assert TargetChange.objects.filter(target=target, field="owner_name").exists()


def test_wording_changes_and_draft_plans_need_no_reason(users, plan, section) -> None:  # noqa: ANN001
    target = service.create_target(users.bea, plan, fields(section))
    service.update_target(users.bea, target, {"owner_name": "初幼教科"}, version=1)
    plan.status = PlanStatus.DRAFT
    plan.save()
    service.update_target(users.bea, target, {"target_value": D(97)}, version=2)
    target.refresh_from_db()
    assert (target.target_value, target.version) == (D(97), 3)


def test_a_stale_version_is_a_conflict(users, plan, section) -> None:  # noqa: ANN001
    target = service.create_target(users.bea, plan, fields(section))
    service.update_target(users.bea, target, {"owner_name": "A"}, version=1)
    with pytest.raises(VersionConflict):
        service.update_target(users.bea, target, {"owner_name": "B"}, version=1)
    target.refresh_from_db()
    assert target.owner_name == "A"


def test_contribution_must_point_to_the_parent_plan(users, tree, plan, section) -> None:  # noqa: ANN001
    parent_target = service.create_target(users.bea, plan, fields(section))
    child_plan = Plan.objects.create(code="d1-23", title="东区", year=2023, owner_unit=tree.d1, parent=plan)
    child_section = Section.objects.create(plan=child_plan, code="goals", title="目标")
    child = service.create_target(
        users.bea, child_plan, fields(child_section, contributes_to=parent_target, scope=tree.d1)
    )
    assert list(parent_target.contributions.all()) == [child]
    other = Plan.objects.create(code="other", title="无上级", year=2023, owner_unit=tree.d2)
    other_section = Section.objects.create(plan=other, code="goals", title="目标")
    with pytest.raises(ServiceError) as caught:
        service.create_target(users.bea, other, fields(other_section, contributes_to=parent_target))
    assert "contributes_to" in caught.value.errors


# --- notes ---


@pytest.fixture
def milestone(users, tree, plan, section):  # noqa: ANN001, ANN201
    return service.create_target(
        users.bea, plan,
        fields(section, code="T16", text="第五小学2023年秋季交付办学", kind=TargetKind.MILESTONE, comparator="",
               target_value=None, owner_unit=tree.s1, due_date=datetime.date(2023, 9, 30)),
    )  # fmt: skip


def test_the_owner_principal_updates_a_milestone_with_evidence(users, milestone, q1) -> None:  # noqa: ANN001
    pdf = SimpleUploadedFile("验收报告.pdf", b"%PDF-1.7 ...", content_type="application/pdf")
    for quarter in (2, 3, 4):
        Period.objects.create(code=f"2023Q{quarter}", year=2023, quarter=quarter, opens_on=q1.opens_on,
                              due_on=q1.due_on, locks_on=q1.locks_on)  # fmt: skip

    note = service.add_note(
        users.alice, milestone, text="主体工程完工", evidence=pdf, milestone_status=MilestoneStatus.DONE,
        reported_on=datetime.date(2023, 8, 20),
    )  # fmt: skip

    # "Done" waits for the bureau's review: the milestone is not done yet, nor met in any quarter.
    milestone.refresh_from_db()
    assert milestone.milestone_status == ""
    assert note.evidence.name.endswith(".pdf")
    assert note.period is not None
    assert (note.reported_on, note.period.code, note.milestone_status) == (datetime.date(2023, 8, 20), "2023Q3", "done")
    assert not Progress.objects.filter(target=milestone, status="met").exists()

    service.review_note(users.bea, note, accept=True)

    milestone.refresh_from_db()
    assert milestone.milestone_status == MilestoneStatus.DONE
    assert milestone.completed_on == datetime.date(2023, 8, 20)  # the day the note reports on
    assert Progress.objects.get(target=milestone, period=q1).status != "met"
    assert Progress.objects.get(target=milestone, period__quarter=3).status == "met"
    assert TargetChange.objects.get(target=milestone, field="milestone_status").new_value == "done"
    assert TargetChange.objects.get(target=milestone, field="completed_on").new_value == "2023-08-20"


def test_other_principals_may_not_write_notes(users, milestone) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        service.add_note(users.bob, milestone, text="不是我的")


def test_evidence_is_size_capped_and_type_checked(users, milestone, settings) -> None:  # noqa: ANN001
    exe = SimpleUploadedFile("report.pdf", b"MZ\x90\x00", content_type="application/pdf")
    with pytest.raises(ServiceError) as caught:
        service.add_note(users.alice, milestone, text="x", evidence=exe)
    assert caught.value.errors == {"evidence": ["文件内容与扩展名不符。"]}
    with pytest.raises(ServiceError):
        service.add_note(users.alice, milestone, text="x", evidence=SimpleUploadedFile("a.exe", b"MZ"))
    settings.MAX_UPLOAD_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * 2000)
    with pytest.raises(ServiceError) as caught:
        service.add_note(users.alice, milestone, text="x", evidence=big)
    assert "evidence" in caught.value.errors
    assert not milestone.notes.exists()  # nothing half-written


def test_bureau_reviews_a_narrative_note(users, plan, section, q1) -> None:  # noqa: ANN001
    narrative = service.create_target(
        users.bea, plan, fields(section, code="T17", kind=TargetKind.NARRATIVE, comparator="", target_value=None)
    )
    with pytest.raises(ServiceError) as caught:
        service.add_note(users.bea, narrative, text="无季度")
    assert "period" in caught.value.errors
    note = service.add_note(users.bea, narrative, text="一季度完成对标研判", period=q1)
    assert Progress.objects.get(target=narrative, period=q1).status == "on_track"

    with pytest.raises(ServiceError):
        service.review_note(users.bea, note, accept=False)
    with pytest.raises(PermissionDenied):
        service.review_note(users.rita, note, accept=True)
    service.review_note(users.bea, note, accept=True)

    note.refresh_from_db()
    assert note.review_status == NoteReview.ACCEPTED
    assert Progress.objects.get(target=narrative, period=q1).status == "met"
