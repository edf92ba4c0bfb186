"""Numbers as Chinese plans write them: 22万, 4.2万人次, 三次, 两个, 百分之九十五, 99%以上, 2-3个, 600-1200米.

Everything here works on normalised text (see :mod:`plans.docparse.textnorm`): ASCII digits and punctuation,
simplified characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"

# Measure words, longest first. Qualifiers (years, ages, grades, ordinals) are matched so they are consumed, then
# dropped as "not a target value".
MEASURE_UNITS = (
    "个百分点",
    "平方公里",
    "平方米",
    "立方米",
    "人次",
    "场次",
    "批次",
    "班次",
    "小时",
    "分钟",
    "学时",
    "课时",
    "万元",
    "亿元",
    "公里",
    "千米",
    "米",
    "元",
    "亩",
    "人",
    "名",
    "所",
    "个",
    "项",
    "次",
    "班",
    "间",
    "台",
    "套",
    "册",
    "本",
    "场",
    "节",
    "门",
    "家",
    "座",
    "处",
    "篇",
    "件",
    "户",
    "张",
    "支",
    "队",
    "校",
    "园",
    "天",
)
QUALIFIER_UNITS = (
    "周岁",
    "岁",
    "年级",
    "年",
    "个月",
    "月",
    "日",
    "号",
    "星级",
    "级",
    "期",
    "届",
    "轮",
    "周",
    "倍",
    "学期",
)

INSTITUTION_UNITS = frozenset({"所", "校", "园", "家"})
MEASURE_LEVEL_UNITS = frozenset({"小时", "分钟", "学时", "课时", "米", "公里", "千米", "天"})
PERCENT_UNITS = frozenset({"%", "个百分点"})

_NUM = rf"(?:\d+(?:\.\d+)?|[{CN_NUMERAL_CHARS}]+(?:点[零〇一二三四五六七八九]+)?|半)"
_UNIT_ALTERNATION = "|".join(re.escape(unit) for unit in sorted(MEASURE_UNITS + QUALIFIER_UNITS, key=len, reverse=True))

VALUE_RE = re.compile(
    rf"(?P<pct>百分之(?P<pctnum>{_NUM}))"
    rf"|(?P<num>{_NUM})(?:\s*(?P<sep>[-~至到])\s*(?P<num2>{_NUM}))?\s*(?P<scale>万|亿)?\s*"
    rf"(?P<unit>%|{_UNIT_ALTERNATION})?\s*(?P<post>及以上|以上|以下|以内|之内|左右|多)?"
)


def cn_to_decimal(text: str) -> Decimal | None:
    """Chinese numerals ("二十五", "一百二十", "三千五百", "两", "半", "三点五") as a Decimal, or None."""
    if not text:
        return None
    if text == "半":
        return Decimal("0.5")
    if "点" in text:
        whole, _, fraction = text.partition("点")
        whole_value = cn_to_decimal(whole) if whole else Decimal(0)
        if whole_value is None or not all(char in _CN_DIGITS for char in fraction):
            return None
        digits = "".join(str(_CN_DIGITS[char]) for char in fraction)
        return whole_value + Decimal("0." + digits)
    if all(char in _CN_DIGITS for char in text) and len(text) > 1:
        # Digit-by-digit spelling: 二〇二三.
        return Decimal("".join(str(_CN_DIGITS[char]) for char in text))
    total = 0
    section = 0
    digit = 0
    seen = False
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
            seen = True
        elif char in _CN_SMALL_UNITS:
            section += (digit or 1) * _CN_SMALL_UNITS[char]
            digit = 0
            seen = True
        elif char in _CN_BIG_UNITS:
            total += (section + digit) * _CN_BIG_UNITS[char]
            section = 0
            digit = 0
        else:
            return None
    if not seen and total == 0:
        return None
    return Decimal(total + section + digit)


def to_decimal(text: str) -> Decimal | None:
    """An Arabic or Chinese number as a Decimal, or None."""
    if not text:
        return None
    if text[0].isdigit():
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return cn_to_decimal(text)


def is_chinese_numeral(text: str) -> bool:
    """True when the number was written in Chinese characters (三次), not digits (3次)."""
    return bool(text) and not text[0].isdigit()


@dataclass
class Value:
    """One number found in a clause, with its unit and the words right after it."""

    start: int
    end: int
    value: Decimal
    value_max: Decimal | None
    unit: str | None
    post: str | None
    chinese: bool
    raw: str

    @property
    def is_percent(self) -> bool:
        """Written as a percentage (99%, 百分之九十五, 2个百分点)."""
        return self.unit in PERCENT_UNITS

    @property
    def is_scaled(self) -> bool:
        """Written with 万/亿 (14.1万): a quantity even when its unit is left to the context."""
        return "万" in self.raw or "亿" in self.raw

    @property
    def is_qualifier(self) -> bool:
        """A year, an age, a grade or a duration in months: describes, never a target value."""
        return self.unit in QUALIFIER_UNITS


def find_values(text: str) -> list[Value]:
    """Every number in ``text`` (normalised), in order, with unit, range and scale applied."""
    values: list[Value] = []
    for match in VALUE_RE.finditer(text):
        if match.group("pct"):
            number = to_decimal(match.group("pctnum"))
            if number is None:
                continue
            post_match = re.match(r"\s*(及以上|以上|以下|以内|之内|左右)", text[match.end() :])
            end = match.end() + (post_match.end() if post_match else 0)
            values.append(
                Value(
                    match.start(),
                    end,
                    number,
                    None,
                    "%",
                    post_match.group(1) if post_match else None,
                    True,
                    text[match.start() : end],
                )
            )
            continue
        raw = match.group("num")
        number = to_decimal(raw)
        if number is None:
            continue
        number_max = to_decimal(match.group("num2")) if match.group("num2") else None
        if match.group("num2") and number_max is None:
            continue
        scale = match.group("scale")
        if scale:
            factor = _CN_BIG_UNITS[scale]
            number *= factor
            if number_max is not None:
                number_max *= factor
        # A Chinese numeral swallowed a trailing 万 of its own (三万): already scaled by cn_to_decimal.
        values.append(
            Value(
                match.start(),
                match.end(),
                number,
                number_max,
                match.group("unit"),
                match.group("post"),
                is_chinese_numeral(raw),
                match.group(0),
            )
        )
    return values
