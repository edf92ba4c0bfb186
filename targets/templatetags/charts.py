"""Template tags of the target, dashboard and unit pages: server-side SVG trend charts and progress bars."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from targets import charts
from targets.queries import TargetRow

register = template.Library()


@register.simple_tag
def trend_chart(row: TargetRow, large: bool = False) -> SafeString:
    """The target's quarterly trend (actual, expected path, target) as inline SVG."""
    if large:
        return charts.trend_svg(
            row.trend, row.chart_goal, decimals=row.decimals, unit=row.unit_label, width=520, height=200,
            axis=True,
        )  # fmt: skip
    return charts.trend_svg(row.trend, row.chart_goal, decimals=row.decimals, unit=row.unit_label)


@register.simple_tag
def progress_bar(percent: int | None) -> SafeString:
    return charts.progress_bar_svg(percent)


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def indent(depth: int) -> str:
    """Ideographic spaces to show the tree depth inside a <select>."""
    return "\u3000" * int(depth or 0)
