"""Reading a bureau's plan document (工作要点, 工作计划, 工作意见) into a draft plan.

Pure Python, standard library only, no Django: any layer (web view, API, workbook import, Celery task) can call
:func:`parse_text` and get a :class:`PlanDraft` — title, year, guiding ideas, sections at every heading level,
work items verbatim, and proposed targets with kind, comparator, values, unit, rhythm, due month, suggested
indicator and confidence. ``.docx`` text extraction lives in :mod:`plans.docparse.docx_text`.
"""

from __future__ import annotations

from .model import DraftPoint, DraftSection, DraftTarget, DraftWorkItem, NoiseSnippet, PlanDraft
from .parser import parse_text

__all__ = [
    "DraftPoint",
    "DraftSection",
    "DraftTarget",
    "DraftWorkItem",
    "NoiseSnippet",
    "PlanDraft",
    "parse_text",
]
