"""Reusable table columns. Every column that renders HTML also gives a plain value for exports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.html import format_html

from portal.i18n import localized
from portal.numbers import format_number


class StatusBadgeColumn(tables.Column):
    """A status shown as a badge with its label (colour is never the only carrier of the status)."""

    def render(self, value: Any, record: Any, bound_column: Any) -> str:
        display = getattr(record, f"get_{bound_column.accessor}_display", None)
        label = display() if callable(display) else value
        return format_html('<span class="badge badge-{}">{}</span>', value, label)

    def value(self, value: Any, record: Any, bound_column: Any) -> str:
        display = getattr(record, f"get_{bound_column.accessor}_display", None)
        return str(display() if callable(display) else value)


class LocalizedColumn(tables.Column):
    """A text staff typed in two languages: its ``*_en`` twin on English pages when filled in (portal.i18n)."""

    def render(self, record: Any, bound_column: Any) -> str:
        return localized(record, bound_column.accessor)

    def value(self, record: Any, bound_column: Any) -> str:
        return localized(record, bound_column.accessor)


class DecimalColumn(tables.Column):
    """A number through the one formatter (``portal.numbers``); empty cells show the column's ``default``.

    ``decimals=None`` prints the value as stored (a numerator, a head count: no ".00"). With ``measure`` (the
    accessor of an object with ``decimals`` and ``unit``, such as the row's indicator) each row is printed in
    that object's decimals and unit: a rate as ``97.85%``.
    """

    def __init__(self, *args: Any, decimals: int | None = None, measure: str | None = None, **kwargs: Any) -> None:
        self.decimals = decimals
        self.measure = measure
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(*args, **kwargs)

    def render(self, value: Decimal | None, record: Any) -> str:
        if self.measure:
            source = tables.A(self.measure).resolve(record, quiet=True)
            if source is not None:
                return format_number(value, source.decimals, source.unit)
        return format_number(value, self.decimals)

    def value(self, value: Decimal | None) -> Decimal | None:
        return value
