"""The draft a parsed document becomes: a plain dataclass tree, serialisable with ``to_dict()``.

The dictionary shape follows ``POST /api/v1/plan-drafts/`` (sections, work_items, targets), with a few extra keys
the review page needs: where each target sits in the cleaned text (``span``), its parent target, and the noise
that was removed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as the API writes it ("23000", "0.5"), or None."""
    if value is None:
        return None
    return format(value.normalize(), "f")


@dataclass
class DraftSection:
    """A heading of the document: 一、 (level 1) or （一） (level 2)."""

    code: str
    title: str
    order: int
    level: int
    parent: str | None = None
    intro: str = ""

    def to_dict(self) -> dict[str, object]:
        """API shape plus level, parent and intro."""
        return {
            "code": self.code,
            "title": self.title,
            "order": self.order,
            "level": self.level,
            "parent": self.parent,
            "intro": self.intro,
        }


@dataclass
class DraftPoint:
    """A numbered point inside a work item: （1） or 一是…."""

    marker: str
    number: int
    text: str

    def to_dict(self) -> dict[str, object]:
        """Marker style, number and verbatim text."""
        return {"marker": self.marker, "number": self.number, "text": self.text}


@dataclass
class DraftWorkItem:
    """A numbered work item (1. …) with its title and its text verbatim."""

    section: str
    number: int
    title: str
    text: str
    points: list[DraftPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """API shape plus the item's points."""
        return {
            "section": self.section,
            "number": self.number,
            "title": self.title,
            "text": self.text,
            "points": [point.to_dict() for point in self.points],
        }


@dataclass
class DraftTarget:
    """A proposed target: one measurable, dated or committed clause of the document."""

    section: str | None
    work_item: int | None
    text: str
    kind: str
    comparator: str | None = None
    target_value: Decimal | None = None
    target_value_max: Decimal | None = None
    unit: str | None = None
    applies_to_each_unit: bool = False
    per: str | None = None
    due_year: int | None = None
    due_month: int | None = None
    due_start_month: int | None = None
    indicator: str | None = None
    indicator_confidence: float = 0.0
    confidence: float = 0.5
    parent: int | None = None
    start: int = 0
    end: int = 0

    @property
    def due_date(self) -> date | None:
        """The last day of the due month, when both year and month are known."""
        if self.due_year is None or self.due_month is None:
            return None
        return date(self.due_year, self.due_month, calendar.monthrange(self.due_year, self.due_month)[1])

    @property
    def due_period(self) -> str | None:
        """The quarter the due month falls in, e.g. ``2023Q3``."""
        if self.due_year is None or self.due_month is None:
            return None
        return f"{self.due_year}Q{(self.due_month - 1) // 3 + 1}"

    def to_dict(self) -> dict[str, object]:
        """API shape plus due month, parent index and span."""
        due = self.due_date
        return {
            "section": self.section,
            "work_item": self.work_item,
            "text": self.text,
            "kind": self.kind,
            "comparator": self.comparator,
            "target_value": decimal_text(self.target_value),
            "target_value_max": decimal_text(self.target_value_max),
            "unit": self.unit,
            "applies_to_each_unit": self.applies_to_each_unit,
            "per": self.per,
            "due_date": due.isoformat() if due else None,
            "due_month": self.due_month,
            "start_month": self.due_start_month,
            "due_period": self.due_period,
            "indicator": self.indicator,
            "indicator_confidence": round(self.indicator_confidence, 2),
            "confidence": round(self.confidence, 2),
            "parent": self.parent,
            "span": [self.start, self.end],
        }


@dataclass
class NoiseSnippet:
    """Text removed as not being plan: boilerplate, page markers, phone numbers, appended documents."""

    reason: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """Reason code and removed text."""
        return {"reason": self.reason, "text": self.text}


@dataclass
class PlanDraft:
    """Everything proposed from one document."""

    title: str
    year: int | None
    guiding_ideas: str
    sections: list[DraftSection] = field(default_factory=list)
    work_items: list[DraftWorkItem] = field(default_factory=list)
    targets: list[DraftTarget] = field(default_factory=list)
    noise: list[NoiseSnippet] = field(default_factory=list)
    text: str = ""

    def to_dict(self) -> dict[str, object]:
        """The draft as the plan-drafts API returns it (without ``id``)."""
        return {
            "title": self.title,
            "year": self.year,
            "guiding_ideas": self.guiding_ideas,
            "sections": [section.to_dict() for section in self.sections],
            "work_items": [item.to_dict() for item in self.work_items],
            "targets": [target.to_dict() for target in self.targets],
            "noise": [snippet.to_dict() for snippet in self.noise],
        }
