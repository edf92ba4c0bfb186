"""Validation-rule expressions: the indicator parser (``portal.expressions``) with the rules' semantics.

There is one expression language in the portal; this module only adds what differs for a
validation rule: a rule reads the submission being checked, so period offsets (``code[-1]``) and
conditions are refused, and a rule with any missing figure "cannot be judged" (None) — unlike an
indicator, whose sums treat a figure a unit left empty as contributing nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal

from django.utils.translation import gettext as _

from portal.expressions import ExpressionError, parse, references
from portal.expressions import evaluate as evaluate_node

__all__ = ["COMPARATORS", "Expression", "ExpressionError"]


class Expression:
    """A parsed rule side: ``names`` are the figure codes it reads; ``evaluate`` computes it."""

    def __init__(self, text: str) -> None:
        self.text = (text or "").strip()
        self._node = parse(self.text)
        refs = references(self._node)
        if any(offset for _code, offset in refs):
            raise ExpressionError(_("校验规则只能引用本期填报项，不能使用 [-k] 期间偏移"))
        self.names: set[str] = {code for code, _offset in refs}

    def evaluate(self, values: Mapping[str, Decimal | None]) -> Decimal | None:
        """The value, or None when a figure is missing or a denominator is zero."""
        if any(values.get(name) is None for name in self.names):
            return None
        return evaluate_node(self._node, {(name, 0): values[name] for name in self.names})

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


COMPARATORS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}
