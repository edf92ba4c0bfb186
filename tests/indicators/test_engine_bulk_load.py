"""PostgreSQL: the first build into an empty indicator-value table loads without indexes and constraints
(indicators.engine._begin_bulk_load) — same rows as the upsert path, and the table's schema is back after."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from indicators import engine
from indicators.models import IndicatorValue
from tests.indicators.engine_data import figure, indicator, period, report, stock

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk load is PostgreSQL's fast path")


def schema() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename = 'targets_indicatorvalue' "
            "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) || ' ' || condeferrable::text "
            "|| condeferred::text FROM pg_constraint WHERE conrelid = 'targets_indicatorvalue'::regclass "
            "ORDER BY 1, 2"
        )
        return cursor.fetchall()


def rows() -> list[tuple]:
    return list(
        IndicatorValue.objects.order_by("indicator", "org_unit", "period").values_list(
            "indicator_id", "org_unit_id", "period_id", "numerator", "denominator", "value", "unit_count"
        )
    )


@pytest.fixture
def data(tree):
    figure("pri_new_entrants")
    stock("pri_enrolled")
    indicator("entrants", "pri_new_entrants")
    indicator("entrant_share", "pri_new_entrants", "pri_enrolled", factor=100)
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_new_entrants=10, pri_enrolled=400)
    report(tree.s2, q1, pri_new_entrants=5, pri_enrolled=100)
    report(tree.s3, q2, pri_new_entrants=7, pri_enrolled=300)
    return q1, q2


def test_bulk_load_gives_the_upsert_paths_rows_and_restores_the_schema(tree, data) -> None:
    before = schema()
    assert any(kind == "constraint" and "FOREIGN KEY" in definition for kind, _n, definition in before)
    with mock.patch.object(engine, "_end_bulk_load", wraps=engine._end_bulk_load) as restored:
        engine.full_recompute()
    assert restored.call_count == 1  # the empty table took the bulk path
    assert schema() == before  # every index and constraint back, same names, same definitions
    bulk = rows()
    assert len(bulk) > 0

    # The same data through the upsert path: a table that is not empty (one row kept, made wrong).
    kept = IndicatorValue.objects.order_by("pk").first()
    IndicatorValue.objects.exclude(pk=kept.pk).delete()
    IndicatorValue.objects.filter(pk=kept.pk).update(value=12345, unit_count=99)
    with mock.patch.object(engine, "_end_bulk_load", wraps=engine._end_bulk_load) as restored:
        engine.full_recompute()
    assert restored.call_count == 0
    assert rows() == bulk


def _insert(**fields: object) -> None:
    with transaction.atomic():
        IndicatorValue.objects.create(computed_at=timezone.now(), **fields)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys, checked now


def test_the_restored_constraints_hold(tree, data) -> None:
    engine.full_recompute()
    row = IndicatorValue.objects.order_by("pk").first()
    same = {"indicator_id": row.indicator_id, "period_id": row.period_id}
    with pytest.raises(IntegrityError):  # unique (indicator, unit, period)
        _insert(org_unit_id=row.org_unit_id, **same)
    with pytest.raises(IntegrityError):  # foreign key to the org unit
        _insert(org_unit_id=999_999, **same)


def test_nested_roots_take_the_upsert_path(tree, data) -> None:
    with mock.patch.object(engine, "_end_bulk_load", wraps=engine._end_bulk_load) as restored:
        engine.full_recompute(root_unit_ids=[tree.d1.pk, tree.t1.pk])  # T1 inside D1: rows written twice
    assert restored.call_count == 0
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


def test_a_refused_bulk_load_rolls_back_and_upserts(tree, data) -> None:
    """Any database refusal inside the bulk load (here: restoring the constraints) rolls the attempt back
    to its savepoint — the drops and the plain inserts with it — and the ordinary upsert path runs."""
    from django.db import OperationalError

    before = schema()
    engine.full_recompute()
    expected = rows()
    IndicatorValue.objects.all().delete()
    refused = OperationalError('cannot ALTER TABLE "targets_indicator" because it has pending trigger events')
    with mock.patch.object(engine, "_end_bulk_load", side_effect=refused) as restored:
        engine.full_recompute()
    assert restored.call_count == 1  # the bulk load was tried …
    assert rows() == expected  # … and the upsert path wrote the same rows, once each
    assert schema() == before


def test_a_callers_transaction_keeps_its_synchronous_commit(tree, data) -> None:
    """The engine commits its own transactions without waiting for the WAL flush, never a caller's."""
    q1, _q2 = data
    with connection.cursor() as cursor:
        engine.full_recompute()
        engine.recompute_for(tree.s1.pk, q1.pk)
        cursor.execute("SHOW synchronous_commit")  # the test's transaction is the caller's here
        assert cursor.fetchone()[0] == "on"


def test_the_bulk_loads_short_lock_timeout_does_not_leak_into_the_callers_transaction(tree, data) -> None:
    """The bulk load gives up on any lock wait over BULK_LOAD_LOCK_TIMEOUT (it would otherwise deadlock with
    concurrent writers, see test_engine_concurrency); the caller's own lock_timeout is back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
        with mock.patch.object(engine, "_end_bulk_load", wraps=engine._end_bulk_load) as restored:
            engine.full_recompute()
        assert restored.call_count == 1  # the bulk path ran (with its own short timeout)
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"
