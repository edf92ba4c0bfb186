"""Fuzzing the formula language (portal/expressions.py, issue 7).

Inputs: arbitrary unicode, text built from the language's own tokens (so most examples get past the
tokenizer), huge and tiny numbers, NaN/Infinity spelled out, negatives, deep nesting of parentheses,
``not`` and unary minus. Properties:

- ``parse`` returns a tree or raises ``ExpressionError`` with a message — nothing else, in particular
  no RecursionError however deep the input;
- a parsed tree evaluates (Python) to a Decimal or None for any values, never an exception;
- the canonical text of a tree parses back to the same tree;
- the SQL compiled from a tree runs on the database and gives a number or NULL (no syntax error,
  no overflow error) — NULL exactly when the Python evaluation says "no data" because every
  figure is missing.
"""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, note
from hypothesis import strategies as st

from portal.expressions import (
    MAX_DEPTH,
    ExpressionError,
    Node,
    compile_condition_sql,
    compile_sql,
    evaluate,
    evaluate_condition,
    parse,
    references,
    to_text,
)

CODES = ["pri_enrolled", "pri_new_entrants", "kg_enrolled", "x"]
TOKENS = [
    *CODES, "unknown_code", "0", "1", "2.5", "1000000", "9" * 30, "0.0001", "NaN", "Infinity", "inf", "1e5", "-", "+",
    "*", "/", "(", ")", "[", "]", "[-1]", "[-4]", "[-13]", "[-99999999999]", ">", ">=", "<", "<=", "==", "=", "!=",
    "<>", "and", "or", "not", "AND", " ", "\t", "\u3000", "（", "）", "＋", "٣", "²", "\x00", "😀", ".", "..", "_",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join)
raw_text = st.text(max_size=200)


def nested(depth: int, inner: str = "x", opener: str = "(", closer: str = ")") -> str:
    return opener * depth + inner + closer * depth


deep_inputs = st.one_of(
    st.integers(0, 3000).map(nested),
    st.integers(0, 3000).map(lambda n: nested(n, "x > 1")),
    st.integers(0, 3000).map(lambda n: "not " * n + "x > 1"),
    st.integers(0, 3000).map(lambda n: "-" * n + "x"),
    st.integers(0, 3000).map(lambda n: "(" * n),
    st.integers(0, 600).map(lambda n: " + ".join(["x"] * n)),
    st.integers(0, 600).map(lambda n: " and ".join(["x > 1"] * n)),
)
huge_numbers = st.one_of(
    st.integers(min_value=0, max_value=10**400).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=0).map(lambda d: format(d, "f")),
    st.sampled_from(["1e999999999", "NaN", "Infinity", "-Infinity", "0" * 999, "9" * 999, "0." + "0" * 990 + "1"]),
).map(lambda number: f"x * {number} / ({number} - x)")

any_text = st.one_of(raw_text, token_soup, deep_inputs, huge_numbers)

values_strategy = st.dictionaries(
    st.tuples(st.sampled_from(CODES), st.integers(0, 12)),
    st.none()
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15, places=4)
    | st.sampled_from([Decimal(0), Decimal("-0"), Decimal("1e15"), Decimal("-1e15"), Decimal("0.0001")]),
    max_size=20,
)


def parse_or_none(text: str, known: list[str] | None, condition: bool) -> Node | None:
    try:
        return parse(text, known, condition=condition)
    except ExpressionError as exc:
        message = str(exc).strip()
    assert message, "an ExpressionError needs a message"
    return None


@given(text=any_text, condition=st.booleans(), check_codes=st.booleans(), values=values_strategy)
def test_any_text_parses_or_fails_cleanly_and_evaluates_without_exceptions(
    text: str, condition: bool, check_codes: bool, values: dict[tuple[str, int], Decimal | None]
) -> None:
    # Run near the real stack limit of a request thread, not in a freshly started interpreter.
    node = parse_or_none(text, CODES if check_codes else None, condition)
    if node is None:
        return
    note(f"tree: {to_text(node)}")
    if condition:
        assert evaluate_condition(node, values) in (True, False, None)
    else:
        result = evaluate(node, values)
        assert result is None or isinstance(result, Decimal)
        if references(node) and all(values.get(ref) is None for ref in references(node)):
            assert result is None, "every figure missing must mean no data"
    again = parse_or_none(to_text(node), None, condition)
    if again is not None:  # the canonical text adds parentheses and may exceed MAX_DEPTH on long chains
        assert again == node


def test_nesting_just_past_the_limit_is_a_clean_error_with_a_position() -> None:
    parse(nested(MAX_DEPTH - 1))
    with pytest.raises(ExpressionError) as caught:
        parse(nested(MAX_DEPTH + 1))
    assert caught.value.position is not None
    with pytest.raises(ExpressionError):
        parse(nested(sys.getrecursionlimit() * 2))


@pytest.mark.django_db
@given(text=st.one_of(token_soup, huge_numbers, deep_inputs), values=values_strategy, condition=st.booleans())
def test_compiled_sql_runs_and_agrees_with_python_on_missing_data(
    text: str, values: dict[tuple[str, int], Decimal | None], condition: bool
) -> None:
    node = parse_or_none(text, CODES, condition)
    if node is None:
        return

    def column(code: str, offset: int) -> str:
        value = values.get((code, offset))
        # Literals cast like the engine's numeric columns, so PostgreSQL sees numerics, not text.
        return "NULL" if value is None else f"CAST({format(value, 'f')} AS NUMERIC)"

    sql = compile_condition_sql(node, column) if condition else compile_sql(node, column)
    note(sql[:2000])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")  # noqa: S608  (the tree holds only Decimals and validated names)
        (result,) = cursor.fetchone()
    if not condition and evaluate(node, values) is None and all(values.get(r) is None for r in references(node)):
        assert result is None


@pytest.mark.django_db
# Found by the fuzzer above (SQLite: parser stack overflow); fixed in targets (chains compile flat). Regression test.
@pytest.mark.parametrize("operator", ["+", "*", "and"])
def test_long_operator_chains_compile_to_sql_the_database_accepts(operator: str) -> None:
    term = "x>1" if operator == "and" else "x"
    text = f" {operator} ".join([term] * 120)
    assert len(text) <= 1000
    try:
        node = parse(text, CODES, condition=operator == "and")
    except ExpressionError:
        return  # refusing the chain with a clean message is a correct fix too
    sql = compile_condition_sql(node, lambda c, o: "1") if operator == "and" else compile_sql(node, lambda c, o: "1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")  # noqa: S608
        assert cursor.fetchone()[0] is not None
