"""Checking reported numbers: type and range per figure, bureau-defined rules, quarter-on-quarter moves.

The same functions serve the web form, the API and the Excel import, so a number refused in one
channel is refused in all of them. Nothing here touches the database except ``RuleSet.load`` and
``figures_for_unit`` (one query each); callers load once and check many units.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

from portal.i18n import localized
from portal.xlsx import plain_number
from submissions.expressions import COMPARATORS, Expression, ExpressionError
from submissions.models import Figure, Severity, TimeAggregation, ValidationRule, ValueType

# Who reports what is its own module; re-exported because every channel already imports these from here.
from submissions.reporting import (
    active_figures,
    applies_to,
    applies_to_q,
    figures_for_unit,
    figures_for_units,
    reports_any,
    reports_any_q,
)

__all__ = [
    "active_figures",
    "applies_to",
    "applies_to_q",
    "figures_for_unit",
    "figures_for_units",
    "reports_any",
    "reports_any_q",
]

# Value.value is DECIMAL(20, 4): at most 16 integer digits and 4 decimals.
MAX_DECIMALS = 4
MAX_ABS = Decimal("1e15")
CHANGE_KEY_PREFIX = "change_"


class FieldError(ValueError):
    """A raw value cannot be stored; the message is user-facing (translated)."""


def parse_value(figure: Figure, raw: object) -> Decimal | None:
    """Turn raw input (text from a form or a cell, a JSON number) into a Decimal, or raise FieldError.

    Empty means "not reported" (None), never 0.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):  # JSON true/false are ints in Python; refuse them
        raise FieldError(_("请输入数字"))
    try:
        text = raw.strip().replace(",", "") if isinstance(raw, str) else str(raw)
        value = Decimal(text)
    except (InvalidOperation, ValueError, TypeError):
        raise FieldError(_("请输入数字")) from None
    if not value.is_finite():
        raise FieldError(_("请输入数字"))
    # By exponent, not arithmetic: abs() of "1e999999999" overflows the decimal context.
    if value and value.adjusted() >= MAX_ABS.adjusted():
        raise FieldError(_("数值过大"))
    if figure.value_type == ValueType.INTEGER:
        if value != value.to_integral_value():
            raise FieldError(_("须为整数"))
        value = value.quantize(Decimal(1))
    elif -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise FieldError(_("最多保留 {n} 位小数").format(n=MAX_DECIMALS))
    if figure.min_value is not None and value < figure.min_value:
        raise FieldError(_("不能小于 {min}").format(min=plain_number(figure.min_value)))
    if figure.max_value is not None and value > figure.max_value:
        raise FieldError(_("不能大于 {max}").format(max=plain_number(figure.max_value)))
    return value


@dataclass(frozen=True)
class Issue:
    """A rule that does not hold.

    ``key`` is the rule code (or ``change_<figure>``); it is also the key of the explanation.
    """

    key: str
    severity: str
    message: str
    figures: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    @property
    def field(self) -> str:
        """The form field the message is shown next to: the first figure of the rule's left side."""
        return self.figures[0] if self.figures else "non_field_errors"


@dataclass(frozen=True)
class CompiledRule:
    rule: ValidationRule
    left: Expression
    right: Expression
    figures: tuple[str, ...]


