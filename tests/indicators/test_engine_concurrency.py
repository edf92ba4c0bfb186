"""Two workers at once give the same rows as one (PostgreSQL: needs real concurrent connections)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from indicators import engine
from indicators.models import IndicatorValue
from tests.indicators.engine_data import figure, indicator, period, report, snapshot, value

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(*calls):
    errors: list[BaseException] = []

    def run(call):
        try:
            call()
        except BaseException as error:  # noqa: BLE001  (re-raised in the main thread below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_concurrent_district_runs_and_incremental_runs_give_the_same_rows(tree):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    figure("pri_graduates")
    figure("pri_cohort_entrants")
    rate = indicator("retention", "pri_graduates", "pri_cohort_entrants", factor=100)
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)
    report(tree.s2, q2, pri_graduates=10, pri_cohort_entrants=12)
    report(tree.s3, q1, pri_graduates=40, pri_cohort_entrants=50)
    engine.full_recompute()
    expected = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    for _ in range(3):
        _in_threads(
            lambda: engine.full_recompute(root_unit_ids=[tree.d1.pk]),
            lambda: engine.full_recompute(root_unit_ids=[tree.d2.pk]),
            lambda: engine.recompute_for(tree.s1.pk, q1.pk),
            lambda: engine.recompute_for(tree.s3.pk, q1.pk),
        )
        assert [row[1:] for row in snapshot()] == expected
    # CITY Q2 (flow YTD): (90 + 10 + 40) / (100 + 12 + 50) = 140 / 162 = 86.42 %
    assert value(rate, tree.city, q2) == Decimal("86.42")
