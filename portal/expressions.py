"""The one safe expression language (indicator formulas and validation rules): arithmetic over figure codes, period
offsets, conditions. Pure: no models, no database; the engine compiles it to SQL, rules evaluate it in Python.

``pri_graduates / (pri_cohort_entrants + pri_transfers_in - pri_transfers_out)``,
``kg_enrolled_senior[-4]`` (the value four quarters earlier) and ``pri_enrolled > 2000 and is_x == 1``
are tokenized and parsed by recursive descent into a small tree of dataclasses. Nothing is ever
``eval``-ed: the tree can only be evaluated (Decimal, in Python) or compiled to SQL by the engine.

Missing data: within one arithmetic expression a missing figure counts as 0 as long as at least one
of the figures it reads is present (a school that left "transfers in" empty had none); when every
figure is missing the result is None ("无数据"). A division by zero gives None, never an exception.
The SQL compiler in ``indicators.engine`` implements exactly the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation

from django.utils.translation import gettext as _

MAX_LENGTH = 1000
MAX_DEPTH = 40  # nesting of parentheses / operators; deeper input is refused, never a RecursionError
MAX_OFFSET = 12  # quarters back (three years)


class ExpressionError(ValueError):
    """The text is not a valid expression; ``position`` is the 1-based character where it went wrong."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        self.detail = message
        if position is not None:
            message = _("第 {position} 个字符处：{message}").format(position=position, message=message)
        super().__init__(message)


# --- Tree ---


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Ref:
    """A figure code, optionally ``k`` quarters back (``code[-k]``)."""

    code: str
    offset: int = 0


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Compare:
    op: str  # > >= < <= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Num | Ref | BinOp | Neg | Compare | BoolOp | Not
BOOLEAN_NODES = (Compare, BoolOp, Not)


# --- Tokenizer ---

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>>=|<=|==|!=|<>|[-+*/()\[\]<>=])
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, name, op, kw, end
    text: str
    pos: int  # 1-based


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if match is None:
            raise ExpressionError(_("无法识别的字符“{char}”").format(char=text[i]), i + 1)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "name" and value.lower() in KEYWORDS:
            tokens.append(Token("kw", value.lower(), i + 1))
        elif kind == "op" and value in ("=", "<>"):
            tokens.append(Token("op", "==" if value == "=" else "!=", i + 1))
        elif kind != "ws":
            tokens.append(Token(kind, value, i + 1))
        i = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# --- Parser ---

COMPARISON_OPS = {">", ">=", "<", "<=", "==", "!="}