@dataclass
class RuleSet:
    """The active rules, parsed once; ``check`` runs them over one unit's values."""

    rules: list[CompiledRule] = field(default_factory=list)

    @classmethod
    def load(cls) -> RuleSet:
        compiled = []
        for rule in ValidationRule.objects.filter(is_active=True):
            try:
                left, right = Expression(rule.left), Expression(rule.right)
            except ExpressionError:
                continue  # rules are validated when saved; a broken legacy rule must not block everyone
            ordered = sorted(left.names) + sorted(right.names - left.names)
            compiled.append(CompiledRule(rule, left, right, tuple(ordered)))
        return cls(compiled)

    def check(
        self,
        values: Mapping[str, Decimal | None],
        figures: Iterable[Figure],
        previous: Mapping[str, Decimal | None] | None = None,
    ) -> list[Issue]:
        """Rule violations and quarter-on-quarter warnings for one unit's values.

        A rule is skipped when it names a figure the unit does not report or a value is still
        missing: we cannot judge it yet (completeness is checked at submit).
        """
        figures = list(figures)
        reported = {figure.code for figure in figures}
        issues: list[Issue] = []
        for compiled in self.rules:
            if not set(compiled.figures) <= reported:
                continue
            left, right = compiled.left.evaluate(values), compiled.right.evaluate(values)
            if left is None or right is None:
                continue
            if not COMPARATORS[compiled.rule.operator](left, right):
                issues.append(
                    Issue(
                        key=compiled.rule.code,
                        severity=compiled.rule.severity,
                        message=localized(compiled.rule, "message") or localized(compiled.rule),
                        figures=compiled.figures,
                    )
                )
        if previous:
            issues.extend(_change_warnings(values, figures, previous))
        return issues


def _change_warnings(
    values: Mapping[str, Decimal | None], figures: Iterable[Figure], previous: Mapping[str, Decimal | None]
) -> list[Issue]:
    issues = []
    for figure in figures:
        if figure.time_aggregation != TimeAggregation.STOCK:
            continue
        share = figure.change_warning_share
        if share is None:
            share = Decimal(str(settings.STOCK_CHANGE_WARNING_SHARE))
        new, old = values.get(figure.code), previous.get(figure.code)
        # A share of zero is undefined: a unit going from 0 to 10 classes is not judged here.
        if new is None or old is None or old == 0:
            continue
        moved = abs(new - old) / abs(old)
        if moved > share:
            issues.append(
                Issue(
                    key=f"{CHANGE_KEY_PREFIX}{figure.code}",
                    severity=Severity.WARNING,
                    message=_("{name}较上季度（{old}）变动 {pct}%，超过 {limit}%，请说明原因").format(
                        name=figure.name,
                        old=plain_number(old),
                        pct=plain_number((moved * 100).quantize(Decimal("0.1"))),
                        limit=plain_number((share * 100).quantize(Decimal("0.1"))),
                    ),
                    figures=(figure.code,),
                )
            )
    return issues


def submit_errors(
    values: Mapping[str, Decimal | None],
    figures: Iterable[Figure],
    issues: Iterable[Issue],
    explanations: Mapping[str, str],
    is_zero_report: bool = False,
    not_applicable: Collection[str] = frozenset(),
) -> dict[str, list[str]]:
    """What still blocks submitting: missing required values, error rules, warnings without an explanation.

    An optional figure may stay empty; 不适用 answers a figure (it is not missing)."""
    errors: dict[str, list[str]] = {}
    if not is_zero_report:
        for figure in figures:
            if figure.required and figure.code not in not_applicable and values.get(figure.code) is None:
                errors.setdefault(figure.code, []).append(_("请填写此项"))
    for issue in issues:
        if issue.is_error:
            errors.setdefault(issue.field, []).append(issue.message)
        elif not (explanations.get(issue.key) or "").strip():
            errors.setdefault(issue.field, []).append(
                _("{message}（警告：请在说明中填写原因后再提交）").format(message=issue.message)
            )
    return errors


def check_rule_definition(left: str, right: str, known_codes: Iterable[str]) -> dict[str, list[str]]:
    """Errors in a rule typed by bureau staff: syntax, and figure codes that do not exist."""
    errors: dict[str, list[str]] = {}
    known = set(known_codes)
    for name, text in (("left", left), ("right", right)):
        try:
            expression = Expression(text)
        except ExpressionError as exc:
            errors[name] = [str(exc)]
            continue
        unknown = sorted(expression.names - known)
        if unknown:
            errors[name] = [_("未知的填报项代码：{codes}").format(codes="、".join(unknown))]
    return errors
