"""Issue 17: a recompute that confirms a row leaves it alone — not rewritten, and not locked either (PostgreSQL).

``INSERT … ON CONFLICT DO UPDATE … WHERE changed`` skips the rewrite of an unchanged row but still locks it, which
writes the lock into the row's page (dirtied, written back, logged): the nightly run did that to every one of its
~1 M rows at 20,000 units. The engine now leaves the unchanged rows out before the upsert (``_Plan._unchanged_sql``),
comparing them as stored (rounded to the columns' places). A row's ``xmax`` is the transaction that last locked or
deleted it: 0 for a row nobody touched since it was inserted.

The first build also stores each unit's rows together (``ORDER BY`` unit, period, indicator), checked here by
physical order. And rows no longer computed (a school closed) are deleted on each path — in the level's own statement
on the per-district and approval paths, by the separate check over the whole tree — leaving what a first build
writes; an approval of a closed school also rewrites the ancestors it no longer feeds (it once left their old row).
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from indicators import engine
from indicators.models import Aggregation, IndicatorValue
from schools.models import OrgUnit
from tests.indicators.engine_data import figure, indicator, period, report

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(data):  # noqa: ANN001, ANN201
    if connection.vendor != "postgresql":
        pytest.skip("row locks (xmax) and physical order (ctid) are PostgreSQL's")
    return data


@pytest.fixture
def data(tree):  # noqa: ANN001, ANN201
    """Three primary schools' figures for two quarters, and the first build of their values (either database)."""
    figure("pri_graduates")
    figure("pri_cohort_entrants")
    figure("pri_students")
    # A third of 100: more decimal places than the value column keeps (6), so only a comparison as stored
    # sees the row unchanged.
    thirds = indicator("thirds", "pri_graduates", "pri_cohort_entrants", factor=100)
    spread = indicator(
        "spread", "pri_graduates", "pri_students", aggregation=Aggregation.CV, unit_filter_school_types=["primary"]
    )
    total = indicator("total", "pri_students")
    q1, q2 = period(2023, 1), period(2023, 2)
    for unit, numbers in ((tree.s1, (1, 3, 7)), (tree.s2, (2, 3, 11)), (tree.s3, (5, 7, 13))):
        for quarter in (q1, q2):
            report(unit, quarter, pri_graduates=numbers[0], pri_cohort_entrants=numbers[1], pri_students=numbers[2])
    engine.full_recompute()  # the first build: every row inserted
    return {"thirds": thirds, "spread": spread, "total": total, "q1": q1, "q2": q2}


