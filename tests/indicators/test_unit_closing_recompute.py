"""Closing, reopening, deactivating a unit recomputes its values through the outbox (issue 13 loose end).

A unit counts for a period when it is active and not closed on or before the period's last day
(``UnitFilter``); a save that changes ``closed_on`` or ``is_active`` records a recompute of the periods whose
counting changed (``indicators/receivers.py``), the same outbox an approval uses.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from indicators import engine
from indicators.models import PendingRecompute
from tests.indicators.engine_data import indicator, period, report, stock, value

D = Decimal


@pytest.fixture
def enrolled(tree):
    stock("enrolled")
    ind = indicator("enrolled", "enrolled")
    quarters = [period(2023, 1), period(2023, 2), period(2024, 1)]
    for per in quarters:
        report(tree.s1, per, enrolled=30)
        report(tree.s2, per, enrolled=20)
    engine.full_recompute()
    return ind, quarters


def _district(ind, tree, quarters) -> list[Decimal | None]:  # noqa: ANN001
    return [value(ind, tree.d1, q) for q in quarters]


def test_closing_and_reopening_a_school_recomputes_the_periods_concerned(
    tree, enrolled, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    ind, quarters = enrolled
    assert _district(ind, tree, quarters) == [D(50), D(50), D(50)]
    with django_capture_on_commit_callbacks(execute=True):
        tree.s2.closed_on = datetime.date(2023, 5, 1)  # counts in 2023Q1 (ends 31 March), not from 2023Q2
        tree.s2.save()
    assert _district(ind, tree, quarters) == [D(50), D(30), D(30)]
    assert value(ind, tree.city, quarters[2]) == D(30)
    assert value(ind, tree.s2, quarters[1]) is None  # its own row is gone
    assert set(PendingRecompute.objects.filter(reason="unit closed").values_list("period__code", flat=True)) == {
        "2023Q2",
        "2024Q1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        tree.s2.closed_on = None
        tree.s2.save()
    assert _district(ind, tree, quarters) == [D(50), D(50), D(50)]


def test_deactivating_a_school_takes_it_out_of_every_period(tree, enrolled, django_capture_on_commit_callbacks):  # noqa: ANN001
    ind, quarters = enrolled
    with django_capture_on_commit_callbacks(execute=True):
        tree.s2.is_active = False
        tree.s2.save()
    assert _district(ind, tree, quarters) == [D(30), D(30), D(30)]
    with django_capture_on_commit_callbacks(execute=True):
        tree.s2.is_active = True
        tree.s2.save()
    assert _district(ind, tree, quarters) == [D(50), D(50), D(50)]


def test_a_save_that_changes_neither_records_nothing(tree, enrolled, django_capture_on_commit_callbacks):  # noqa: ANN001
    before = PendingRecompute.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        tree.s2.name = "东区第二小学（新名）"
        tree.s2.save()
    assert PendingRecompute.objects.count() == before
