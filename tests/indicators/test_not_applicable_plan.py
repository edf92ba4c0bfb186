"""The engine writes a 不适用 test only for figures that have a 不适用 answer stored (issue 13 benchmark (d)).

Planning one EXISTS subplan per ratio side tripled the planning time of an incremental recompute; a figure
without any 不适用 answer cannot void a side, so its test is left out, and the first 不适用 answer brings it back.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from indicators import engine
from submissions.models import Value
from tests.indicators.engine_data import figure, indicator, period, report, value

NA_TEST = "nv.not_applicable"


def recompute_sql() -> str:
    with CaptureQueriesContext(connection) as captured:
        engine.full_recompute()
    return "\n".join(q["sql"] for q in captured.captured_queries)


def test_the_not_applicable_test_is_written_only_once_a_figure_has_such_an_answer(tree, db):
    figure("grads")
    cohort = figure("cohort")
    rate = indicator("grad_rate", "grads", "cohort", factor=100)
    q1 = period(2023, 1)
    report(tree.s1, q1, grads=90, cohort=100)
    s2 = report(tree.s2, q1, grads=10, cohort=None)
    assert NA_TEST not in recompute_sql()
    assert value(rate, tree.city, q1) == Decimal("100.00")  # S2's 10 graduates over S1's cohort: missing ≠ 不适用
    Value.objects.filter(submission=s2, figure=cohort).update(not_applicable=True)
    assert NA_TEST in recompute_sql()
    assert value(rate, tree.city, q1) == Decimal("90.00")  # S2 left out of both sides
    # and the incremental path after an approval reads the same rule
    Value.objects.filter(submission=s2, figure=cohort).update(not_applicable=False, value=10)
    engine.recompute_for(tree.s2.pk, q1.pk)
    assert value(rate, tree.city, q1) == Decimal("90.91")