class _Parser:
    """Recursive descent; every rule tracks depth so hostile nesting fails cleanly."""

    def __init__(self, text: str, known_codes: set[str] | None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.known_codes = known_codes

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> Token:
        if self.tok.text != text or self.tok.kind not in ("op", "kw"):
            raise ExpressionError(_("此处应为“{expected}”").format(expected=text), self.tok.pos)
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("表达式嵌套过深（最多 {n} 层）").format(n=MAX_DEPTH), self.tok.pos)

    def leave(self) -> None:
        self.depth -= 1

    # or_expr := and_expr ("or" and_expr)*
    def or_expr(self) -> Node:
        self.enter()
        node = self.and_expr()
        while self.tok.kind == "kw" and self.tok.text == "or":
            pos = self.advance().pos
            node = BoolOp("or", self._bool(node, pos), self._bool(self.and_expr(), pos))
        self.leave()
        return node

    # and_expr := not_expr ("and" not_expr)*
    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.tok.kind == "kw" and self.tok.text == "and":
            pos = self.advance().pos
            node = BoolOp("and", self._bool(node, pos), self._bool(self.not_expr(), pos))
        return node

    # not_expr := "not" not_expr | comparison
    def not_expr(self) -> Node:
        if self.tok.kind == "kw" and self.tok.text == "not":
            pos = self.advance().pos
            self.enter()
            node = Not(self._bool(self.not_expr(), pos))
            self.leave()
            return node
        return self.comparison()

    # comparison := arith (CMP arith)?
    def comparison(self) -> Node:
        left = self.arith()
        if self.tok.kind == "op" and self.tok.text in COMPARISON_OPS:
            token = self.advance()
            right = self.arith()
            return Compare(token.text, self._num(left, token.pos), self._num(right, token.pos))
        return left

    # arith := term (("+" | "-") term)*
    def arith(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            token = self.advance()
            node = BinOp(token.text, self._num(node, token.pos), self._num(self.term(), token.pos))
        return node

    # term := unary (("*" | "/") unary)*
    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            token = self.advance()
            node = BinOp(token.text, self._num(node, token.pos), self._num(self.unary(), token.pos))
        return node

    # unary := ("-" | "+") unary | primary
    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in "+-":
            token = self.advance()
            self.enter()
            operand = self._num(self.unary(), token.pos)
            self.leave()
            return Neg(operand) if token.text == "-" else operand
        return self.primary()

    # primary := NUMBER | NAME ("[" "-" INT "]")? | "(" or_expr ")"
    def primary(self) -> Node:
        token = self.tok
        if token.kind == "num":
            self.advance()
            return Num(Decimal(token.text))
        if token.kind == "name":
            self.advance()
            if self.known_codes is not None and token.text not in self.known_codes:
                raise ExpressionError(_("未知的填报项代码 {code}").format(code=token.text), token.pos)
            offset = 0
            if self.tok.kind == "op" and self.tok.text == "[":
                self.advance()
                if self.tok.kind == "op" and self.tok.text == "-":
                    self.advance()
                if self.tok.kind != "num" or not self.tok.text.isdigit():
                    raise ExpressionError(_("期间偏移应写成 代码[-k]，k 为整数"), self.tok.pos)
                offset = int(self.advance().text)
                if offset > MAX_OFFSET:
                    raise ExpressionError(
                        _("期间偏移最多 {n} 个季度").format(n=MAX_OFFSET), self.tokens[self.i - 1].pos
                    )
                self.expect("]")
            return Ref(token.text, offset)
        if token.kind == "op" and token.text == "(":
            self.advance()
            node = self.or_expr()
            self.expect(")")
            return node
        if token.kind == "end":
            raise ExpressionError(_("表达式不完整"), token.pos)
        raise ExpressionError(_("此处不应出现“{text}”").format(text=token.text), token.pos)

    @staticmethod
    def _num(node: Node, pos: int) -> Node:
        if isinstance(node, BOOLEAN_NODES):
            raise ExpressionError(_("比较或逻辑结果不能参与算术运算"), pos)
        return node

    @staticmethod
    def _bool(node: Node, pos: int) -> Node:
        if not isinstance(node, BOOLEAN_NODES):
            raise ExpressionError(_("and / or / not 两侧应为比较条件"), pos)
        return node


def parse(text: str, known_codes: Iterable[str] | None = None, *, condition: bool = False) -> Node:
    """Parse ``text`` into a tree; ``condition=True`` requires a comparison, else an arithmetic value.

    ``known_codes`` (figure codes) rejects unknown names with their position; None skips the check.
    """
    text = text or ""
    if not text.strip():
        raise ExpressionError(_("表达式不能为空"))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("表达式过长（最多 {n} 个字符）").format(n=MAX_LENGTH))
    parser = _Parser(text, set(known_codes) if known_codes is not None else None)
    node = parser.or_expr()
    if parser.tok.kind != "end":
        raise ExpressionError(_("此处不应出现“{text}”").format(text=parser.tok.text), parser.tok.pos)
    if condition and not isinstance(node, BOOLEAN_NODES):
        raise ExpressionError(_("条件应包含比较，例如 pri_enrolled > 2000"))
    if not condition and isinstance(node, BOOLEAN_NODES):
        raise ExpressionError(_("此处应为数值表达式，不能是条件"))
    return node


# --- Analysis ---


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, BinOp | Compare | BoolOp):
        return (node.left, node.right)
    if isinstance(node, Neg | Not):
        return (node.operand,)
    return ()


def references(node: Node) -> list[tuple[str, int]]:
    """The (figure code, offset) pairs read, in first-seen order, without duplicates."""
    seen: dict[tuple[str, int], None] = {}
    stack = [node]
    while stack:  # iterative: the parser bounds depth, but analysis should never recurse unboundedly
        current = stack.pop()
        if isinstance(current, Ref):
            seen.setdefault((current.code, current.offset), None)
        stack.extend(reversed(children(current)))
    return list(seen)


def to_text(node: Node) -> str:
    """A canonical, fully parenthesised rendering (for explanations and tests)."""
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, Ref):
        return f"{node.code}[-{node.offset}]" if node.offset else node.code
    if isinstance(node, Neg):
        return f"-{to_text(node.operand)}"
    if isinstance(node, Not):
        return f"not {to_text(node.operand)}"
    return f"({to_text(node.left)} {node.op} {to_text(node.right)})"


# --- Evaluation (Python) ---

Values = Mapping[tuple[str, int], Decimal | None]

