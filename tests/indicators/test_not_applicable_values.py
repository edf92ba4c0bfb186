"""不适用 is never a number: not summed, not in a denominator (issue 13 §1). Hand-computed on the shared tree.

Tree: CITY ── D1 ── T1 ── S1, S2;  D2 ── S3.
"""

from __future__ import annotations

from decimal import Decimal

from indicators import engine, explain
from submissions.models import Value
from tests.indicators.engine_data import figure, indicator, period, report, value

D = Decimal


def test_a_not_applicable_denominator_leaves_the_unit_out_of_the_rate(tree, db):
    figure("grads")
    cohort = figure("cohort")
    rate = indicator("grad_rate", "grads", "cohort", factor=100)
    q1 = period(2023, 1)
    report(tree.s1, q1, grads=90, cohort=100)
    report(tree.s2, q1, grads=10, cohort=10)
    s3 = report(tree.s3, q1, grads=5, cohort=None)
    Value.objects.filter(submission=s3, figure=cohort).update(not_applicable=True)
    engine.full_recompute()
    # CITY: S3 answered 不适用 for the denominator, so its 5 graduates are not counted either:
    # (90 + 10) / (100 + 10) * 100 = 90.909… → 90.91 (95.45 if its numerator had been summed).
    assert value(rate, tree.city, q1) == D("90.91")
    # The "how was this computed" page agrees: S3 contributes to neither side.
    shown = explain.explain(rate, tree.city, q1)
    assert (shown.numerator, shown.denominator) == (D(100), D(110))
    # D2 has only S3: no denominator at all → no value, never 0.
    assert value(rate, tree.d2, q1) is None
    assert value(rate, tree.s3, q1) is None


def test_a_not_applicable_figure_is_not_summed(tree, db):
    pupils = figure("pupils")
    total = indicator("pupils_total", "pupils")
    q1 = period(2023, 1)
    report(tree.s1, q1, pupils=300)
    report(tree.s2, q1, pupils=200)
    s3 = report(tree.s3, q1, pupils=None)
    Value.objects.filter(submission=s3, figure=pupils).update(not_applicable=True)
    engine.full_recompute()
    assert value(total, tree.city, q1) == D("500.00")
    assert value(total, tree.d2, q1) is None
