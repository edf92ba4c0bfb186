"""The safe expression parser: what it accepts, how it evaluates, and how it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal import expressions
from portal.expressions import ExpressionError, evaluate, evaluate_condition, parse, references, to_text

D = Decimal
CODES = {"pri_graduates", "pri_cohort_entrants", "pri_transfers_in", "pri_transfers_out", "pri_enrolled", "kg"}


def test_it_parses_precedence_parentheses_and_offsets():
    node = parse("pri_graduates / (pri_cohort_entrants + pri_transfers_in - pri_transfers_out) * 100", CODES)
    assert to_text(node) == ("((pri_graduates / ((pri_cohort_entrants + pri_transfers_in) - pri_transfers_out)) * 100)")
    assert to_text(parse("kg - kg[-4]", CODES)) == "(kg - kg[-4])"
    assert references(parse("kg + kg[-4] * kg", CODES)) == [("kg", 0), ("kg", 4)]


def test_it_evaluates_with_decimals_and_treats_a_missing_figure_as_zero_when_others_are_present():
    node = parse("pri_graduates / (pri_cohort_entrants + pri_transfers_in - pri_transfers_out) * 100", CODES)
    values = {("pri_graduates", 0): D(95), ("pri_cohort_entrants", 0): D(100), ("pri_transfers_out", 0): D(5)}
    # 95 / (100 + 0 − 5) × 100 = 100
    assert evaluate(node, values) == D(100)
    assert evaluate(node, {}) is None  # nothing reported at all: no data, not 0


def test_division_by_zero_is_none_not_an_error():
    assert evaluate(parse("kg / (pri_enrolled - pri_enrolled)", CODES), {("kg", 0): D(3)}) is None
    assert evaluate(parse("1 / 0"), {}) is None


def test_conditions_use_three_valued_logic():
    big = parse("pri_enrolled > 2000 and kg >= 1", CODES, condition=True)
    assert evaluate_condition(big, {("pri_enrolled", 0): D(2001), ("kg", 0): D(1)}) is True
    assert evaluate_condition(big, {("pri_enrolled", 0): D(1999)}) is False  # false and unknown → false
    assert evaluate_condition(big, {("pri_enrolled", 0): D(2001)}) is None  # true and unknown → unknown
    either = parse("pri_enrolled > 2000 or not kg = 0", CODES, condition=True)
    assert evaluate_condition(either, {("kg", 0): D(2)}) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pri_graduates + pri_enroled", "第 17 个字符处：未知的填报项代码 pri_enroled"),
        ("pri_graduates +", "第 16 个字符处：表达式不完整"),
        ("(kg", "第 4 个字符处：此处应为“)”"),
        ("kg ^ 2", "第 4 个字符处：无法识别的字符“^”"),
        ("kg kg", "第 4 个字符处：此处不应出现“kg”"),
        ("kg[-x]", "第 5 个字符处：期间偏移应写成 代码[-k]，k 为整数"),
        ("kg[-40]", "第 5 个字符处：期间偏移最多 12 个季度"),
        ("__import__('os')", "第 12 个字符处：无法识别的字符“'”"),
        ("kg > 1", "此处应为数值表达式，不能是条件"),
        ("", "表达式不能为空"),
    ],
)
def test_bad_input_is_refused_with_the_position(text, message):
    with pytest.raises(ExpressionError) as error:
        parse(text, CODES)
    assert str(error.value) == message


def test_a_condition_must_compare():
    with pytest.raises(ExpressionError, match="条件应包含比较"):
        parse("pri_enrolled", CODES, condition=True)
    with pytest.raises(ExpressionError, match="比较或逻辑结果不能参与算术运算"):
        parse("(kg > 1) + 1", CODES, condition=True)


def test_deep_nesting_and_long_input_fail_cleanly_not_with_recursion_error():
    with pytest.raises(ExpressionError, match="嵌套过深"):
        parse("(" * 100 + "kg" + ")" * 100, CODES)
    with pytest.raises(ExpressionError, match="嵌套过深"):
        parse("-" * 500 + "kg", CODES)
    with pytest.raises(ExpressionError, match="过长"):
        parse("kg + " * 300 + "kg", CODES)
    # a long flat sum within the limit is fine: 199 × kg + kg
    assert evaluate(parse("kg + " * 199 + "kg", CODES), {("kg", 0): D(1)}) == D(200)


def test_sql_compilation_keeps_the_missing_data_rule_and_never_divides_integers():
    sql = expressions.compile_sql(parse("kg / pri_enrolled", CODES), lambda code, offset: f"c_{code}_{offset}")
    assert sql == (
        "(CASE WHEN c_kg_0 IS NULL AND c_pri_enrolled_0 IS NULL THEN NULL "
        "ELSE ((COALESCE(c_kg_0, 0)) * 1.0 / NULLIF(COALESCE(c_pri_enrolled_0, 0), 0)) END)"
    )
    assert expressions.compile_sql(parse("2000"), str) == "2000.0"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "kg + " * 199 + "kg",  # 200 terms: the SQL must not nest one parenthesis per operator
        "kg * " * 99 + "kg",
        "kg / 2 * 4 - kg + kg / 0 + 3",  # mixed precedence, left to right, ÷ 0 → NULL
        "kg - (pri_enrolled - kg) * 2 / (kg + 1) - pri_enrolled",
    ],
)
def test_long_chains_compile_to_sql_that_runs_and_agrees_with_python(text):
    from django.db import connection

    node = parse(text, CODES)
    values = {("kg", 0): D(1), ("pri_enrolled", 0): D(3)}
    sql = expressions.compile_sql(node, lambda code, offset: {"kg": "1", "pri_enrolled": "3"}[code])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")
        result = cursor.fetchone()[0]
    expected = evaluate(node, values)
    if expected is None:
        assert result is None
    else:
        assert D(str(result)).quantize(D("0.0001")) == expected.quantize(D("0.0001"))


@pytest.mark.django_db
def test_long_condition_chains_compile_to_sql_that_runs():
    from django.db import connection

    node = parse(" and ".join(["kg > 0"] * 60) + " or kg < 0", CODES, condition=True)
    sql = expressions.compile_condition_sql(node, lambda code, offset: "1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT CASE WHEN {sql} THEN 1 ELSE 0 END")
        assert cursor.fetchone()[0] == 1
