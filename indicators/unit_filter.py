"""Which units an indicator applies to — the one place (issue 13 §6).

An indicator's unit filter is an AND of: its levels (any level when empty), and — for schools only — its school
types, its ownership and "central schools only". A district or 学区 is never refused for a school type: it is not a
school, its value is the sum of the schools that pass.

A unit counts for a period only while it is open: it is active and has no closing date on or before the period's
last day (``closed_on > period end``, as a revoked designation: revoked on the last day no longer counts). An
inactive unit counts in no period. The same rule serves every reader:

- ``q()`` — a Django ``Q`` on ``OrgUnit`` (drill-downs, league tables, exports);
- ``matches()`` — a Python check on any unit-like object (progress, a school's page, the incremental recompute);
- ``sql()`` — the SQL condition the engine embeds (``indicators/engine.py``).

``tests/indicators/test_unit_filter.py`` checks the three agree on every unit × filter and that no other module
reads the filter's fields.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Q

from schools.models import Level

_SAFE_LITERAL = re.compile(r"^[a-z_]+$")


class _FilteredIndicator(Protocol):
    unit_filter_levels: Any
    unit_filter_school_types: Any
    unit_filter_ownership: Any
    unit_filter_central_only: bool


def _literals(values: Iterable[str]) -> str:
    # Filter values are TextChoices codes; anything else is dropped rather than quoted (never SQL from user text).
    return ", ".join(f"'{value}'" for value in values if _SAFE_LITERAL.match(str(value))) or "NULL"


@dataclass(frozen=True)
class UnitFilter:
    levels: tuple[str, ...] = ()
    school_types: tuple[str, ...] = ()
    ownership: tuple[str, ...] = ()
    central_only: bool = False

    @classmethod
    def of(cls, indicator: _FilteredIndicator | None) -> UnitFilter:
        """The filter of ``indicator`` (None, e.g. a milestone's target: every unit)."""
        if indicator is None:
            return cls()
        return cls(
            levels=tuple(indicator.unit_filter_levels or ()),
            school_types=tuple(indicator.unit_filter_school_types or ()),
            ownership=tuple(indicator.unit_filter_ownership or ()),
            central_only=bool(indicator.unit_filter_central_only),
        )

    def covers_level(self, level: str) -> bool:
        """Can a unit of ``level`` pass at all (the levels part only)?"""
        return not self.levels or level in self.levels

    # --- Python ---

    @staticmethod
    def is_open(unit: Any, as_of: datetime.date | None = None) -> bool:
        """Active, and (with ``as_of``, a period's last day) not closed on or before that day."""
        if not getattr(unit, "is_active", True):
            return False
        closed_on = getattr(unit, "closed_on", None)
        return as_of is None or closed_on is None or closed_on > as_of

    def covers(self, unit: Any) -> bool:
        """The filter alone, whatever the unit's open state (a closed school's page keeps its targets)."""
        level = getattr(unit, "level", Level.SCHOOL)
        if not self.covers_level(level):
            return False
        if level != Level.SCHOOL:
            return True
        if self.school_types and unit.school_type not in self.school_types:
            return False
        if self.ownership and unit.ownership not in self.ownership:
            return False
        return not (self.central_only and not unit.is_central)

    def matches(self, unit: Any, as_of: datetime.date | None = None) -> bool:
        """Does ``unit``'s own data count for the indicator (in the period ending ``as_of``)?"""
        return self.is_open(unit, as_of) and self.covers(unit)

    # --- Django ---

    @staticmethod
    def open_q(prefix: str = "", as_of: datetime.date | None = None) -> Q:
        condition = Q(**{f"{prefix}is_active": True})
        if as_of is not None:
            condition &= Q(**{f"{prefix}closed_on__isnull": True}) | Q(**{f"{prefix}closed_on__gt": as_of})
        return condition

    def covers_q(self, prefix: str = "") -> Q:
        condition = Q()
        if self.levels:
            condition &= Q(**{f"{prefix}level__in": list(self.levels)})
        school = Q()
        if self.school_types:
            school &= Q(**{f"{prefix}school_type__in": list(self.school_types)})
        if self.ownership:
            school &= Q(**{f"{prefix}ownership__in": list(self.ownership)})
        if self.central_only:
            school &= Q(**{f"{prefix}is_central": True})
        if school:
            condition &= ~Q(**{f"{prefix}level": Level.SCHOOL}) | school
        return condition

    def q(self, prefix: str = "", as_of: datetime.date | None = None) -> Q:
        """``matches`` as a ``Q`` on ``OrgUnit`` (``prefix``: e.g. ``"org_unit__"`` from a related model)."""
        return self.open_q(prefix, as_of) & self.covers_q(prefix)

    # --- SQL ---

    @staticmethod
    def open_sql(alias: str, period_end_sql: str | None = None) -> str:
        """``is_open`` over ``alias``'s columns; ``period_end_sql`` an SQL date expression (a column)."""
        condition = f"{alias}.is_active"
        if period_end_sql is not None:
            condition += f" AND ({alias}.closed_on IS NULL OR {alias}.closed_on > {period_end_sql})"
        return condition

    def covers_sql(self, alias: str) -> str:
        parts = ["1 = 1"]
        if self.levels:
            parts.append(f"{alias}.level IN ({_literals(self.levels)})")
        school_parts = []
        if self.school_types:
            school_parts.append(f"{alias}.school_type IN ({_literals(self.school_types)})")
        if self.ownership:
            school_parts.append(f"{alias}.ownership IN ({_literals(self.ownership)})")
        if self.central_only:
            school_parts.append(f"{alias}.is_central")
        if school_parts:
            parts.append(f"({alias}.level <> '{Level.SCHOOL}' OR ({' AND '.join(school_parts)}))")
        return " AND ".join(parts)

    def sql(self, alias: str, period_end_sql: str | None = None, *, open_check: bool = True) -> str:
        """``matches`` as an SQL condition over ``alias`` (a row with OrgUnit's columns). ``open_check=False``:
        the filter alone, where the rows are known to be open already (the engine's ``base``)."""
        covers = self.covers_sql(alias)
        if not open_check:
            return covers
        return f"({self.open_sql(alias, period_end_sql)} AND {covers})"
