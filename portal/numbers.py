"""The one way figures, indicator values, targets and margins are printed on pages and in messages.

Rules (issue 14, "pages that read right"):

- thousands separators always (``5,592``), the same in Chinese and English;
- a whole number never shows decimals: a head count is ``5,592``, never ``5,592.00``, and a quantity target of
  23000 人 reads ``23,000 人`` whatever the indicator's decimals are;
- a rate (unit ``%``) keeps its indicator's decimals so a column lines up: ``98.0%``, ``97.85%``;
- other fractional values show at most the decimals asked for (a figure typed with 4 decimals keeps them,
  trailing zeros dropped: ``12.5``);
- a margin (a share such as ``at_risk_margin`` = 0.05) reads as a percentage: ``5%``;
- a missing value reads as the "no value" text the caller chooses (``—`` unless told otherwise);
- a unit of measure is shown in the reader's language when it is one plans commonly use (``23,000 people`` on
  English pages, ``23,000 人`` on Chinese ones); any other unit is shown as typed (units are data).

Exports keep numbers as numbers (openpyxl cells); this module is for text shown to people.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext

NO_VALUE = "—"
NO_DATA = _("无数据")
# Figures are stored with at most 4 decimals (submissions.validation.MAX_DECIMALS); a value printed "as typed"
# shows no more than that.
PLAIN_DECIMALS = 4
PERCENT_UNITS = {"%", "％"}

Number = Decimal | int | float

# Units of measure the bureaus' plans use. Staff type units as text, so they are data; these common ones have an
# English form in the catalogue (msgctxt "unit of measure", singular and plural), anything else is shown as typed.
KNOWN_UNITS = frozenset(
    {
        "人", "人次", "万人次", "万人", "名", "所", "个", "次", "项", "间", "门", "节", "班", "场", "台", "套", "册",
        "篇", "期", "周", "天", "年", "月", "小时", "分钟", "岁", "家", "元", "万元", "亿元", "米", "公里", "平方米",
        "万平方米", "亩",
    }
)  # fmt: skip


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is missing or not a number (a template's "" lookup)."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _round(value: Decimal, decimals: int) -> Decimal:
    # Half up, as people round by hand (Decimal's default context rounds half to even: 0.125 → 0.12).
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _digits(value: Decimal, decimals: int, *, fixed: bool) -> str:
    """Grouped digits of ``value`` rounded to ``decimals``; trailing zeros dropped unless ``fixed``."""
    rounded = _round(value, decimals)
    if rounded == rounded.to_integral_value() and not fixed:
        rounded = rounded.quantize(Decimal(1))
        decimals = 0
    elif not fixed:
        rounded = rounded.normalize()
        decimals = max(0, -rounded.as_tuple().exponent)  # type: ignore[operator]  # finite: exponent is an int
    if rounded == 0:
        rounded = abs(rounded)  # never "-0"
    return f"{rounded:,.{decimals}f}"


def is_percent_unit(unit: str | None) -> bool:
    return (unit or "").strip() in PERCENT_UNITS


def unit_label(unit: str | None, value: Any = None) -> str:
    """``unit`` in the active language: the English singular for exactly 1, else the plural; unknown units as typed."""
    unit = (unit or "").strip()
    if unit not in KNOWN_UNITS:
        return unit
    count = 1 if to_decimal(value) == 1 else 2
    return npgettext("unit of measure", unit, unit, count)


def format_number(value: Any, decimals: int | None = None, unit: str | None = "", *, empty: Any = NO_VALUE) -> str:
    """A figure, an indicator value or a target as text.

    Args:
        decimals: the indicator's decimals. ``None`` prints the value as stored (up to 4 decimals, trailing
            zeros dropped). A rate (unit ``%``) always shows exactly ``decimals``; anything else shows no
            decimals when it is a whole number after rounding, else ``decimals`` places.
        unit: appended directly for ``%``, after a space otherwise.
        empty: the text for a missing value.
    """
    number = to_decimal(value)
    if number is None:
        return str(empty)
    unit = (unit or "").strip()
    if decimals is None:
        text = _digits(number, PLAIN_DECIMALS, fixed=False)
    elif is_percent_unit(unit):
        text = _digits(number, max(0, decimals), fixed=True)
    else:
        rounded = _round(number, max(0, decimals))
        text = _digits(number, max(0, decimals), fixed=rounded != rounded.to_integral_value())
    if not unit:
        return text
    return f"{text}{unit}" if is_percent_unit(unit) else f"{text} {unit_label(unit, number)}"


def format_signed(value: Any, decimals: int | None = None, unit: str | None = "", *, empty: Any = NO_VALUE) -> str:
    """A difference: ``+1.5`` above, ``-2`` below, ``0`` level."""
    number = to_decimal(value)
    text = format_number(number, decimals, unit, empty=empty)
    places = PLAIN_DECIMALS if decimals is None else max(0, decimals)
    return f"+{text}" if number is not None and _round(number, places) > 0 else text


def format_margin(value: Any, *, empty: Any = NO_VALUE) -> str:
    """A share of 1 as a percentage: 0.05 → ``5%``, 0.025 → ``2.5%``, 0.0500 → ``5%``."""
    number = to_decimal(value)
    if number is None:
        return str(empty)
    return format_number(number * 100, None, "%")
