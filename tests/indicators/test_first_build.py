"""PostgreSQL: the first build into an empty indicator-value table is staged and swapped in
(indicators.engine._StagedBuild) — the upsert path's rows, and the migrated schema afterwards, names included.
Readers and concurrent writers during the build: test_first_build_readers.py."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from indicators import engine
from indicators.models import IndicatorValue
from tests.indicators.first_build_data import make_data, rows, schema, staging_tables, swaps, table_oid

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged build is PostgreSQL's path")


@pytest.fixture
def data(tree):
    return make_data(tree)


def test_the_staged_build_gives_the_upsert_paths_rows_and_the_migrated_schema(tree, data, monkeypatch) -> None:
    before = schema()  # the migrated table's
    assert any(kind == "constraint" and "FOREIGN KEY" in definition for kind, _n, definition in before)
    assert ("sequence", "public.targets_indicatorvalue_id_seq") in [row[:2] for row in before]
    old_table = table_oid()
    with swaps(monkeypatch) as outcomes:
        engine.full_recompute()
    assert outcomes == [True]  # the empty table took the staged path and was swapped
    assert table_oid() != old_table  # a new table under the old name …
    assert schema() == before  # … with every index, constraint, column and the sequence by the same names
    assert staging_tables() == []
    staged = rows()
    assert len(staged) > 0
    # The identity sequence (the new table's, under the old name) continues after the staged rows' ids.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('targets_indicatorvalue', 'id'))")
        assert cursor.fetchone()[0] > IndicatorValue.objects.order_by("-pk").values_list("pk", flat=True)[0]

    # The same data through the upsert path: a table that is not empty (one row kept, made wrong).
    kept = IndicatorValue.objects.order_by("pk")[0]
    IndicatorValue.objects.exclude(pk=kept.pk).delete()
    IndicatorValue.objects.filter(pk=kept.pk).update(value=12345, unit_count=99)
    with swaps(monkeypatch) as outcomes:
        engine.full_recompute()
    assert outcomes == []
    assert rows() == staged


def test_the_staged_ids_continue_the_old_sequence(tree, data) -> None:
    """Ids handed out before the table was emptied are not handed out again."""
    engine.full_recompute()
    highest = IndicatorValue.objects.order_by("-pk").values_list("pk", flat=True)[0]
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert IndicatorValue.objects.order_by("pk").values_list("pk", flat=True)[0] > highest


def _insert(**fields: object) -> None:
    with transaction.atomic():
        IndicatorValue.objects.create(computed_at=timezone.now(), **fields)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys, checked now


def test_the_restored_constraints_hold(tree, data) -> None:
    engine.full_recompute()
    row = IndicatorValue.objects.order_by("pk")[0]
    same = {"indicator_id": row.indicator_id, "period_id": row.period_id}
    with pytest.raises(IntegrityError):  # unique (indicator, unit, period)
        _insert(org_unit_id=row.org_unit_id, **same)
    with pytest.raises(IntegrityError):  # foreign key to the org unit
        _insert(org_unit_id=999_999, **same)


def test_nested_roots_take_the_upsert_path(tree, data) -> None:
    with mock.patch.object(engine._StagedBuild, "begin", wraps=engine._StagedBuild.begin) as begun:
        engine.full_recompute(root_unit_ids=[tree.d1.pk, tree.t1.pk])  # T1 inside D1: rows written twice
    assert begun.call_count == 0
    assert IndicatorValue.objects.filter(org_unit=tree.t1).exists()


def test_pending_trigger_events_fall_back_to_the_upsert_path(tree, data) -> None:
    """Rows referencing an indicator written earlier in the same transaction leave trigger events that
    forbid ALTER TABLE: the recompute must still succeed (ordinary upsert), not fail (bug from F)."""
    from indicators.models import Indicator
    from plans.models import Plan, Section
    from targets.models import Target

    entrants = Indicator.objects.get(code="entrants")
    with transaction.atomic():
        plan = Plan.objects.create(code="p2023", title="2023", year=2023, owner_unit=tree.city)
        section = Section.objects.create(plan=plan, code="goals", title="目标", order=1)
        Target.objects.create(plan=plan, section=section, code="t1", text="招生", kind="quantity", indicator=entrants,
                              scope=tree.city)  # fmt: skip
        entrants.name = "一年级新生数"
        entrants.save()
        written = engine.full_recompute()
    assert written > 0
    assert IndicatorValue.objects.filter(indicator=entrants, org_unit=tree.city).exists()
    assert schema()  # the table still has its indexes and constraints


def test_a_refused_staged_build_rolls_back_and_upserts(tree, data) -> None:
    """Any database refusal inside the staged build other than a lock not granted (here: adding the foreign keys)
    rolls the attempt back to its savepoint — the staging table with it — and the upsert path runs."""
    before = schema()
    engine.full_recompute()
    expected = rows()
    IndicatorValue.objects.all().delete()
    old_table = table_oid()
    refused = OperationalError('cannot ALTER TABLE "targets_indicator" because it has pending trigger events')
    with mock.patch.object(engine._StagedBuild, "_add_foreign_keys", side_effect=refused) as attempted:
        engine.full_recompute()
    assert attempted.call_count == 1  # the staged build was tried …
    assert rows() == expected  # … and the upsert path wrote the same rows, once each, into the same table
    assert table_oid() == old_table
    assert schema() == before
    assert staging_tables() == []


def test_a_callers_transaction_keeps_its_synchronous_commit(tree, data) -> None:
    """The engine commits its own transactions without waiting for the WAL flush, never a caller's."""
    q1, _q2 = data
    with connection.cursor() as cursor:
        engine.full_recompute()
        engine.recompute_for(tree.s1.pk, q1.pk)
        cursor.execute("SHOW synchronous_commit")  # the test's transaction is the caller's here
        assert cursor.fetchone()[0] == "on"


def test_the_staged_builds_short_lock_timeout_does_not_leak_into_the_callers_transaction(
    tree, data, monkeypatch
) -> None:
    """The foreign keys and the swap run with a short lock_timeout (their table locks are NOWAIT, the rest must
    not wait long under the engine's keys either); the caller's own lock_timeout is back afterwards."""
    seen: list[str] = []
    real = engine._StagedBuild._add_foreign_keys

    def add_foreign_keys(self: engine._StagedBuild) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            seen.append(cursor.fetchone()[0])
        real(self)

    monkeypatch.setattr(engine._StagedBuild, "_add_foreign_keys", add_foreign_keys)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
        with swaps(monkeypatch) as outcomes:
            engine.full_recompute()
        assert outcomes == [True]  # the staged path ran …
        assert seen == [engine.STAGED_LOCK_TIMEOUT]  # … with its own short timeout
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"
