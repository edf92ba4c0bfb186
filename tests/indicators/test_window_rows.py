"""Stored year / half-year rows (``indicators.windows``, issue 17): every row the engine stores equals the
reference definition (``tests/indicators/window_reference.py``) on random data — every kind of indicator,
H1/H2/year, 不适用 answers, offsets — after a full recompute and after incremental approvals; and a window read
uses them (no window statement), in a number of queries that does not grow with the units."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import pytest

from indicators import dispatch, engine, tasks
from indicators import recompute as pipeline
from indicators.models import Aggregation, Indicator, IndicatorWindowValue, PendingRecompute, PeriodMode
from schools.models import Designation, DesignationKind, OrgUnit
from submissions.models import Submission, SubmissionStatus, Value
from tests.indicators.engine_data import indicator, period
from tests.indicators.test_window_equality import WINDOWS, _indicators, _random_values, _rows, _units
from tests.indicators.window_reference import reference_window_values

D = Decimal


def _all_kinds() -> list[Indicator]:
    half = {"period_mode": PeriodMode.HALF}
    kind = DesignationKind.objects.create(code="model", name="示范校")
    return [
        *_indicators(),
        indicator("avg", "area", "enrolled", aggregation=Aggregation.MEAN, **half),
        indicator("sd", "area", "enrolled", aggregation=Aggregation.STDDEV, **half),
        indicator("opened", aggregation=Aggregation.COUNT_OPENED_UNITS, **half),
        indicator("models", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind, **half),
        indicator("na_year", "meals", "enrolled"),  # a quarter indicator: its year only
    ]


def _designations(schools: list, rng: random.Random) -> None:
    kind = DesignationKind.objects.get(code="model")
    for school in rng.sample(schools, 5):
        granted = datetime.date(2023, rng.randint(1, 12), 1)
        Designation.objects.create(org_unit=school, kind=kind, granted_on=granted)


def _no_window_statement(monkeypatch) -> None:
    """A window read must find every row stored: the request-time statement is not run."""
    real = engine._computed_window_values

    def refuse(plan, compiled, units, window, **kwargs):
        if kwargs.get("scope", "units") == "units":
            # Only a unit without a stored quarter row (nothing reported) may be computed, never a stored window.
            assert not any(engine.window_row_stored(plan, c, window) for c in compiled), "window computed on request"
        return real(plan, compiled, units, window, **kwargs)

    monkeypatch.setattr(engine, "_computed_window_values", refuse)


def _check_every_window(indicators: list[Indicator], monkeypatch) -> None:
    units = list(OrgUnit.objects.order_by("path"))
    for code in WINDOWS:
        window = engine.parse_window(code)
        assert window is not None
        expected = _rows(reference_window_values(indicators, units, window))
        with monkeypatch.context() as patch:
            _no_window_statement(patch)
            assert _rows(engine.window_values(indicators, units, window)) == expected, code


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_window_rows_equal_the_reference_after_a_full_recompute(
    tree, seed, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    rng = random.Random(seed)
    schools = _units(tree, rng)
    indicators = _all_kinds()
    _random_values(schools, rng)
    _designations(schools, rng)
    with django_capture_on_commit_callbacks(execute=True):  # the window rows: their own task, after commit
        engine.full_recompute()
    # H2 of every half-year indicator, and years / H1 where no quarter row is the value (不适用, [-1]).
    stored = set(IndicatorWindowValue.objects.values_list("indicator__code", "year", "half").distinct())
    assert {("rate", 2023, 2), ("shifted", 2023, 0), ("na_rate", 2023, 1), ("na_year", 2023, 0)} <= stored
    assert ("rate", 2023, 0) not in stored
    _check_every_window(indicators, monkeypatch)


@pytest.mark.parametrize("seed", [4, 5])
def test_stored_window_rows_follow_incremental_approvals(
    tree, seed, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    rng = random.Random(seed)
    schools = _units(tree, rng)
    indicators = _all_kinds()
    _random_values(schools, rng)
    with django_capture_on_commit_callbacks(execute=True):  # the window rows: their own task, after commit
        engine.full_recompute()
    # Approvals one by one: new values, a 不适用 answer, a submitted form approved, a form reopened.
    for _n in range(8):
        school = rng.choice(schools)
        per = period(rng.choice([2022, 2023]), rng.randint(1, 4))
        submission, _created = Submission.objects.get_or_create(org_unit=school, period=per)
        submission.status = rng.choice([SubmissionStatus.APPROVED] * 3 + [SubmissionStatus.SUBMITTED])
        submission.save()
        for value in Value.objects.filter(submission=submission):
            if value.figure.code == "meals" and rng.random() < 0.5:
                value.value, value.not_applicable = None, True
            elif not value.not_applicable:
                value.value = D(rng.randint(0, 500))
            value.save()
        with django_capture_on_commit_callbacks(execute=True):
            engine.recompute_for(school.pk, per.pk)
    _check_every_window(indicators, monkeypatch)


def test_a_window_read_does_not_grow_with_units(
    tree, django_assert_max_num_queries, django_capture_on_commit_callbacks
) -> None:
    rng = random.Random(9)
    schools = _units(tree, rng)
    _random_values(schools, rng)
    shifted = indicator("shifted", "entrants[-1]", "enrolled", period_mode=PeriodMode.HALF)
    with django_capture_on_commit_callbacks(execute=True):  # the window rows: their own task, after commit
        engine.full_recompute()
    window = engine.parse_window("2023H2")
    assert window is not None
    # indicators, figures (compile), figures (plan), 不适用 figures, the stored window rows.
    with django_assert_max_num_queries(5):
        engine.window_values([shifted], [tree.city], window)
    units = list(OrgUnit.objects.order_by("path"))
    assert len(units) > 15
    with django_assert_max_num_queries(5):
        values = engine.window_values([shifted], units, window)
    assert len(values) == len(units)
    assert engine.window_half(window) == 2


def _approve(school: OrgUnit, per, rng: random.Random) -> None:
    submission, _created = Submission.objects.get_or_create(org_unit=school, period=per)
    submission.status = SubmissionStatus.APPROVED
    submission.save()
    for value in Value.objects.filter(submission=submission):
        if not value.not_applicable:
            value.value = D(rng.randint(0, 500))
            value.save()


def test_an_approval_task_leaves_the_window_rows_to_the_window_task(
    tree, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """The approval's task writes values (and progress) only; the one window task it queues after commit
    (eager here) leaves every stored window row right."""
    rng = random.Random(11)
    schools = _units(tree, rng)
    indicators = _all_kinds()
    _random_values(schools, rng)
    with django_capture_on_commit_callbacks(execute=True):
        engine.full_recompute()
    before = set(IndicatorWindowValue.objects.values_list("pk", "computed_at"))
    queued: list[list[list[int]]] = []
    monkeypatch.setattr(tasks.update_window_rows_task, "delay", lambda changes: queued.append(changes))
    for school in rng.sample(schools, 3):
        _approve(school, period(2023, 3), rng)
        dispatch.request_recompute(school.pk, period(2023, 3).pk)
    with django_capture_on_commit_callbacks(execute=True):
        pending = PendingRecompute.objects.order_by("pk").first()
        assert pending is not None
        pipeline.process_pending(pending.pk)
    # One task for the batch (the district's approvals merged), and no window row written by the approval.
    assert len(queued) == 1
    assert set(IndicatorWindowValue.objects.values_list("pk", "computed_at")) == before
    for pending in PendingRecompute.objects.filter(done_at__isnull=True):
        with django_capture_on_commit_callbacks(execute=True):
            pipeline.process_pending(pending.pk)
    for changes in queued:
        tasks.update_window_rows_task(changes)
    _check_every_window(indicators, monkeypatch)


def test_the_nightly_run_rebuilds_the_window_rows_once(tree, monkeypatch, django_capture_on_commit_callbacks) -> None:
    """The nightly run's districts write values only; its last district queues one rebuild of every window row."""
    rng = random.Random(12)
    schools = _units(tree, rng)
    indicators = _all_kinds()
    _random_values(schools, rng)
    rebuilds: list[tuple[object, ...]] = []
    real = tasks.rebuild_window_rows_task.delay

    def delay(*args: object) -> None:
        rebuilds.append(args)
        real(*args)

    monkeypatch.setattr(tasks.rebuild_window_rows_task, "delay", delay)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.full_recompute_task()
    assert len(rebuilds) == 1
    assert IndicatorWindowValue.objects.exists()
    _check_every_window(indicators, monkeypatch)
