"""Numbers on pages, through the one formatter (``portal.numbers``).

``{{ value|number }}`` a figure as stored; ``{{ value|number:2 }}`` with the indicator's decimals;
``{{ value|measure:indicator }}`` with the indicator's decimals and unit; ``{{ value|margin }}`` a share as
a percentage; ``{{ indicator.unit|unit_label }}`` a bare unit of measure in the reader's language;
``{{ value|signed }}`` a difference with its sign; ``{% num value decimals unit %}`` when decimals
and unit come from elsewhere.
A missing value (None, or "" from a failed lookup) prints "—".
"""

from __future__ import annotations

from typing import Any

from django import template

from portal import numbers

register = template.Library()


@register.filter
def number(value: Any, decimals: Any = None) -> str:
    places = None if decimals in (None, "") else int(decimals)
    return numbers.format_number(value, places)


@register.filter
def signed(value: Any, decimals: Any = None) -> str:
    """A difference with its sign (``+3``, ``-2.5``, ``0``); "—" when there is none."""
    places = None if decimals in (None, "") else int(decimals)
    return numbers.format_signed(value, places)


@register.filter
def measure(value: Any, indicator: Any) -> str:
    """``value`` in ``indicator``'s decimals and unit (any object with ``decimals`` and ``unit``); without
    one (a milestone, a count typed by hand) at most 2 decimals."""
    if not indicator:
        return numbers.format_number(value, 2)
    return numbers.format_number(value, indicator.decimals, indicator.unit)


@register.filter
def unit_label(unit: Any) -> str:
    """A unit of measure on its own (a column or a definition), in the reader's language when it is a common one."""
    return numbers.unit_label(str(unit or ""))


@register.filter
def margin(value: Any) -> str:
    return numbers.format_margin(value)


@register.simple_tag
def num(value: Any, decimals: Any = None, unit: str = "", empty: Any = numbers.NO_DATA) -> str:
    """Like ``measure`` for callers that hold decimals and unit apart; a missing value reads "无数据"."""
    places = None if decimals in (None, "") else int(decimals)
    return numbers.format_number(value, places, unit, empty=empty)
