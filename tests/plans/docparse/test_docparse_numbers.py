"""Numbers as Chinese plans write them, and the one-to-one normalisation they are read on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plans.docparse.numbers import cn_to_decimal, find_values
from plans.docparse.textnorm import compact, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三", 3),
        ("两", 2),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("九十五", 95),
        ("一百二十", 120),
        ("三千五百", 3500),
        ("一万二千", 12000),
        ("二〇二三", 2023),
        ("半", Decimal("0.5")),
        ("三点五", Decimal("3.5")),
    ],
)
def test_chinese_numerals(text: str, expected: object) -> None:
    assert cn_to_decimal(text) == Decimal(str(expected))


def test_not_a_numeral() -> None:
    assert cn_to_decimal("学校") is None


@pytest.mark.parametrize(
    ("text", "value", "value_max", "unit", "post"),
    [
        ("改造校舍22万平方米", 220000, None, "平方米", None),
        ("培训4.2万人次", 42000, None, "人次", None),
        ("达到百分之九十五", 95, None, "%", None),
        ("入园率达99%以上", 99, None, "%", "以上"),
        ("每个县区2-3个", 2, 3, "个", None),
        ("服务半径600-1200米", 600, 1200, "米", None),
        ("组织三次以上", 3, None, "次", "以上"),
        ("推动20所以上小学", 20, None, "所", "以上"),
        ("控制在45人以内", 45, None, "人", "以内"),
        ("招收新生23000 人", 23000, None, "人", None),
        ("提高2个百分点", 2, None, "个百分点", None),
    ],
)
def test_values(text: str, value: int, value_max: int | None, unit: str, post: str | None) -> None:
    found = [v for v in find_values(normalize(text)) if v.unit]
    assert found, text
    first = found[0]
    assert first.value == Decimal(value)
    assert first.value_max == (Decimal(value_max) if value_max is not None else None)
    assert first.unit == unit
    assert first.post == post


def test_qualifiers_are_marked() -> None:
    ages = [v for v in find_values("3-6岁幼儿") if v.unit]
    assert ages[0].is_qualifier
    years = [v for v in find_values("2015-2017年") if v.unit]
    assert years[0].is_qualifier


def test_full_width_digits_and_punctuation_normalise_one_to_one() -> None:
    text = "入学率达９６％以上，（试行）；２－３个"
    norm = normalize(text)
    assert len(norm) == len(text)
    assert norm == "入学率达96%以上,(试行);2-3个"
    values = [v for v in find_values(norm) if v.unit]
    assert values[0].value == 96
    assert values[1].value == 2
    assert values[1].value_max == 3


def test_traditional_characters_map_to_simplified_for_matching() -> None:
    assert normalize("學前三年毛入園率達81%以上") == "学前三年毛入园率达81%以上"
    assert normalize("鞏固率") == "巩固率"
    assert compact("確保 學生 學籍") == "确保学生学籍"
