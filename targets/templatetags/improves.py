"""Template tag of the plan page: an ``improves`` target's change against its baseline, or why it has none."""

from __future__ import annotations

from django import template

from targets.models import Comparator, Progress, Target
from targets.queries import REASON_TEXTS, improvement_text

register = template.Library()


@register.simple_tag
def improvement(progress: Progress | None, target: Target) -> str:
    """ "+1.2 个百分点 较上年同期" for a progress row of an ``improves`` target; the reason when it has no baseline
    value yet; "" otherwise (autoescaped by the template)."""
    if progress is None or target.comparator != Comparator.IMPROVES:
        return ""
    indicator = target.indicator if target.indicator_id else None
    decimals = indicator.decimals if indicator is not None else 1
    text = improvement_text(target, progress.actual, progress.expected, decimals, indicator.unit if indicator else "")
    return text or str(REASON_TEXTS.get(progress.typed_detail.reason or "", ""))
