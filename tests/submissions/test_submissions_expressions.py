"""The validation rules' expression language: arithmetic over figure codes, nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from submissions.expressions import Expression, ExpressionError
from submissions.validation import check_rule_definition


def test_it_computes_with_decimals_and_reports_the_codes_it_reads():
    expression = Expression("(pri_graduates + transfers_in - transfers_out) * 0.5 / 2")
    assert expression.names == {"pri_graduates", "transfers_in", "transfers_out"}
    # (100 + 10 - 6) × 0.5 / 2 = 26
    values = {"pri_graduates": Decimal(100), "transfers_in": Decimal(10), "transfers_out": Decimal(6)}
    assert expression.evaluate(values) == Decimal(26)
    assert Expression("-a + 3").evaluate({"a": Decimal(1)}) == Decimal(2)


def test_a_missing_value_or_a_zero_denominator_gives_none_not_zero():
    assert Expression("a / b").evaluate({"a": Decimal(1), "b": Decimal(0)}) is None
    assert Expression("a + b").evaluate({"a": Decimal(1)}) is None
    assert Expression("a + b").evaluate({"a": Decimal(1), "b": None}) is None


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "a.b",
        "a[-1]",  # period offsets mean nothing inside one submission
        "a if b else c",
        "a ** 2",
        "a < b",
        "'text'",
        "",
        "a +",
        "lambda: 1",
    ],
)
def test_anything_but_arithmetic_is_refused_at_parse_time(text):
    with pytest.raises(ExpressionError):
        Expression(text)


def test_a_rule_definition_names_unknown_codes_and_syntax_errors(db):
    errors = check_rule_definition("pri_new_entrants_migrant", "pri_new_entrant +", ["pri_new_entrants_migrant"])
    assert list(errors) == ["right"]
    # the shared parser names where the text breaks off ("pri_new_entrant +" ends at character 18)
    assert errors["right"][0].startswith("第 18 个字符处")
    errors = check_rule_definition("foo", "1", ["bar"])
    assert errors == {"left": ["未知的填报项代码：foo"]}
