"""The indicator engine against hand-computed numbers on the shared tree.

Tree: CITY ── D1 ── T1 ── S1 (central primary), S2 (primary), K1 (kindergarten, public)
           └─ D2 ── S3 (primary), K2 (kindergarten, inclusive private)
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from indicators import engine, explain
from indicators.models import Aggregation, IndicatorValue
from schools.models import Designation, DesignationKind, SchoolType
from submissions.models import SubmissionStatus
from tests.indicators.engine_data import figure, indicator, iv, period, report, snapshot, stock, value

D = Decimal


@pytest.fixture
def retention(db):
    for code in ("pri_graduates", "pri_cohort_entrants", "pri_transfers_in", "pri_transfers_out"):
        figure(code)
    return indicator(
        "pri_retention_rate", "pri_graduates", "pri_cohort_entrants + pri_transfers_in - pri_transfers_out", factor=100
    )


def test_rate_is_ratio_of_sums_not_average_of_rates(tree, retention):
    # Numerator/denominator split so the rate is grads / cohort.
    retention.numerator, retention.denominator = "pri_graduates", "pri_cohort_entrants"
    retention.save()
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)  # 90 %
    report(tree.s2, q1, pri_graduates=10, pri_cohort_entrants=10)  # 100 %
    engine.full_recompute()
    # average of rates would be 95 %; ratio of sums = 100 / 110 × 100 = 90.909… → 90.91
    assert value(retention, tree.t1, q1) == D("90.91")
    assert value(retention, tree.d1, q1) == D("90.91")
    assert value(retention, tree.s1, q1) == D("90.00")
    row = iv(retention, tree.city, q1)
    assert (row.numerator, row.denominator, row.unit_count) == (D(100), D(110), 2)


def test_cohort_retention_counts_transfers(tree, retention):
    retention.denominator = "pri_cohort_entrants + pri_transfers_in - pri_transfers_out"
    retention.numerator = "pri_graduates"
    retention.save()
    q2 = period(2023, 2)
    # S1: 95 / (100 + 5 − 10) = 95 / 95 = 100 %
    report(tree.s1, q2, pri_graduates=95, pri_cohort_entrants=100, pri_transfers_in=5, pri_transfers_out=10)
    # S2: 47 / (50 + 0 − 0) = 94 %; transfers left empty count as 0
    report(tree.s2, q2, pri_graduates=47, pri_cohort_entrants=50)
    engine.full_recompute()
    assert value(retention, tree.s1, q2) == D("100.00")
    assert value(retention, tree.s2, q2) == D("94.00")
    # T1: (95 + 47) / (95 + 50) = 142 / 145 = 97.931… → 97.93
    assert value(retention, tree.t1, q2) == D("97.93")


def test_retention_can_exceed_100_percent_when_transfers_in_exceed_losses(tree, retention):
    retention.numerator, retention.denominator = "pri_graduates", "pri_cohort_entrants"
    retention.save()
    q4 = period(2023, 4)
    # 100 entered, 12 came in, 2 left: 110 graduate against a cohort of 100 → 110 %, not capped.
    report(tree.s3, q4, pri_graduates=110, pri_cohort_entrants=100, pri_transfers_in=12, pri_transfers_out=2)
    engine.full_recompute()
    assert value(retention, tree.s3, q4) == D("110.00")
    assert value(retention, tree.d2, q4) == D("110.00")


def test_zero_or_missing_denominator_gives_null_at_unit_and_district(tree, retention):
    retention.numerator, retention.denominator = "pri_graduates", "pri_cohort_entrants"
    retention.save()
    q1 = period(2023, 1)
    report(tree.s3, q1, pri_graduates=0, pri_cohort_entrants=0)  # D2's only primary: 0 / 0
    report(tree.s1, q1, pri_graduates=5)  # no cohort reported at all
    engine.full_recompute()
    s3 = iv(retention, tree.s3, q1)
    assert (s3.numerator, s3.denominator, s3.value) == (D(0), D(0), None)
    assert iv(retention, tree.d2, q1).value is None
    assert iv(retention, tree.s1, q1).value is None
    assert iv(retention, tree.d1, q1).value is None
    # CITY: 5 / 0 → still null, never 0 and never an error
    assert iv(retention, tree.city, q1).value is None


def test_closed_units_are_left_out(tree):
    figure("pri_new_entrants")
    entrants = indicator("pri_new_entrants", "pri_new_entrants")
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_new_entrants=30)
    report(tree.s2, q1, pri_new_entrants=20)
    engine.full_recompute()
    assert value(entrants, tree.d1, q1) == D(50)
    tree.s2.is_active = False
    tree.s2.closed_on = datetime.date(2023, 2, 1)
    tree.s2.save()
    engine.full_recompute()
    # 30 only; the closed school's own row is gone
    assert value(entrants, tree.d1, q1) == D(30)
    assert value(entrants, tree.city, q1) == D(30)
    assert iv(entrants, tree.s2, q1) is None


def test_flow_figures_accumulate_and_stock_figures_take_the_latest(tree):
    figure("kg_new_entrants")
    stock("kg_enrolled")
    flow_ind = indicator("kg_new", "kg_new_entrants")
    stock_ind = indicator("kg_enr", "kg_enrolled")
    q1, q2, q3, q4 = (period(2023, q) for q in (1, 2, 3, 4))
    report(tree.k1, q1, kg_new_entrants=10, kg_enrolled=100)
    report(tree.k1, q2, kg_new_entrants=5, kg_enrolled=110)
    report(tree.k1, q3, status=SubmissionStatus.SUBMITTED, kg_new_entrants=999, kg_enrolled=999)  # not approved
    report(tree.k1, q4, kg_new_entrants=3, kg_enrolled=95)
    engine.full_recompute()
    # flow, year to date: 10, 10+5, 15 (Q3 not approved), 15+3
    assert [value(flow_ind, tree.k1, q) for q in (q1, q2, q3, q4)] == [D(10), D(15), D(15), D(18)]
    # stock, latest approved value: 100, 110, 110 (carried), 95
    assert [value(stock_ind, tree.k1, q) for q in (q1, q2, q3, q4)] == [D(100), D(110), D(110), D(95)]
    with override_settings(INDICATORS_INCLUDE_SUBMITTED=True):
        engine.full_recompute()
    # Q3 counted now: flow 15 + 999 = 1014, stock 999
    assert value(flow_ind, tree.k1, q3) == D(1014)
    assert value(stock_ind, tree.k1, q3) == D(999)


def test_flow_resets_at_the_start_of_a_year(tree):
    figure("kg_new_entrants")
    flow_ind = indicator("kg_new", "kg_new_entrants")
    report(tree.k1, period(2022, 4), kg_new_entrants=40)
    report(tree.k1, period(2023, 1), kg_new_entrants=7)
    engine.full_recompute()
    assert value(flow_ind, tree.k1, period(2022, 4)) == D(40)
    assert value(flow_ind, tree.k1, period(2023, 1)) == D(7)


def test_period_offsets_read_earlier_quarters(tree):
    stock("kg_enrolled")
    growth = indicator("kg_growth", "kg_enrolled - kg_enrolled[-4]")
    spring_to_autumn = indicator("kg_keep", "kg_enrolled", "kg_enrolled[-2]", factor=100)
    q4_2022, q2_2023, q4_2023 = period(2022, 4), period(2023, 2), period(2023, 4)
    report(tree.k1, q4_2022, kg_enrolled=80)
    report(tree.k1, q2_2023, kg_enrolled=90)
    report(tree.k1, q4_2023, kg_enrolled=95)
    report(tree.k2, q4_2022, kg_enrolled=50)
    report(tree.k2, q4_2023, kg_enrolled=45)
    engine.full_recompute()
    # year over year: K1 95 − 80 = 15, K2 45 − 50 = −5, CITY 15 − 5 = 10
    assert value(growth, tree.k1, q4_2023) == D(15)
    assert value(growth, tree.k2, q4_2023) == D(-5)
    assert value(growth, tree.city, q4_2023) == D(10)
    # Q4 vs Q2 (stock carried from Q2 when Q3 is missing): K1 95 / 90 = 105.56 %;
    # K2 has no 2023Q2 value → denominator missing: CITY (95 + 45) / 90 = 155.56 %
    assert value(spring_to_autumn, tree.k1, q4_2023) == D("105.56")
    assert value(spring_to_autumn, tree.city, q4_2023) == D("155.56")


def test_count_units_where_counts_schools_meeting_the_condition(tree):
    stock("pri_enrolled")
    big = indicator("schools_over_2000", aggregation=Aggregation.COUNT_UNITS_WHERE, condition="pri_enrolled > 2000")
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_enrolled=2500)
    report(tree.s2, q1, pri_enrolled=1500)
    report(tree.s3, q1, pri_enrolled=2001)
    engine.full_recompute()
    # D1: S1 only → 1; D2: S3 → 1; CITY → 2; three units could be judged
    assert value(big, tree.d1, q1) == D(1)
    assert value(big, tree.d2, q1) == D(1)
    assert value(big, tree.city, q1) == D(2)
    assert iv(big, tree.city, q1).unit_count == 3
    assert value(big, tree.s2, q1) == D(0)
    assert value(big, tree.k1, q1) is None  # nothing reported: not judged, not "0 schools"


def test_count_designations_granted_in_the_year_and_not_revoked(tree):
    standard = DesignationKind.objects.create(code="standard_kg", name="标准化幼儿园")
    count = indicator("designations_standard_kg", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=standard)
    q1, q2 = period(2023, 1), period(2023, 2)
    Designation.objects.create(org_unit=tree.k1, kind=standard, granted_on=datetime.date(2023, 2, 10))  # Q1 on
    Designation.objects.create(org_unit=tree.k2, kind=standard, granted_on=datetime.date(2023, 5, 1))  # Q2 on
    Designation.objects.create(org_unit=tree.k2, kind=standard, granted_on=datetime.date(2022, 6, 1))  # last year
    Designation.objects.create(  # granted and revoked within Q1
        org_unit=tree.s1, kind=standard, granted_on=datetime.date(2023, 1, 5), revoked_on=datetime.date(2023, 3, 15)
    )
    engine.full_recompute()
    assert value(count, tree.city, q1) == D(1)  # K1
    assert value(count, tree.city, q2) == D(2)  # K1 + K2 (2023-05-01)
    assert value(count, tree.d2, q1) == D(0)  # a real zero: nothing granted yet
    assert value(count, tree.d2, q2) == D(1)


def test_max_and_min_over_units(tree):
    stock("pri_grade1_max_class_size")
    largest = indicator("max_grade1_class_size", "pri_grade1_max_class_size", aggregation=Aggregation.MAX)
    smallest = indicator("min_grade1_class_size", "pri_grade1_max_class_size", aggregation=Aggregation.MIN)
    q3 = period(2023, 3)
    report(tree.s1, q3, pri_grade1_max_class_size=44)
    report(tree.s2, q3, pri_grade1_max_class_size=47)
    report(tree.s3, q3, pri_grade1_max_class_size=52)
    engine.full_recompute()
    assert value(largest, tree.d1, q3) == D(47)
    assert value(largest, tree.city, q3) == D(52)
    assert value(smallest, tree.d1, q3) == D(44)
    assert value(smallest, tree.city, q3) == D(44)


def test_unit_filters_bind_school_types_ownership_and_central_schools(tree):
    figure("children")
    report_period = period(2023, 1)
    report(tree.k1, report_period, children=100)  # public kindergarten
    report(tree.k2, report_period, children=50)  # inclusive private kindergarten
    report(tree.s1, report_period, children=7)  # central primary with a preschool class
    report(tree.s2, report_period, children=3)
    everyone = indicator("all_children", "children")
    kg = indicator("kg_children", "children", unit_filter_school_types=[SchoolType.KINDERGARTEN])
    kg_public = indicator(
        "kg_public", "children", unit_filter_school_types=[SchoolType.KINDERGARTEN], unit_filter_ownership=["public"]
    )
    central = indicator("central_children", "children", unit_filter_central_only=True)
    engine.full_recompute()
    assert value(everyone, tree.city, report_period) == D(160)
    assert value(kg, tree.city, report_period) == D(150)
    assert value(kg_public, tree.city, report_period) == D(100)
    assert value(central, tree.city, report_period) == D(7)
    assert iv(kg, tree.s1, report_period) is None  # a filtered-out school has no row


def test_district_level_figures_count_at_the_district(tree):
    figure("kg_enrolled_3_5")
    stock("pop_age_3_5")
    rate = indicator(
        "kg_3yr_rate",
        "kg_enrolled_3_5",
        "pop_age_3_5",
        factor=100,
        unit_filter_school_types=[SchoolType.KINDERGARTEN],
    )
    q1 = period(2023, 1)
    report(tree.k1, q1, kg_enrolled_3_5=90)
    report(tree.k2, q1, kg_enrolled_3_5=50)
    report(tree.d1, q1, pop_age_3_5=100)
    report(tree.d2, q1, pop_age_3_5=40)
    engine.full_recompute()
    # D1 90 / 100 = 90 %; D2 50 / 40 = 125 %; CITY 140 / 140 = 100 % (not (90 + 125) / 2)
    assert value(rate, tree.d1, q1) == D("90.00")
    assert value(rate, tree.d2, q1) == D("125.00")
    assert value(rate, tree.city, q1) == D("100.00")
    assert value(rate, tree.t1, q1) is None  # T1 has enrolment but no population


def test_running_twice_gives_the_same_rows(tree, retention):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)
    report(tree.s3, q1, pri_graduates=40, pri_cohort_entrants=41)
    engine.full_recompute()
    first = snapshot()
    engine.full_recompute()
    assert snapshot() == first  # same ids, same numbers
    engine.recompute_for(tree.s1.pk, q1.pk)
    assert snapshot() == first


def test_incremental_recompute_equals_full_recompute(tree, retention):
    q1, q2 = period(2023, 1), period(2023, 2)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)
    report(tree.s2, q1, pri_graduates=10, pri_cohort_entrants=12)
    engine.full_recompute()
    # S2's figures change; only S2 and its ancestors are recomputed, for Q1 and the later Q2.
    report(tree.s2, q1, pri_graduates=12)
    report(tree.s3, q2, pri_graduates=1, pri_cohort_entrants=1)
    engine.recompute_for(tree.s2.pk, q1.pk)
    engine.recompute_for(tree.s3.pk, q2.pk)
    incremental = [row[1:] for row in snapshot()]
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == incremental
    # T1 Q2 (flow YTD): (90 + 12) / (100 + 12) = 91.07 %
    assert value(retention, tree.t1, q2) == D("91.07")


def test_per_district_runs_add_up_to_the_whole(tree, retention):
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=90, pri_cohort_entrants=100)
    report(tree.s3, q1, pri_graduates=40, pri_cohort_entrants=50)
    engine.full_recompute(root_unit_ids=[tree.d1.pk])
    engine.full_recompute(root_unit_ids=[tree.d2.pk])
    fanned = [row[1:] for row in snapshot()]
    IndicatorValue.objects.all().delete()
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == fanned
    assert value(retention, tree.city, q1) == D("86.67")  # 130 / 150


def test_explanation_lists_the_inputs_and_matches_the_stored_value(tree, retention):
    retention.denominator = "pri_cohort_entrants + pri_transfers_in - pri_transfers_out"
    retention.numerator = "pri_graduates"
    retention.save()
    q1 = period(2023, 1)
    report(tree.s1, q1, pri_graduates=95, pri_cohort_entrants=100, pri_transfers_in=5, pri_transfers_out=10)
    report(tree.s2, q1, pri_graduates=47, pri_cohort_entrants=50)
    engine.full_recompute()
    result = explain.explain(retention, tree.d1, q1)
    assert [c.unit.code for c in result.contributions] == ["S1", "S2"]
    s1 = result.contributions[0]
    assert {(i.code, i.value) for i in s1.inputs} == {
        ("pri_graduates", D(95)),
        ("pri_cohort_entrants", D(100)),
        ("pri_transfers_in", D(5)),
        ("pri_transfers_out", D(10)),
    }
    assert (s1.numerator, s1.denominator) == (D(95), D(95))
    # 142 / 145 × 100, the same as the engine's row
    assert (result.numerator, result.denominator) == (D(142), D(145))
    assert result.value.quantize(D("0.0001")) == result.stored.value.quantize(D("0.0001"))


def test_incremental_recompute_keeps_an_ancestors_own_figures(tree):
    figure("kg_enrolled_3_5")
    stock("pop_age_3_5")
    rate = indicator("kg_3yr_rate", "kg_enrolled_3_5", "pop_age_3_5", factor=100)
    q1 = period(2023, 1)
    report(tree.k1, q1, kg_enrolled_3_5=90)
    report(tree.d1, q1, pop_age_3_5=100)  # D1 reports its own population
    engine.full_recompute()
    report(tree.k1, q1, kg_enrolled_3_5=95)
    engine.recompute_for(tree.k1.pk, q1.pk)
    # D1 = K1's 95 / D1's own 100; T1 (reports nothing itself) = 95 / no denominator
    assert value(rate, tree.d1, q1) == D("95.00")
    assert value(rate, tree.t1, q1) is None
    incremental = [row[1:] for row in snapshot()]
    engine.full_recompute()
    assert [row[1:] for row in snapshot()] == incremental
