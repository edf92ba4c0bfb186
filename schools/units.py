"""Creating and editing org units: where a unit may be placed, and the messages its checks give.

Pages (``schools/unit_views.py``) and the API (``schools/api.py``) both ask ``check_placement``:

- a unit without a parent starts a new tree, outside every membership, so only a superuser may create one
  or move a unit to the top (``portal.scope.require_can_create_root``; a bureau admin who did would lose it);
- otherwise the caller must administer the parent (and, when editing, the unit itself);
- a unit cannot move under its own descendant.

A taken code reads ``DUPLICATE_CODE`` in both.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import OrgUnit

# The fields of a unit that its page and the API set (both through ``save_unit``).
EDITABLE_FIELDS = [
    "code", "name", "name_en", "level", "parent", "school_type", "ownership", "is_central", "is_active",
    "opened_on", "closed_on",
]  # fmt: skip
DUPLICATE_CODE = _("单位代码已被其他单位使用，请换一个代码。")


def check_placement(user: Any, unit: OrgUnit | None, parent: OrgUnit | None) -> None:
    """May ``user`` put ``unit`` (None: a new one) under ``parent`` (None: at the top)? Raises PermissionDenied
    (with the reason, for a new root) or ServiceError (a move under its own descendant)."""
    if unit is not None:
        scope.require(user, Perm.ADMIN, unit)
        if (parent.pk if parent else None) == unit.parent_id:
            return  # not moved: administering the unit is enough (a district's admin renames the district)
    if parent is None:
        scope.require_can_create_root(user)
        return
    scope.require(user, Perm.ADMIN, parent)
    if unit is not None and unit.pk and parent.path.startswith(unit.path):
        raise ServiceError({"parent": [str(_("不能把单位移到它自己的下级。"))]})


def save_unit(user: Any, unit: OrgUnit) -> OrgUnit:
    """Check and save ``unit`` (new or edited; its fields already set) in one transaction."""
    stored = OrgUnit.objects.filter(pk=unit.pk).first() if unit.pk else None
    check_placement(user, stored, unit.parent)
    try:
        unit.full_clean(exclude=["path", "depth"])
    except ValidationError as error:
        errors = error.message_dict
        if "code" in errors and OrgUnit.objects.filter(code=unit.code).exclude(pk=unit.pk).exists():
            errors["code"] = [str(DUPLICATE_CODE)]
        raise ServiceError({("non_field_errors" if k == "__all__" else k): v for k, v in errors.items()}) from None
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError:  # a concurrent insert of the same code
        raise ServiceError({"code": [str(DUPLICATE_CODE)]}) from None
    return unit
