"""Template filters that say a target's numbers through ``targets.display`` (the plan page's status cells)."""

from __future__ import annotations

from typing import Any

from django import template

from portal import numbers
from targets import display
from targets.models import Target

register = template.Library()


@register.filter
def actual_of(value: Any, target: Target) -> str:
    """A stored actual of ``target``: a share target's as "67% 的学校达到 每学期≥3次", else in the indicator's unit."""
    if display.is_share(target):
        return display.actual_text(target, value, 0, "%")
    indicator = target.indicator if target.indicator_id else None
    if indicator is None:
        return numbers.format_number(value, 2)
    return numbers.format_number(value, indicator.decimals, indicator.unit)


@register.filter
def number_format(target: Target) -> Any:
    """The object the ``measure`` filter takes for ``target``'s numbers (whole percent for a share target)."""
    return display.number_format(target)


@register.filter
def is_share(target: Target) -> bool:
    """Is the target's actual a share of units meeting a per-unit rule?"""
    return display.is_share(target)
