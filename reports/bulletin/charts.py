"""The bulletin's charts: simple horizontal bar charts drawn locally with Pillow (no network, no browser).

Labels are drawn with the CJK font of ``settings.BULLETIN_FONT`` (the Simplified Chinese face of a .ttc
collection). Without a usable font the bars carry numbers only ("1", "2", …) and the document's caption says
what each number stands for (``Chart.legend``).
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

WIDTH = 1200
BAR_HEIGHT = 44
GAP = 14
MARGIN = 24
LABEL_WIDTH = 330
VALUE_WIDTH = 170
BAR_COLOUR = (46, 110, 178)
GOAL_COLOUR = (200, 60, 40)
TEXT_COLOUR = (33, 37, 41)
GRID_COLOUR = (210, 214, 220)

# The dashboard's badge colours, so a status reads the same on paper.
STATUS_COLOURS = {
    "met": (25, 135, 84),
    "on_track": (13, 110, 253),
    "at_risk": (230, 160, 0),
    "off_track": (200, 35, 51),
    "tracked": (111, 66, 193),
    "no_data": (150, 150, 150),
    "not_assessed": (108, 117, 125),
}

AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass
class Chart:
    """A PNG and, when drawn without a CJK font, the legend of its numbered labels for the caption."""

    png: bytes
    legend: list[str]


@functools.lru_cache(maxsize=8)
def _cjk_font(path: str, size: int) -> ImageFont.FreeTypeFont | None:
    """The Simplified Chinese face of the font at ``path`` (a .ttc holds several), else its first face."""
    if not path:
        return None
    try:
        first = ImageFont.truetype(path, size)
    except OSError:
        logger.warning("bulletin font %s cannot be read; charts carry numbers only", path)
        return None
    for index in range(12):
        try:
            face = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        if (face.getname()[0] or "").endswith(" SC"):
            return face
    return first


def font(size: int) -> ImageFont.FreeTypeFont | None:
    return _cjk_font(settings.BULLETIN_FONT or "", size)


def _fallback(size: int) -> AnyFont:
    return ImageFont.load_default(size)


def bar_chart(
    items: list[tuple[str, float]],
    *,
    colours: list[tuple[int, int, int]] | None = None,
    value_texts: list[str] | None = None,
    goal: float | None = None,
) -> Chart:
    """Horizontal bars, one per (label, value), longest to scale; an optional goal drawn as a red line."""
    cjk = font(24)
    label_font: AnyFont = cjk or _fallback(24)
    legend: list[str] = []
    labels = []
    for i, (label, _value) in enumerate(items):
        if cjk is None:
            labels.append(str(i + 1))
            legend.append(f"{i + 1} = {label}")
        else:
            labels.append(label)
    height = MARGIN * 2 + max(1, len(items)) * (BAR_HEIGHT + GAP)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    values = [max(0.0, v) for _label, v in items]
    top = max([*values, goal or 0.0, 1e-9])
    span = WIDTH - MARGIN * 2 - LABEL_WIDTH - VALUE_WIDTH
    x0 = MARGIN + LABEL_WIDTH
    draw.line([(x0, MARGIN // 2), (x0, height - MARGIN // 2)], fill=GRID_COLOUR, width=2)
    for i, value in enumerate(values):
        y = MARGIN + i * (BAR_HEIGHT + GAP)
        label = _fit(draw, labels[i], label_font, LABEL_WIDTH - 16)
        draw.text((x0 - 12, y + BAR_HEIGHT / 2), label, fill=TEXT_COLOUR, font=label_font, anchor="rm")
        length = int(span * value / top)
        colour = colours[i] if colours else BAR_COLOUR
        if length:
            draw.rectangle([x0, y, x0 + length, y + BAR_HEIGHT], fill=colour)
        text = value_texts[i] if value_texts else _plain(items[i][1])
        draw.text((x0 + length + 10, y + BAR_HEIGHT / 2), text, fill=TEXT_COLOUR, font=label_font, anchor="lm")
    if goal is not None and goal > 0:
        gx = x0 + int(span * goal / top)
        draw.line([(gx, MARGIN // 2), (gx, height - MARGIN // 2)], fill=GOAL_COLOUR, width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return Chart(buffer.getvalue(), legend)


def _plain(value: float) -> str:
    return f"{value:g}"


def _fit(draw: ImageDraw.ImageDraw, text: str, font: AnyFont, width: int) -> str:
    """``text`` shortened with "…" until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def status_chart(counts: list[tuple[str, str, int]]) -> Chart:
    """The summary's bars: how many targets in each status."""
    return bar_chart(
        [(label, float(n)) for _status, label, n in counts],
        colours=[STATUS_COLOURS.get(status, BAR_COLOUR) for status, _label, _n in counts],
        value_texts=[str(n) for _status, _label, n in counts],
    )


def league_chart(rows: list[tuple[str, Decimal, str]], goal: Decimal | None) -> Chart:
    """A league table's bars (name, value, value as printed), the target value as a line."""
    return bar_chart(
        [(name, float(value)) for name, value, _text in rows],
        value_texts=[text for _name, _value, text in rows],
        goal=float(goal) if goal is not None else None,
    )
