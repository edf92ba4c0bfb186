"""``IndicatorValue.carried_units``: how many units gave a quarter a stock figure's value from an earlier quarter.

A stock figure's value for a quarter is the unit's latest approved value up to that quarter (within the year); a
unit whose value for Q3 is really its Q2 value is counted, and the count is summed up the tree (issue 14).

Tree: CITY ── D1 ── T1 ── S1, S2, K1 (kindergarten)
           └─ D2 ── S3, K2 (kindergarten)
"""

from __future__ import annotations

from decimal import Decimal

from indicators import engine
from submissions.models import SubmissionStatus
from tests.indicators.engine_data import figure, indicator, iv, period, report, stock

D = Decimal


def test_units_whose_stock_value_is_an_earlier_quarters_are_counted_up_the_tree(tree):
    stock("kg_enrolled")
    figure("kg_new_entrants")
    enrolled = indicator("kg_enr", "kg_enrolled")
    entrants = indicator("kg_new", "kg_new_entrants")
    q1, q2, q3 = (period(2023, q) for q in (1, 2, 3))
    report(tree.k1, q1, kg_enrolled=100, kg_new_entrants=10)
    report(tree.k1, q2, kg_enrolled=110, kg_new_entrants=5)
    report(tree.k2, q1, kg_enrolled=50)
    report(tree.k2, q2, kg_enrolled=55)
    report(tree.k2, q3, kg_enrolled=60)
    report(tree.k1, q3, status=SubmissionStatus.SUBMITTED, kg_enrolled=999)  # not approved: Q2's 110 is used

    engine.full_recompute()

    assert iv(enrolled, tree.k1, q3).value == D(110)
    assert iv(enrolled, tree.k1, q3).carried_units == 1
    assert iv(enrolled, tree.k2, q3).carried_units == 0  # its own Q3 value
    assert iv(enrolled, tree.k1, q2).carried_units == 0
    city = iv(enrolled, tree.city, q3)
    assert (city.value, city.unit_count, city.carried_units) == (D(170), 2, 1)
    assert iv(enrolled, tree.d1, q3).carried_units == 1
    assert iv(enrolled, tree.d2, q3).carried_units == 0
    # A flow figure sums the year to date: nothing is carried, whatever the quarters missing.
    assert iv(entrants, tree.city, q3).carried_units == 0


def test_approving_the_quarter_clears_the_count_incrementally(tree):
    stock("kg_enrolled")
    enrolled = indicator("kg_enr", "kg_enrolled")
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.k1, q1, kg_enrolled=100)
    report(tree.k2, q1, kg_enrolled=50)
    report(tree.k2, q2, kg_enrolled=55)
    engine.full_recompute()
    assert iv(enrolled, tree.city, q2).carried_units == 1

    report(tree.k1, q2, kg_enrolled=120)
    engine.recompute_for(tree.k1.pk, q2.pk)

    assert iv(enrolled, tree.k1, q2).carried_units == 0
    city = iv(enrolled, tree.city, q2)
    assert (city.value, city.carried_units) == (D(175), 0)


def test_a_ratio_counts_a_unit_once_when_both_sides_are_carried(tree):
    stock("pri_enrolled")
    stock("pri_teachers")
    ratio = indicator("pupils_per_teacher", "pri_enrolled", "pri_teachers")
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_enrolled=400, pri_teachers=20)
    report(tree.s2, q1, pri_enrolled=300, pri_teachers=20)
    report(tree.s2, q2, pri_enrolled=330, pri_teachers=22)
    report(tree.s3, q2, pri_enrolled=200, pri_teachers=10)

    engine.full_recompute()

    city = iv(ratio, tree.city, q2)
    assert (city.unit_count, city.carried_units) == (3, 1)  # S1's Q1 figures stand in for Q2
    assert iv(ratio, tree.s1, q2).carried_units == 1
    assert iv(ratio, tree.city, q1).carried_units == 0
