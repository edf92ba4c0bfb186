"""Issue 17: the first build never blocks the readers of the indicator-value table for its duration (PostgreSQL:
real concurrent connections). The build is held at a level (its staging table half filled, its transaction open)
while another connection reads or writes the live table; then it is let go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from indicators import engine
from indicators.models import IndicatorValue
from tests.indicators.engine_data import figure, indicator
from tests.indicators.first_build_data import (
    make_data,
    replaced_tables,
    rows,
    schema,
    staging_tables,
    swaps,
    table_oid,
)

pytestmark = pytest.mark.django_db(transaction=True)

BUILDER = "first-build"


@pytest.fixture
def data(tree):  # noqa: ANN001, ANN201
    if connection.vendor != "postgresql":
        pytest.skip("the staged build and concurrent readers need PostgreSQL")
    q1, q2 = make_data(tree)
    engine.full_recompute()
    expected = rows()
    IndicatorValue.objects.all().delete()  # an empty table: the next full recompute is a first build
    return q1, q2, expected


@contextmanager
def other_connection(lock_timeout: str = "500ms") -> Iterator[BaseDatabaseWrapper]:
    """A second session (a dashboard's, a writer's) whose lock waits fail after ``lock_timeout``."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [lock_timeout])
        yield other
    finally:
        other.close()


@contextmanager
def build_held_at_second_level(
    monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any] = engine.full_recompute
) -> Iterator[list[BaseException]]:
    """``call`` runs in a thread and stops before its second level statement (the first level staged, its locks
    taken, its transaction open) until the block ends."""
    held, release = threading.Event(), threading.Event()
    real = engine._run_level
    calls = 0

    def run_level(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        if threading.current_thread().name == BUILDER:
            calls += 1
            if calls == 2 and not release.is_set():
                held.set()
                release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_level", run_level)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001  (inspected by the test)
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=BUILDER)
    thread.start()
    try:
        assert held.wait(20)
        yield errors
    finally:
        release.set()
        thread.join()


def bureau_rows(other: BaseDatabaseWrapper, bureau_id: int) -> list[tuple]:
    """A dashboard's read: every indicator value of one unit (one indexed query)."""
    with other.cursor() as cursor:
        cursor.execute(
            "SELECT indicator_id, period_id, value FROM targets_indicatorvalue WHERE org_unit_id = %s", [bureau_id]
        )
        return cursor.fetchall()


def locks_on_the_table_held_by_others() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode FROM pg_locks WHERE relation = 'targets_indicatorvalue'::regclass AND granted "
            "AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def test_a_reader_is_not_blocked_while_the_first_build_runs(tree, data, monkeypatch) -> None:
    _q1, _q2, expected = data
    before = schema()
    with swaps(monkeypatch) as outcomes, build_held_at_second_level(monkeypatch) as errors:
        # The old bulk load held ACCESS EXCLUSIVE from its start: this read failed after 500 ms. Now the build
        # holds ACCESS SHARE only, and the reader sees the (empty) table as it was.
        assert locks_on_the_table_held_by_others() == {"AccessShareLock"}
        with other_connection(lock_timeout="500ms") as reader:
            assert bureau_rows(reader, tree.city.pk) == []
            with reader.cursor() as cursor:  # a writer is not blocked either
                cursor.execute("SELECT COUNT(*) FROM targets_indicatorvalue")
                assert cursor.fetchone()[0] == 0
    assert errors == []
    assert outcomes == [True]  # swapped in at the end
    assert rows() == expected
    assert schema() == before
    assert replaced_tables() == []  # the old, empty table dropped after commit
    assert staging_tables() == []
    with other_connection() as reader:
        assert len(bureau_rows(reader, tree.city.pk)) > 0


def test_a_row_written_during_the_build_is_kept_and_the_build_merges(tree, data, monkeypatch) -> None:
    """A writer that takes none of the engine's advisory keys commits rows while the build runs: the swap would
    drop them, so the build merges its rows into the live table instead — the upsert path's result, nothing lost."""
    q1, _q2, expected = data
    figure("pri_teachers")
    other_indicator = indicator("teachers", "pri_teachers")  # not in the build below
    entrants = expected[0][0]
    old_table = table_oid()
    build = lambda: engine.full_recompute(indicator_ids=[entrants])  # noqa: E731
    with swaps(monkeypatch) as outcomes, build_held_at_second_level(monkeypatch, build) as errors:
        with other_connection() as writer:
            with writer.cursor() as cursor:
                now = timezone.now()
                insert = (
                    "INSERT INTO targets_indicatorvalue (indicator_id, org_unit_id, period_id, value, unit_count, "
                    "carried_units, left_out_count, computed_at) VALUES (%s, %s, %s, %s, 0, 0, 0, %s)"
                )
                cursor.execute(insert, [other_indicator.pk, tree.s1.pk, q1.pk, 42, now])
                cursor.execute(insert, [entrants, tree.s1.pk, q1.pk, 12345, now])  # a row the build computes too
    assert errors == []
    assert outcomes == [False]  # the live table had rows at the swap: merged
    assert table_oid() == old_table
    assert staging_tables() == []
    kept = IndicatorValue.objects.get(indicator=other_indicator, org_unit=tree.s1, period=q1)
    assert kept.value == 42  # the concurrent row is kept …
    assert [row for row in rows() if row[0] == entrants] == [row for row in expected if row[0] == entrants]
    # … and the row the build computed too holds the computed value, as the upsert path would leave it.


def test_a_reader_in_a_long_transaction_makes_the_build_merge_not_wait(tree, data, monkeypatch) -> None:
    """The swap asks for the table's lock without waiting (no reader ever queues behind it), LOCK_ATTEMPTS times; a
    reader holding the table longer than that makes the build merge instead, and the reader is never held up."""
    _q1, _q2, expected = data
    monkeypatch.setattr(engine, "LOCK_ATTEMPTS", 2)
    monkeypatch.setattr(engine, "LOCK_RETRY_PAUSE_S", 0.05)
    with other_connection() as reader:
        reader.set_autocommit(False)
        assert bureau_rows(reader, tree.city.pk) == []  # ACCESS SHARE, held until this transaction ends
        with swaps(monkeypatch) as outcomes:
            engine.full_recompute()
        assert outcomes == [False]
        reader.rollback()
    assert rows() == expected
    assert staging_tables() == []
