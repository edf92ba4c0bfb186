"""Shared by the first-build tests (issue 17): the data, the table's schema, its rows, a spy on the swap."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from indicators import engine
from indicators.models import IndicatorValue
from submissions.models import Period
from tests.conftest import Tree
from tests.indicators.engine_data import figure, indicator, period, report, stock


def make_data(tree: Tree) -> tuple[Period, Period]:
    figure("pri_new_entrants")
    stock("pri_enrolled")
    indicator("entrants", "pri_new_entrants")
    indicator("entrant_share", "pri_new_entrants", "pri_enrolled", factor=100)
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_new_entrants=10, pri_enrolled=400)
    report(tree.s2, q1, pri_new_entrants=5, pri_enrolled=100)
    report(tree.s3, q2, pri_new_entrants=7, pri_enrolled=300)
    return q1, q2


def schema() -> list[tuple]:
    """Everything a migration gives the indicator-value table, by name: indexes, constraints (with their
    deferral), columns (identity and defaults), the identity sequence (its name, options, persistence) and the
    table's persistence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename = 'targets_indicatorvalue' "
            "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) || ' ' || condeferrable::text "
            "|| condeferred::text || ' ' || convalidated::text FROM pg_constraint "
            "WHERE conrelid = 'targets_indicatorvalue'::regclass "
            "UNION ALL SELECT 'column', column_name, concat_ws(' ', ordinal_position, data_type, numeric_precision, "
            "numeric_scale, is_nullable, column_default, is_identity, identity_generation) "
            "FROM information_schema.columns WHERE table_name = 'targets_indicatorvalue' "
            "UNION ALL SELECT 'sequence', pg_get_serial_sequence('targets_indicatorvalue', 'id'), "
            "concat_ws(' ', s.start_value, s.increment_by, s.min_value, s.max_value, s.cache_size, s.cycle, "
            "c.relpersistence) FROM pg_sequences s JOIN pg_class c ON c.relname = s.sequencename "
            "WHERE s.schemaname || '.' || s.sequencename = pg_get_serial_sequence('targets_indicatorvalue', 'id') "
            "UNION ALL SELECT 'table', relname, relpersistence::text || ' ' || relkind::text FROM pg_class "
            "WHERE oid = 'targets_indicatorvalue'::regclass ORDER BY 1, 2"
        )
        return cursor.fetchall()


def table_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'targets_indicatorvalue'::regclass::oid")
        return int(cursor.fetchone()[0])


def staging_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'targets_indicatorvalue_stage%%'")
        return [row[0] for row in cursor.fetchall()]


def replaced_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'targets_indicatorvalue_old%%'")
        return [row[0] for row in cursor.fetchall()]


def rows() -> list[tuple]:
    return list(
        IndicatorValue.objects.order_by("indicator", "org_unit", "period").values_list(
            "indicator_id", "org_unit_id", "period_id", "numerator", "denominator", "value", "unit_count"
        )
    )


@contextmanager
def swaps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """What each staged build's swap returned (True: swapped in, False: merged), in order."""
    outcomes: list[bool] = []
    real = engine._StagedBuild.swap_in

    def swap_in(self: engine._StagedBuild) -> bool:
        outcome = real(self)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(engine._StagedBuild, "swap_in", swap_in)
    yield outcomes
