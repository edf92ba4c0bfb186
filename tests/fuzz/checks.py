"""Shared properties of the fuzz tests: the error shape, "nothing stored on an error", "only valid rows stored"."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError

from submissions.models import Figure, Period, Value
from submissions.validation import FieldError, parse_value

State = dict[str, list[tuple[Any, ...]]]


def assert_error_shape(status: int, body: bytes) -> None:
    """API.md: every error is ``{"errors": {"field_or_code": ["message", ...]}}`` with non-empty text."""
    data = json.loads(body)
    assert isinstance(data, dict), f"{status}: not the errors shape: {data!r}"
    assert set(data) == {"errors"}, f"{status}: not the errors shape: {data!r}"
    errors = data["errors"]
    assert isinstance(errors, dict), f"{status}: errors is not a map: {data!r}"
    assert errors, f"{status}: empty errors: {data!r}"
    for key, messages in errors.items():
        assert isinstance(key, str), data
        assert isinstance(messages, list), data
        assert messages, data
        assert all(isinstance(m, str) and m.strip() for m in messages), data


def changed_rows(before: State, after: State) -> dict[str, list[tuple[Any, ...]]]:
    """Rows (as value tuples) present after but not before, per model label."""
    result = {}
    for label, rows in after.items():
        old = {repr(row) for row in before.get(label, [])}  # repr: JSON columns hold unhashable lists
        new = [row for row in rows if repr(row) not in old]
        if new:
            result[label] = new
    return result


def assert_stored_rows_valid(before: State, after: State) -> None:
    """Every row a successful request wrote passes its model's field validation and the domain rules.

    Field validation (``clean_fields``: choices, lengths, decimal digits, non-blank) plus what the
    schema cannot say: a stored value respects its figure's type and range (re-parsing it gives the
    same number), a figure's minimum is not above its maximum, a period's dates are in order.
    """
    for label, rows in changed_rows(before, after).items():
        model = apps.get_model(label)
        pks = [row[0] for row in rows]
        for obj in model.objects.filter(pk__in=pks):
            try:
                # Foreign keys were enforced by the database; checking them again costs a query each.
                obj.clean_fields(exclude=[f.name for f in model._meta.fields if f.is_relation])
            except ValidationError as exc:
                raise AssertionError(f"{label} pk={obj.pk} stored invalid: {exc.message_dict}") from None
            if isinstance(obj, Value) and obj.value is not None:
                figure = Figure.objects.get(pk=obj.figure_id)
                try:
                    reparsed = parse_value(figure, format(obj.value, "f"))
                except FieldError as exc:
                    raise AssertionError(f"stored value {obj.value} of {figure.code} is invalid: {exc}") from None
                assert reparsed == obj.value, (figure.code, obj.value)
            if isinstance(obj, Figure) and obj.min_value is not None and obj.max_value is not None:
                assert obj.min_value <= obj.max_value, (obj.code, obj.min_value, obj.max_value)
            if isinstance(obj, Period):
                assert obj.opens_on <= obj.due_on <= obj.locks_on, obj.code


def plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
