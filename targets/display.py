"""How a target's numbers are said: the one formatting of "current value" and "target" for every page.

The dashboard and the target page (``targets.queries.TargetRow``), the target page's drill-down
(``targets.tables.DrilldownTable``) and the progress workbook (``reports.xlsx``, through ``TargetRow``) all call
:func:`actual_text`, :func:`target_text` and :func:`completion_percent`, so they cannot disagree.

A per-unit rule whose actual is the share of units meeting it (frequencies; counts "each district creates 2–3")
is said as a share and a rule: "70% 的学校达到 每学期≥3次" beside "每所学校 每学期≥3次" — never "70 次 ≥ 3 次".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from portal.numbers import NO_DATA, format_number
from targets.models import Comparator, EachUnitLevel, Rhythm, Target, TargetKind

HUNDRED = Decimal(100)


def is_share(target: Target) -> bool:
    """Is the target's actual the % of units meeting its per-unit rule (not a value of the indicator)?"""
    return target.kind == TargetKind.FREQUENCY or (
        target.kind == TargetKind.COUNT_UNITS and target.applies_to_each_unit
    )


def _level(target: Target) -> str:
    return target.each_unit_level or EachUnitLevel.SCHOOL


def units_noun(target: Target) -> str:
    """The units a per-unit rule checks, as "70% 的…" names them."""
    nouns: dict[str, str] = {EachUnitLevel.DISTRICT: _("区县"), EachUnitLevel.TOWNSHIP: _("乡镇/学区")}
    return nouns.get(_level(target), _("学校"))


def each_unit(target: Target) -> str:
    """ "每所学校", "每个乡镇/学区", "每个区县"."""
    phrases: dict[str, str] = {EachUnitLevel.DISTRICT: _("每个区县"), EachUnitLevel.TOWNSHIP: _("每个乡镇/学区")}
    return phrases.get(_level(target), _("每所学校"))


def unit_word(target: Target) -> str:
    """The unit of one unit's count: the indicator's ("次"), else 所 for designations and 次 for frequencies."""
    indicator = target.indicator if target.indicator_id else None
    if indicator is not None and indicator.unit:
        return str(indicator.unit)
    return _("所") if target.kind == TargetKind.COUNT_UNITS else _("次")


def per_unit_rule(target: Target) -> str:
    """What each unit must reach, short: "每学期≥3次", "每月≥1次", "2–3所"; "" when the plan gives no number."""
    if target.kind == TargetKind.FREQUENCY:
        low = target.per_unit_minimum if target.per_unit_minimum is not None else target.target_value
        high = target.target_value_max
        prefix = str(dict(Rhythm.choices).get(target.rhythm or Rhythm.SEMESTER, ""))
    else:
        low, high = target.target_value, target.target_value_max if target.comparator == Comparator.RANGE else None
        prefix = ""
    if low is None:
        return ""
    word = unit_word(target)
    if high is not None and high != low:
        bound = f"{format_number(low, 0)}–{format_number(high, 0)}"
        if target.range_is_ceiling:
            return _("%(prefix)s%(bound)s%(unit)s（不超过上限）") % {"prefix": prefix, "bound": bound, "unit": word}
        return f"{prefix}{bound}{word}"
    return f"{prefix}≥{format_number(low, None)}{word}"


def target_text(target: Target, decimals: int, unit_label: str) -> str:
    """The "目标值" cell: the per-unit rule as a rule, else the comparator and the number ("—" without one)."""
    if is_share(target):
        rule = per_unit_rule(target)
        return f"{each_unit(target)} {rule}" if rule else "—"
    if target.target_value is None:
        return "—"
    text = format_number(target.target_value, decimals, unit_label)
    if target.comparator == Comparator.RANGE and target.target_value_max is not None:
        text = f"{text} – {format_number(target.target_value_max, decimals, unit_label)}"
    else:
        symbol = {"gte": "≥", "lte": "≤", "eq": "="}.get(target.comparator, "")
        text = f"{symbol} {text}".strip()
    if target.applies_to_each_unit:
        return f"{each_unit(target)} {text}"
    return text


def actual_text(
    target: Target,
    actual: Any,
    decimals: int,
    unit_label: str,
    *,
    as_share: bool | None = None,
    empty: Any = NO_DATA,
) -> str:
    """The "当前值" cell: a share as a share ("70% 的学校达到 每学期≥3次"), else the number in the indicator's unit.

    ``as_share`` False: a per-unit target's raw value of one unit (a school's own count), said as a number."""
    if is_share(target) if as_share is None else as_share:
        if actual is None:
            return str(empty)
        share = format_number(actual, 0, "%")
        return _("%(share)s 的%(units)s达到 %(rule)s") % {
            "share": share,
            "units": units_noun(target),
            "rule": per_unit_rule(target),
        }
    return format_number(actual, decimals, unit_label, empty=empty)


@dataclass(frozen=True)
class NumberFormat:
    """Decimals and unit, as the ``measure`` filter reads them from an indicator."""

    decimals: int
    unit: str


SHARE_FORMAT = NumberFormat(0, "%")


def number_format(target: Target) -> Any:
    """How the target's stored numbers (actual, expected, last year's) are written: a share target's in whole
    percent, else in its indicator's decimals and unit (None without an indicator)."""
    if is_share(target):
        return SHARE_FORMAT
    return target.indicator if target.indicator_id else None


def completion_percent(target: Target, actual: Decimal | None) -> int | None:
    """How far the progress bar is drawn for a share target: the share itself (None: not a share target)."""
    if not is_share(target) or actual is None:
        return None
    return max(0, min(100, int(actual)))
