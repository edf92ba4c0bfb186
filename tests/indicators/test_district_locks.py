"""Issue 17: approvals lock their district only (PostgreSQL: real concurrent connections and pg_locks).

A writer inside district A — an open recompute, a definition change's district — must not hold up an approval in
district B, and the bureau's row must still end equal to a full recompute when both districts write at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.db.utils import OperationalError

from indicators import engine
from indicators.models import IndicatorValue
from tests.indicators.engine_data import figure, indicator, period, report, snapshot, value

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pg() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks and concurrent writers need PostgreSQL")


@pytest.fixture
def rate(tree, pg):  # noqa: ANN001, ANN201
    figure("pri_graduates")
    figure("pri_cohort_entrants")
    rate = indicator("retention", "pri_graduates", "pri_cohort_entrants", factor=100)
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)
    report(tree.s3, q1, pri_graduates=40, pri_cohort_entrants=50)
    engine.full_recompute()
    return rate


@contextmanager
def holding(*keys: int) -> Iterator[None]:
    """Another connection holds the engine's advisory locks on ``keys`` in an open transaction."""
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            for key in keys:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [engine.LOCK_NAMESPACE, key])
        yield
    finally:
        other.rollback()
        other.close()


def in_thread(
    call: Callable[[], Any], lock_timeout: str = "5s", name: str | None = None
) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``call`` on its own connection, whose lock waits fail after ``lock_timeout`` (never hang the suite)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, false)", [lock_timeout])
            call()
        except BaseException as error:  # noqa: BLE001  (inspected by the test)
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, errors


@contextmanager
def paused_in_district_a(monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]) -> Iterator[list[BaseException]]:
    """``call`` runs in a thread and stops at its first level statement (its locks taken, its transaction open)
    until the block ends: a recompute in district A caught in the middle of its work."""
    paused, release = threading.Event(), threading.Event()
    real = engine._run_level

    def run_level(*args: Any, **kwargs: Any) -> int:
        if threading.current_thread().name == "district-a" and not release.is_set():
            paused.set()
            release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_level", run_level)
    thread, errors = in_thread(call, lock_timeout="20s", name="district-a")
    try:
        assert paused.wait(20)
        yield errors
    finally:
        release.set()
        thread.join()


