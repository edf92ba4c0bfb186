"""The recompute pipeline: approval → pending row → task → values; broker outages; sweeps; definitions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from kombu.exceptions import OperationalError

from indicators import engine, recompute, services, tasks
from indicators.models import IndicatorValue, PendingRecompute, RecomputeKind
from portal.errors import ServiceError
from schools.models import Level, SchoolType
from submissions import workflow
from submissions.models import SubmissionStatus
from tests.conftest import make_unit
from tests.indicators.engine_data import figure, indicator, period, report, snapshot, value

D = Decimal


@pytest.fixture
def entrants(db):
    figure("pri_new_entrants")
    return indicator("pri_new_entrants", "pri_new_entrants")


def test_approval_updates_the_values_after_commit(tree, users, entrants, django_capture_on_commit_callbacks):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=30)
    engine.full_recompute()
    submission = report(tree.s2, q1, status=SubmissionStatus.SUBMITTED, pri_new_entrants=20)
    assert value(entrants, tree.d1, q1) == D(30)  # S2 not approved yet
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve(submission, users.rita)
    # 30 + 20, through request_recompute → process_pending_recompute_task (eager) → recompute_for
    assert value(entrants, tree.d1, q1) == D(50)
    assert value(entrants, tree.city, q1) == D(50)
    pending = PendingRecompute.objects.get()
    assert pending.done_at is not None
    assert pending.org_unit_id == tree.s2.pk


def test_broker_down_at_approval_leaves_the_row_for_the_sweep(
    tree, users, entrants, django_capture_on_commit_callbacks
):
    q1 = period(2023, 1)
    submission = report(tree.s3, q1, status=SubmissionStatus.SUBMITTED, pri_new_entrants=12)
    broken = mock.patch.object(
        tasks.process_pending_recompute_task, "delay", side_effect=OperationalError("connection refused")
    )
    with broken, django_capture_on_commit_callbacks(execute=True):
        workflow.approve(submission, users.rob)  # the approval itself succeeds
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
    pending = PendingRecompute.objects.get()
    assert pending.done_at is None
    assert pending.claimed_at is None
    assert value(entrants, tree.d2, q1) is None
    # A sweep within the first minute leaves it (its message may still arrive) …
    assert recompute.sweep() == 0
    # … a minute later it runs it.
    assert recompute.sweep(now=timezone.now() + datetime.timedelta(minutes=2)) == 1
    assert value(entrants, tree.d2, q1) == D(12)
    assert value(entrants, tree.city, q1) == D(12)
    pending.refresh_from_db()
    assert pending.done_at is not None


def test_a_pending_row_runs_once(tree, entrants):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=5)
    pending = PendingRecompute.objects.create(org_unit=tree.s1, period=q1)
    assert recompute.process_pending(pending.pk) > 0
    assert recompute.process_pending(pending.pk) is None  # already done: no second run
    assert value(entrants, tree.city, q1) == D(5)


def test_a_claim_held_by_a_live_worker_is_not_taken_but_a_stuck_one_is(tree, entrants):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=5)
    claimed_at = timezone.now() - datetime.timedelta(minutes=2)
    pending = PendingRecompute.objects.create(org_unit=tree.s1, period=q1, claimed_at=claimed_at)
    PendingRecompute.objects.filter(pk=pending.pk).update(requested_at=claimed_at)
    assert recompute.process_pending(pending.pk) is None  # someone is on it
    assert recompute.sweep(now=timezone.now() + datetime.timedelta(minutes=9)) == 1  # claim 11 min old
    assert value(entrants, tree.city, q1) == D(5)


def test_the_sweep_collapses_repeated_requests(tree, entrants):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=5)
    for _ in range(3):
        PendingRecompute.objects.create(org_unit=tree.s1, period=q1)
    assert recompute.sweep(now=timezone.now() + datetime.timedelta(minutes=2)) == 1
    assert not PendingRecompute.objects.filter(done_at__isnull=True).exists()


def test_nightly_task_fans_out_per_district_and_matches_a_single_run(tree, entrants):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=30)
    report(tree.s3, q1, pri_new_entrants=12)
    assert tasks.full_recompute_task.delay().get() == 2  # D1 and D2, run eagerly here
    fanned = [row[1:] for row in snapshot()]
    assert value(entrants, tree.city, q1) == D(42)
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == fanned


def test_the_nightly_fan_out_follows_the_tree_to_the_counties(db, entrants):
    """Province → cities → counties: the work splits at the counties, not at the province's two children; a
    chain of single children is followed down; a school directly under a bureau is a unit of its own."""
    province = make_unit("P", "省教育厅", Level.BUREAU)
    city_a = make_unit("CA", "甲市教育局", Level.BUREAU, province)
    city_b = make_unit("CB", "乙市教育局", Level.BUREAU, province)
    county_a1 = make_unit("A1", "甲市一县", Level.DISTRICT, city_a)
    county_a2 = make_unit("A2", "甲市二县", Level.DISTRICT, city_a)
    county_b1 = make_unit("B1", "乙市一县", Level.DISTRICT, city_b)  # the only county of city B
    lone = make_unit("B1T", "乙市一县唯一学区", Level.TOWNSHIP, county_b1)  # and its only township
    direct = make_unit("PS", "省属实验小学", Level.SCHOOL, province, school_type=SchoolType.PRIMARY)
    schools = []
    for parent, count in ((county_a1, 2), (county_a2, 3), (lone, 2)):
        for i in range(count):
            schools.append(
                make_unit(
                    f"{parent.code}S{i}", f"{parent.name}{i}小", Level.SCHOOL, parent, school_type=SchoolType.PRIMARY
                )
            )
    assert recompute.fan_out_unit_ids() == [county_a1.pk, county_a2.pk, lone.pk, direct.pk]
    q1 = period(2023, 1)
    for i, school in enumerate([*schools, direct]):
        report(school, q1, pri_new_entrants=10 + i)
    engine.full_recompute()  # the first build (staged on PostgreSQL); the nightly run then finds a filled table
    with (
        mock.patch("targets.receivers.recompute_progress") as progress_run,
        mock.patch.object(engine, "_write_ancestors", wraps=engine._write_ancestors) as above_run,
    ):
        assert tasks.full_recompute_task.delay().get() == 4
    # Every district's values, then the rows above them and the targets' progress once for the whole run (not once
    # per district).
    progress_run.assert_called_once_with(period_ids=None, indicator_ids=None)
    above_run.assert_called_once()
    assert value(entrants, province, q1) == D(sum(10 + i for i in range(len(schools) + 1)))
    assert value(entrants, city_a, q1) == D(10 + 11 + 12 + 13 + 14)
    fanned = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == fanned


def test_changing_a_definition_recomputes_its_values(tree, users, django_capture_on_commit_callbacks):
    figure("pri_new_entrants")
    figure("pri_new_entrants_migrant")
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=30, pri_new_entrants_migrant=4)
    ind = indicator("entrants", "pri_new_entrants")
    engine.full_recompute()
    assert value(ind, tree.city, q1) == D(30)
    ind.numerator = "pri_new_entrants - pri_new_entrants_migrant"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.save_indicator(ind, users.bea) is True
    assert value(ind, tree.city, q1) == D(26)  # 30 − 4
    ind.name = "新生（不含外来生）"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.save_indicator(ind, users.bea) is False  # wording only: nothing to recompute
    assert callbacks == []


def test_a_bad_definition_is_refused_with_its_position(tree, users, entrants):
    entrants.numerator = "pri_new_entrants + pri_new_entrnts"
    with pytest.raises(ServiceError) as error:
        services.save_indicator(entrants, users.bea)
    assert error.value.errors["numerator"] == ["第 20 个字符处：未知的填报项代码 pri_new_entrnts"]
    entrants.refresh_from_db()
    assert entrants.numerator == "pri_new_entrants"  # nothing written


def test_only_bureau_admins_change_definitions(tree, users, entrants):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.save_indicator(entrants, users.rita)


def test_recompute_command_for_a_period_and_unit(tree, entrants):
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_new_entrants=30)
    report(tree.s3, q1, pri_new_entrants=12)
    out = StringIO()
    call_command("recompute", "--period", "2023Q1", "--unit", "D1", stdout=out)
    assert "2023Q1" in out.getvalue()
    assert value(entrants, tree.d1, q1) == D(30)
    assert value(entrants, tree.city, q1) == D(30)  # ancestors follow; D2 not recomputed yet
    assert value(entrants, tree.d1, q2) is None  # other periods untouched
    call_command("recompute", stdout=StringIO())
    assert value(entrants, tree.city, q1) == D(42)
    assert value(entrants, tree.city, q2) == D(42)  # flow, year to date


def test_pending_rows_of_one_district_are_merged_into_one_engine_run(tree, entrants):
    q1, q2 = period(2023, 1), period(2023, 2)
    engine.full_recompute()  # every unit's rows, before the approvals
    report(tree.s1, q1, pri_new_entrants=5)
    report(tree.s2, q2, pri_new_entrants=7)
    report(tree.s3, q1, pri_new_entrants=11)
    first = PendingRecompute.objects.create(org_unit=tree.s1, period=q1)
    same_district = [
        PendingRecompute.objects.create(org_unit=tree.s2, period=q2),
        PendingRecompute.objects.create(org_unit=tree.s1, period=q1),
    ]
    other_kind = PendingRecompute.objects.create(org_unit=tree.s2, period=q1, kind=RecomputeKind.DESIGNATIONS)
    other_district = PendingRecompute.objects.create(org_unit=tree.s3, period=q1)
    with mock.patch.object(engine, "recompute_units", wraps=engine.recompute_units) as run:
        assert recompute.process_pending(first.pk) > 0
        assert run.call_count == 1  # three approvals in D1, one engine run
        assert run.call_args.args[0] == sorted([(tree.s1.pk, q1.pk), (tree.s2.pk, q2.pk)])
        for row in same_district:  # their own messages find them done
            assert recompute.process_pending(row.pk) is None
        assert run.call_count == 1
    assert not PendingRecompute.objects.filter(pk__in=[first.pk, *(r.pk for r in same_district)], done_at=None)
    assert PendingRecompute.objects.filter(pk__in=[other_kind.pk, other_district.pk], claimed_at=None).count() == 2
    assert value(entrants, tree.d1, q2) == D(12)  # 5 (Q1) + 7 (Q2), year to date
    assert value(entrants, tree.city, q1) == D(5)  # S3 (D2) not run yet
    assert recompute.process_pending(other_district.pk) is not None
    assert value(entrants, tree.city, q2) == D(23)
    merged = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == merged


def test_a_definition_change_recomputes_district_by_district(tree, entrants):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=5)
    report(tree.s3, q1, pri_new_entrants=11)
    with mock.patch.object(engine, "full_recompute", wraps=engine.full_recompute) as run:
        engine.recompute_indicator(entrants.pk)
    # One transaction per fan-out unit: T1 (D1's only child: a single-child chain is split further) and D2.
    assert [c.kwargs["root_unit_ids"] for c in run.call_args_list] == [[tree.t1.pk], [tree.d2.pk]]
    assert value(entrants, tree.city, q1) == D(16)
