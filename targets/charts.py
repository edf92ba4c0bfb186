"""Small charts rendered on the server as inline SVG: no JavaScript, they print, they work offline.

Colour never carries meaning alone: the actual line is solid with dots, the expected path dashed,
the target a thin line, and every chart has a <title> text alternative listing the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.numbers import NO_DATA, format_number
from targets.queries import QuarterPoint


def _scale(values: list[Decimal], height: float, pad: float) -> tuple[Decimal, Decimal, float]:
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    return low, high, (height - 2 * pad) / float(high - low)


def _y(value: Decimal, low: Decimal, ratio: float, height: float, pad: float) -> float:
    return round(height - pad - float(value - low) * ratio, 1)


def _polyline(coords: list[tuple[float, float]], css: str, dashed: bool = False) -> str:
    if len(coords) < 2:
        return ""
    points = " ".join(f"{x},{y}" for x, y in coords)
    dash = ' stroke-dasharray="3 2"' if dashed else ""
    return f'<polyline class="{css}" points="{points}" fill="none"{dash}/>'


def _summary(points: Sequence[QuarterPoint], goal: Decimal | None, decimals: int, unit: str) -> str:
    parts = []
    for point in points:
        text = f"{point.label} {format_number(point.actual, decimals, unit, empty=NO_DATA)}"
        if point.expected is not None:
            text += _("（预期 {value}）").format(value=format_number(point.expected, decimals, unit))
        parts.append(text)
    if goal is not None:
        parts.append(f"{_('目标')} {format_number(goal, decimals, unit)}")
    return pgettext("list separator", "；").join(parts)


def trend_svg(
    points: Sequence[QuarterPoint],
    goal: Decimal | None,
    *,
    decimals: int = 1,
    unit: str = "",
    width: int = 132,
    height: int = 36,
    axis: bool = False,
) -> SafeString:
    """A quarterly trend: actual (solid, dots), expected path (dashed), target (thin line).

    ``axis=True`` draws the larger history chart of the target page, with quarter labels and the
    min/max of the value axis.
    """
    values = [v for p in points for v in (p.actual, p.expected) if v is not None]
    if goal is not None:
        values.append(goal)
    summary = _summary(points, goal, decimals, unit)
    if not values or not points:
        return format_html('<span class="trend-empty">{}</span>', _("无数据"))
    left = 44 if axis else 4
    bottom = 18 if axis else 0
    pad = 4.0
    plot_h = height - bottom
    low, high, ratio = _scale(values, plot_h, pad)
    step = (width - left - 6) / max(1, len(points) - 1)
    xs = [round(left + i * step, 1) for i in range(len(points))]
    pairs = list(zip(xs, points, strict=True))
    actual = [(x, _y(p.actual, low, ratio, plot_h, pad)) for x, p in pairs if p.actual is not None]
    expected = [(x, _y(p.expected, low, ratio, plot_h, pad)) for x, p in pairs if p.expected is not None]
    parts = [
        f'<svg class="trend{" trend-large" if axis else ""}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary)}</title>",
    ]
    if goal is not None:
        gy = _y(goal, low, ratio, plot_h, pad)
        parts.append(f'<line class="trend-goal" x1="{left}" x2="{width - 2}" y1="{gy}" y2="{gy}" stroke-width="1"/>')
    parts.append(_polyline(expected, "trend-expected", dashed=True))
    parts.append(_polyline(actual, "trend-actual"))
    parts.extend(f'<circle class="trend-dot" cx="{x}" cy="{y}" r="{2.5 if axis else 2}"/>' for x, y in actual)
    if axis:
        label = '<text class="trend-axis" x="{}" y="{}" text-anchor="{}">{}</text>'
        parts.append(label.format(left - 4, pad + 4, "end", format_number(high, decimals)))
        parts.append(label.format(left - 4, plot_h - pad, "end", format_number(low, decimals)))
        for x, point in pairs:
            parts.append(label.format(x, height - 4, "middle", escape(point.label)))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703  every interpolated text is escaped above


def progress_bar_svg(percent: int | None, width: int = 100, height: int = 10) -> SafeString:
    """A horizontal bar filled to ``percent``; the number is printed next to it by the template."""
    if percent is None:
        return SafeString("")
    filled = round(width * max(0, min(100, percent)) / 100, 1)
    svg = (
        f'<svg class="bar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-hidden="true" '
        f'xmlns="http://www.w3.org/2000/svg"><rect class="bar-track" width="{width}" height="{height}" rx="2"/>'
        f'<rect class="bar-fill" width="{filled}" height="{height}" rx="2"/></svg>'
    )
    return mark_safe(svg)  # noqa: S308  # nosec B308 B703  numbers only