def advisory_keys_held_by_others() -> set[int]:
    """The engine's advisory keys granted to other sessions of this database (pg_locks is the cluster's: other
    databases on the server may run the engine too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND pid <> "
            "pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [engine.LOCK_NAMESPACE],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def test_an_open_recompute_in_district_a_holds_up_no_approval_in_district_b(tree, rate, monkeypatch):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=80, pri_cohort_entrants=100)
    report(tree.s3, q1, pri_graduates=45, pri_cohort_entrants=50)
    with paused_in_district_a(monkeypatch, lambda: engine.recompute_for(tree.s1.pk, q1.pk)) as errors_a:
        # The old engine held TOP_KEY for the whole transaction: now A holds its district's key only …
        assert advisory_keys_held_by_others() == {tree.d1.pk}
        # … and an approval in D2 runs to its end, the bureau's row included (a wait would fail in 2 s).
        thread, errors = in_thread(lambda: engine.recompute_for(tree.s3.pk, q1.pk), lock_timeout="2s")
        thread.join()
        assert errors == []
        assert value(rate, tree.d2, q1) == Decimal("90.00")  # 45 / 50
        assert value(rate, tree.city, q1) == Decimal("90.00")  # (90 + 45) / (100 + 50): A's change not in yet
    assert errors_a == []
    assert value(rate, tree.city, q1) == Decimal("83.33")  # (80 + 45) / (100 + 50): both in, whoever was last


def test_concurrent_approvals_in_two_districts_leave_the_bureau_equal_to_a_full_recompute(tree, rate):
    q1, q2 = period(2023, 1), period(2023, 2)
    engine.full_recompute()  # every unit's row of Q2 too: the incremental runs then update rows, as in production
    schools_a, schools_b = [tree.s1, tree.s2], [tree.s3]
    for step in range(4):
        for n, school in enumerate(schools_a + schools_b):
            report(school, q1 if step % 2 else q2, pri_graduates=10 + step + n, pri_cohort_entrants=20 + n)
        threads = [
            in_thread(lambda: [engine.recompute_for(s.pk, q1.pk) for s in schools_a]),
            in_thread(lambda: [engine.recompute_for(s.pk, q1.pk) for s in schools_b]),
        ]
        for thread, errors in threads:
            thread.join()
            assert errors == []
        incremental = [row[1:] for row in snapshot()]
        IndicatorValue.objects.all().delete()
        engine.full_recompute()
        assert [row[1:] for row in snapshot()] == incremental


def test_a_definition_change_runs_district_by_district(tree, rate, monkeypatch):
    rate.numerator = "pri_graduates * 2"
    rate.save()
    q1 = period(2023, 1)
    report(tree.s3, q1, pri_graduates=45, pri_cohort_entrants=50)
    with paused_in_district_a(monkeypatch, lambda: engine.recompute_indicator(rate.pk)) as errors_a:
        assert advisory_keys_held_by_others() == {tree.d1.pk}  # the change holds its current district only
        thread, errors = in_thread(lambda: engine.recompute_for(tree.s3.pk, q1.pk), lock_timeout="2s")
        thread.join()
        assert errors == []  # an approval in D2 meanwhile (the old change held every district)
    assert errors_a == []
    expected = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == expected
    assert value(rate, tree.city, q1) == Decimal("180.00")  # 2 × (90 + 45) / (100 + 50)


def test_a_held_bureau_lock_fails_nothing_but_the_short_top_step(tree, rate):
    """TOP_KEY guards only the rows above the districts: the district rows are written and committed first."""
    q1 = period(2023, 1)
    report(tree.s3, q1, pri_graduates=30, pri_cohort_entrants=50)
    with holding(engine.TOP_KEY):
        thread, errors = in_thread(lambda: engine.recompute_for(tree.s3.pk, q1.pk), lock_timeout="300ms")
        thread.join()
    assert len(errors) == 1
    assert isinstance(errors[0], OperationalError)  # the bureau step timed out …
    assert value(rate, tree.d2, q1) == Decimal("60.00")  # … after D2's own rows were committed
    engine.recompute_for(tree.s3.pk, q1.pk)  # the pending row's retry completes the bureau
    assert value(rate, tree.city, q1) == Decimal("80.00")  # (90 + 30) / (100 + 50)


def test_a_whole_tree_recompute_holds_one_district_at_a_time(tree, rate, monkeypatch):
    """``full_recompute()`` of a filled table: district by district, each committed before the next."""
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=70, pri_cohort_entrants=100)
    report(tree.s3, q1, pri_graduates=45, pri_cohort_entrants=50)
    paused, release = threading.Event(), threading.Event()
    real = engine._run_level

    def run_level(plan: Any, lvl_sql: str, params: Any, *args: Any, **kwargs: Any) -> int:
        if params and params[-1] == tree.d2.path + "%" and not release.is_set():  # the second district
            paused.set()
            release.wait(20)
        return real(plan, lvl_sql, params, *args, **kwargs)

    monkeypatch.setattr(engine, "_run_level", run_level)
    thread, errors = in_thread(engine.full_recompute, lock_timeout="20s")
    try:
        assert paused.wait(20)
        assert advisory_keys_held_by_others() == {tree.d2.pk}  # D1 done and committed: its key is free
        # D1's part (its only township, where the fan-out splits) is committed; the rows above the fan-out units
        # (D1 itself, the city) are written once, after the last one.
        assert value(rate, tree.s1.parent, q1) == Decimal("70.00")
        assert value(rate, tree.d1, q1) == Decimal("90.00")
        engine.recompute_for(tree.s1.pk, q1.pk)  # an approval in D1 meanwhile
    finally:
        release.set()
        thread.join()
    assert errors == []
    assert value(rate, tree.d1, q1) == Decimal("70.00")
    built = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    engine.full_recompute(root_unit_ids=[tree.city.pk])  # one transaction: the reference
    assert [row[1:] for row in snapshot()] == built
    assert value(rate, tree.city, q1) == Decimal("76.67")  # (70 + 45) / (100 + 50)