_ARITH: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}
_CMP: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def evaluate(node: Node, values: Values) -> Decimal | None:
    """An arithmetic expression's value for one unit; None when all its figures are missing or ÷0."""
    refs = references(node)
    if refs and all(values.get(ref) is None for ref in refs):
        return None
    return _arith(node, values)


def _arith(node: Node, values: Values) -> Decimal | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        value = values.get((node.code, node.offset))
        return Decimal(0) if value is None else Decimal(value)
    if isinstance(node, Neg):
        operand = _arith(node.operand, values)
        return None if operand is None else -operand
    assert isinstance(node, BinOp)
    left, right = _arith(node.left, values), _arith(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "/" and right == 0:
        return None
    try:
        return _ARITH[node.op](left, right)
    except (DivisionByZero, InvalidOperation):
        return None


def evaluate_condition(node: Node, values: Values) -> bool | None:
    """Three-valued like SQL: None when the comparison cannot be judged (missing data)."""
    if isinstance(node, Compare):
        left, right = evaluate(node.left, values), evaluate(node.right, values)
        if left is None or right is None:
            return None
        return _CMP[node.op](left, right)
    if isinstance(node, Not):
        inner = evaluate_condition(node.operand, values)
        return None if inner is None else not inner
    assert isinstance(node, BoolOp)
    left_holds, right_holds = evaluate_condition(node.left, values), evaluate_condition(node.right, values)
    if node.op == "and":
        if left_holds is False or right_holds is False:
            return False
        return None if left_holds is None or right_holds is None else True
    if left_holds is True or right_holds is True:
        return True
    return None if left_holds is None or right_holds is None else False


# --- Compilation to SQL ---


def compile_sql(node: Node, column: Callable[[str, int], str]) -> str:
    """SQL for an arithmetic expression (same missing-data rule as ``evaluate``).

    ``column(code, offset)`` returns the SQL of that reference's column. Constants are rendered as
    numeric literals, never interpolated text: the tree only holds Decimals and validated names.
    """
    refs = references(node)
    body = _sql_arith(node, column)
    if not refs:
        return body
    all_null = " AND ".join(f"{column(code, offset)} IS NULL" for code, offset in refs)
    return f"(CASE WHEN {all_null} THEN NULL ELSE {body} END)"


def _sql_arith(node: Node, column: Callable[[str, int], str]) -> str:
    if isinstance(node, Num):
        # Always a decimal literal so SQLite never does integer division.
        return f"{node.value:f}" if "." in f"{node.value:f}" else f"{node.value:f}.0"
    if isinstance(node, Ref):
        return f"COALESCE({column(node.code, node.offset)}, 0)"
    if isinstance(node, Neg):
        return f"(-{_sql_arith(node.operand, column)})"
    assert isinstance(node, BinOp)
    # A left-deep chain of one precedence (a + b - c …, a * b / c …) is rendered flat inside one pair of
    # parentheses — the same left-to-right evaluation — because one pair per operator overflows SQLite's
    # parser near 100 terms, and a 200-term sum is a legitimate expression.
    group = "+-" if node.op in "+-" else "*/"
    chain: list[tuple[str, Node]] = []
    current: Node = node
    while isinstance(current, BinOp) and current.op in group:
        chain.append((current.op, current.right))
        current = current.left
    chain.reverse()
    first = _sql_arith(current, column)
    # Division: × 1.0 first so SQLite never divides integers; ÷ 0 gives NULL, never an error.
    parts = [f"({first}) * 1.0" if any(op == "/" for op, _operand in chain) else first]
    for op, operand in chain:
        right = _sql_arith(operand, column)
        parts.append(f"/ NULLIF({right}, 0)" if op == "/" else f"{op} {right}")
    return f"({' '.join(parts)})"


def compile_condition_sql(node: Node, column: Callable[[str, int], str]) -> str:
    if isinstance(node, Compare):
        op = "=" if node.op == "==" else ("<>" if node.op == "!=" else node.op)
        return f"({compile_sql(node.left, column)} {op} {compile_sql(node.right, column)})"
    if isinstance(node, Not):
        return f"(NOT {compile_condition_sql(node.operand, column)})"
    assert isinstance(node, BoolOp)
    # A chain of one operator (a and b and c …) flat, as for arithmetic: SQLite's parser stack is shallow.
    operands: list[Node] = []
    current: Node = node
    while isinstance(current, BoolOp) and current.op == node.op:
        operands.append(current.right)
        current = current.left
    operands.append(current)
    joined = f" {node.op.upper()} ".join(compile_condition_sql(o, column) for o in reversed(operands))
    return f"({joined})"
