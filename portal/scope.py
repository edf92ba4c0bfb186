"""The one place where a user's access scope is decided.

A membership gives a role on an org unit and its whole subtree. Every view, API endpoint,
export and import asks this module which units a user may see or act on:

- ``visible_units(user)`` / ``filter_by_scope(user, qs, field)`` filter lists silently;
- ``get_in_scope(user, qs, **lookup)`` returns one object or raises Http404 (reads);
- ``require(user, perm, unit)`` raises PermissionDenied (writes).

Memberships are loaded once per user object and cached on it, so checks inside a request
cost no further queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from schools.models import Membership, OrgUnit, Role, ancestor_paths

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

M = TypeVar("M", bound=Model)


class Perm(StrEnum):
    VIEW = "view"  # read the unit's data, dashboards and targets
    SUBMIT = "submit"  # edit and submit the unit's figures, update owned milestones
    REVIEW = "review"  # approve or return submissions
    EXPORT = "export"  # download progress workbooks
    ADMIN = "admin"  # edit plans, figures, indicators, targets; reopen approved submissions


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.PRINCIPAL: frozenset({Perm.VIEW, Perm.SUBMIT}),
    Role.REVIEWER: frozenset({Perm.VIEW, Perm.REVIEW, Perm.EXPORT}),
    Role.INSPECTOR: frozenset({Perm.VIEW, Perm.EXPORT}),
    Role.BUREAU_ADMIN: frozenset({Perm.VIEW, Perm.SUBMIT, Perm.REVIEW, Perm.EXPORT, Perm.ADMIN}),
}


@dataclass(frozen=True)
class Grant:
    path: str
    unit_id: int
    role: str


def grants(user: AnyUser) -> list[Grant]:
    """The user's memberships as (path, role), cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return []
    cached = getattr(user, "_scope_grants", None)
    if cached is None:
        cached = [
            Grant(path=path, unit_id=unit_id, role=role)
            for path, unit_id, role in Membership.objects.filter(user=user, org_unit__is_active=True).values_list(
                "org_unit__path", "org_unit_id", "role"
            )
        ]
        user._scope_grants = cached  # type: ignore[union-attr]
    return cached


def signed_in(user: AnyUser) -> AbstractBaseUser:
    """The user of a view that requires log-in (``login_required``, DRF's IsAuthenticated), typed as such;
    PermissionDenied for an anonymous one (a view that forgot its log-in check)."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    return user  # type: ignore[return-value]  # authenticated: a real user, not AnonymousUser


def memberships(user: AnyUser) -> QuerySet[Membership]:
    """The user's memberships with their units (for pages that list them, such as the home page)."""
    return Membership.objects.filter(user=user).select_related("org_unit").order_by("role")


def is_bureau_wide_admin(user: AnyUser) -> bool:
    """A superuser, or a bureau administrator of a top-level unit (sees every unit of the tree)."""
    if is_superuser(user):
        return True
    root_ids = {grant.unit_id for grant in grants(user) if grant.role == Role.BUREAU_ADMIN}
    return bool(root_ids) and OrgUnit.objects.filter(pk__in=root_ids, parent__isnull=True).exists()


def is_superuser(user: AnyUser) -> bool:
    return bool(getattr(user, "is_superuser", False) and getattr(user, "is_active", False))


def roles(user: AnyUser) -> set[str]:
    if is_superuser(user):
        return {Role.BUREAU_ADMIN}
    return {grant.role for grant in grants(user)}


def has_role(user: AnyUser, role: str) -> bool:
    return role in roles(user)


def _paths_with(user: AnyUser, perm: Perm) -> list[str] | None:
    """Paths whose subtrees grant ``perm``; None means everything (superuser)."""
    if is_superuser(user):
        return None
    return [grant.path for grant in grants(user) if perm in ROLE_PERMS.get(grant.role, frozenset())]


def has_perm(user: AnyUser, perm: Perm, unit: OrgUnit | None = None) -> bool:
    """May ``user`` do ``perm`` on ``unit`` (or anywhere, when unit is None)?"""
    paths = _paths_with(user, perm)
    if paths is None:
        return True
    if unit is None:
        return bool(paths)
    return any(unit.path.startswith(path) for path in paths)


def require(user: AnyUser, perm: Perm, unit: OrgUnit | None = None) -> None:
    if not has_perm(user, perm, unit):
        raise PermissionDenied


def require_can_create_root(user: AnyUser) -> None:
    """A unit without a parent starts a new tree, outside every membership: superusers only (a bureau
    administrator who made one could never see it again). PermissionDenied with the reason."""
    if not is_superuser(user):
        raise PermissionDenied(_("只有系统管理员可以创建顶级单位；请选择您管辖范围内的上级单位。"))


def holders(perm: Perm, unit: OrgUnit) -> QuerySet[Any]:
    """Active users whose role on ``unit`` or one of its ancestors gives ``perm``: the people a page can name
    as able to act on the unit (e.g. the bureau admins who may open a locked period for it). One query."""
    roles = [role for role, perms in ROLE_PERMS.items() if perm in perms]
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__role__in=roles,
            memberships__org_unit__path__in=ancestor_paths(unit.path),
            memberships__org_unit__is_active=True,
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def scope_q(user: AnyUser, field: str = "", perm: Perm = Perm.VIEW) -> Q:
    """A Q object restricting ``<field>__path`` to the user's units for ``perm``.

    ``field`` is the lookup from the filtered model to its OrgUnit ("" for OrgUnit itself,
    "org_unit" for a submission, "scope" for a target).
    """
    paths = _paths_with(user, perm)
    if paths is None:
        return Q()
    prefix = f"{field}__path" if field else "path"
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{prefix}__startswith": path})
    return condition


def filter_by_scope(user: AnyUser, queryset: QuerySet[M], field: str = "", perm: Perm = Perm.VIEW) -> QuerySet[M]:
    return queryset.filter(scope_q(user, field, perm))


def visible_units(user: AnyUser, perm: Perm = Perm.VIEW) -> QuerySet[OrgUnit]:
    return filter_by_scope(user, OrgUnit.objects.all(), "", perm)


def get_in_scope(user: AnyUser, queryset: QuerySet[M], field: str = "", **lookup: Any) -> M:
    """One object visible to the user, else 404 (never reveal that an out-of-scope object exists)."""
    try:
        return filter_by_scope(user, queryset, field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def top_units(user: AnyUser, perm: Perm = Perm.VIEW) -> QuerySet[OrgUnit]:
    """The roots of the user's scope (the units of their memberships), for default dashboard scope."""
    if is_superuser(user):
        return OrgUnit.objects.filter(parent__isnull=True)
    paths = _paths_with(user, perm) or []
    # Drop paths nested inside another granted path.
    roots = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return OrgUnit.objects.filter(path__in=roots)
