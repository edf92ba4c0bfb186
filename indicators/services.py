"""Indicator definitions: the one service the pages, the API and the admin save them through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from indicators import dispatch, engine
from indicators.models import Indicator
from portal import scope
from portal.errors import ServiceError

if TYPE_CHECKING:
    from portal.scope import AnyUser


# Fields whose change alters computed values (a name or definition text change does not).
COMPUTED_FIELDS = (
    "numerator",
    "denominator",
    "weight",
    "factor",
    "aggregation",
    "condition",
    "designation_kind_id",
    "unit_filter_levels",
    "unit_filter_school_types",
    "unit_filter_ownership",
    "unit_filter_central_only",
    "is_active",
)


def save_indicator(indicator: Indicator, user: AnyUser) -> bool:
    """Validate and save an indicator (bureau admin only); a change to a field that moves computed values
    requests the recompute of all its values after commit. Returns whether one was requested."""
    scope.require(user, scope.Perm.ADMIN)
    errors = engine.validate_definition(indicator)
    if errors:
        raise ServiceError(errors)
    with transaction.atomic():
        before = Indicator.objects.filter(pk=indicator.pk).values(*COMPUTED_FIELDS).first() if indicator.pk else None
        indicator.save()
        changed = before is None or any(before[name] != getattr(indicator, name) for name in COMPUTED_FIELDS)
        if changed:
            dispatch.enqueue_indicator(indicator.pk)
    return changed
