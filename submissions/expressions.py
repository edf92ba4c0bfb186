"""A small safe arithmetic language over figure codes, for validation rules.

``pri_new_entrants_migrant``, ``kg_enrolled - kg_enrolled_senior``, ``(a + b) * 0.5`` … are parsed
with :mod:`ast` and only numbers, figure codes, ``+ - * /``, unary minus and parentheses are
accepted; anything else (calls, attributes, subscripts, comparisons) is refused at parse time, so
a rule typed by bureau staff can never run code. Evaluation uses Decimal; a missing figure or a
division by zero yields None ("cannot judge"), never an exception and never 0.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

MAX_EXPRESSION_LENGTH = 500

_BINARY: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class ExpressionError(ValueError):
    """The text is not a valid expression; the message is user-facing (translated)."""


class Expression:
    """A parsed expression: ``names`` are the figure codes it reads; ``evaluate`` computes it."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        if not self.text:
            raise ExpressionError(_("表达式不能为空"))
        if len(self.text) > MAX_EXPRESSION_LENGTH:
            raise ExpressionError(_("表达式过长"))
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError:
            raise ExpressionError(_("表达式语法错误：{text}").format(text=self.text)) from None
        self.names: set[str] = set()
        self._tree = tree.body
        self._check(self._tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self._check(node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return
        elif isinstance(node, ast.Name):
            self.names.add(node.id)
        else:
            raise ExpressionError(_("表达式只能包含数字、填报项代码、+ - * / 和括号：{text}").format(text=self.text))

    def evaluate(self, values: Mapping[str, Decimal | None]) -> Decimal | None:
        """The value, or None when a figure is missing or a denominator is zero."""
        try:
            return self._eval(self._tree, values)
        except (ZeroDivisionError, InvalidOperation):
            return None

    def _eval(self, node: ast.AST, values: Mapping[str, Decimal | None]) -> Decimal | None:
        if isinstance(node, ast.BinOp):
            left = self._eval(node.left, values)
            right = self._eval(node.right, values)
            if left is None or right is None:
                return None
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, values)
            if operand is None:
                return None
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return Decimal(str(node.value))
        assert isinstance(node, ast.Name)  # guaranteed by _check
        return values.get(node.id)

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