def _locked_or_rewritten() -> int:
    """Rows some transaction locked, updated or deleted since they were inserted (xmax set)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM targets_indicatorvalue WHERE xmax::text <> '0'")
        return int(cursor.fetchone()[0])


def _stamps() -> dict[int, object]:
    return dict(IndicatorValue.objects.values_list("pk", "computed_at"))


def test_a_nightly_run_on_unchanged_data_neither_rewrites_nor_locks_a_row(tree, world) -> None:  # noqa: ANN001
    rows = IndicatorValue.objects.count()
    assert rows > 0
    assert _locked_or_rewritten() == 0
    third = IndicatorValue.objects.get(indicator=world["thirds"], org_unit=tree.s1, period=world["q1"])
    assert str(third.value) == "33.333333"  # stored rounded; the statement computes 33.3333…
    before = _stamps()

    engine.full_recompute()  # filled table: the per-district path, as the nightly run
    engine.full_recompute(root_unit_ids=[tree.city.pk])  # the whole tree in one pass

    assert _locked_or_rewritten() == 0
    assert _stamps() == before
    assert IndicatorValue.objects.count() == rows


def _contents() -> dict[int, tuple[object, ...]]:
    return {
        row[0]: row[1:]
        for row in IndicatorValue.objects.values_list(
            "pk", "numerator", "denominator", "value", "unit_count", "moment2", "left_out_count", "carried_units"
        )
    }


def test_changed_rows_are_still_written_and_only_they(tree, world) -> None:  # noqa: ANN001
    stamps, contents = _stamps(), _contents()
    report(tree.s3, world["q2"], pri_graduates=6, pri_cohort_entrants=7, pri_students=13)

    engine.recompute_for(tree.s3.pk, world["q2"].pk)

    after = _contents()
    differ = {pk for pk in after if after[pk] != contents.get(pk)}
    restamped = {pk for pk, stamp in _stamps().items() if stamp != stamps.get(pk)}
    assert differ
    assert restamped == differ
    assert _locked_or_rewritten() == len(differ)  # and no other row locked
    keys = set(IndicatorValue.objects.filter(pk__in=differ).values_list("indicator_id", "org_unit_id", "period_id"))
    q2 = world["q2"].pk
    assert {(world["thirds"].pk, unit.pk, q2) for unit in (tree.s3, tree.d2, tree.city)} <= keys
    assert {per for _ind, _unit, per in keys} == {q2}  # Q1 read nothing of Q2
    assert not {unit for _ind, unit, _per in keys} & {tree.s1.pk, tree.s2.pk, tree.t1.pk, tree.d1.pk}
    s3 = IndicatorValue.objects.get(indicator=world["thirds"], org_unit=tree.s3, period=world["q2"])
    assert s3.numerator == 11
    assert s3.denominator == 14


def test_the_first_build_stores_each_units_rows_together(tree, world) -> None:  # noqa: ANN001
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.depth, iv.org_unit_id, iv.period_id, iv.indicator_id FROM targets_indicatorvalue iv "
            "JOIN schools_orgunit u ON u.id = iv.org_unit_id ORDER BY iv.ctid"
        )
        stored = cursor.fetchall()
    assert stored
    by_depth: dict[int, list[tuple[int, int, int]]] = {}
    for depth, *key in stored:
        by_depth.setdefault(depth, []).append(tuple(key))
    for depth, keys in by_depth.items():
        assert keys == sorted(keys), f"rows of depth {depth} not stored in (unit, period, indicator) order"


def _snapshot() -> set[tuple[object, ...]]:
    return set(
        IndicatorValue.objects.values_list(
            "indicator_id", "org_unit_id", "period_id", "numerator", "denominator", "value", "unit_count", "moment2",
            "left_out_count", "carried_units",
        )
    )  # fmt: skip


@pytest.mark.parametrize("path", ["nightly", "whole tree", "approval"])
def test_rows_no_longer_computed_are_deleted_on_every_path(tree, data, path) -> None:  # noqa: ANN001
    """A school closed in May (still counted in 2023Q1, not at the end of 2023Q2): its 2023Q2 rows go, on the
    per-district path (pruned in the level's own statement), the whole-tree path (the separate stale-row check)
    and an approval's; everything else is left exactly as a first build writes it."""
    q1, q2 = data["q1"], data["q2"]
    OrgUnit.objects.filter(pk=tree.s3.pk).update(closed_on=datetime.date(2023, 5, 1))  # no save signal: no recompute
    assert IndicatorValue.objects.filter(org_unit=tree.s3, period=q2).exists()

    if path == "nightly":
        engine.full_recompute()
    elif path == "whole tree":
        engine.full_recompute(root_unit_ids=[tree.city.pk])
    else:
        engine.recompute_for(tree.s3.pk, q2.pk)

    assert not IndicatorValue.objects.filter(org_unit=tree.s3, period=q2).exists()
    assert IndicatorValue.objects.filter(org_unit=tree.s3, period=q1).exists()
    assert IndicatorValue.objects.filter(org_unit=tree.d2, period=q2).exists()  # its kindergarten still feeds it
    result = _snapshot()
    IndicatorValue.objects.all().delete()
    engine.full_recompute()  # a first build from today's data
    assert result == _snapshot()
