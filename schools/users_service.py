"""Users and their memberships, managed by bureau administrators within their own scope (issue 13 §4).

The one place for these rules; the pages (``schools/user_views.py``), the API (``schools/user_api.py``) and the
Excel import (``schools/user_import.py``) all call it:

- an administrator sees the users holding a membership inside the subtrees they administer (a bureau-wide
  administrator also sees users without any membership, so that none is lost);
- a membership may be granted or removed only on a unit the actor administers (``portal.scope``, ``Perm.ADMIN``),
  and never with a role above the actor's own role there (``ROLE_RANK``);
- a user's own fields (name, username, e-mail, password, active) may be changed only by an administrator whose
  scope covers every membership the user holds with a role no higher than the actor's there: a district
  administrator cannot rename, re-mail or deactivate the city's administrator;
- users are deactivated, never deleted (history and the audit trail keep naming them).

Refusals raise ``Refused`` (403, a translated message); bad input raises ``ServiceError`` (400). Memberships are
audited by ``portal.audit`` through model signals, so every caller is covered (channel web, api or import).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import Membership, OrgUnit, Role

# How far a role reaches; an administrator grants roles up to their own rank on the unit.
ROLE_RANK: dict[str, int] = {
    Role.PRINCIPAL: 1,
    Role.INSPECTOR: 2,
    Role.REVIEWER: 2,
    Role.BUREAU_ADMIN: 3,
}
SUPERUSER_RANK = 100

NAME_MAX = 150
EMAIL_MAX = 254


class Refused(ServiceError):
    """The actor may not do this (outside their scope, or above their role); nothing was written."""

    status_code = 403


@dataclass(frozen=True)
class UserFields:
    """The fields of a user an administrator edits; ``None`` leaves a field as it is."""

    username: str | None = None
    name: str | None = None
    email: str | None = None
    is_active: bool | None = None
    password: str | None = None


def _user_model() -> Any:
    return get_user_model()


# --- Who may do what ---


def role_rank_on(actor: Any, unit: OrgUnit) -> int:
    """The highest rank among the actor's roles that cover ``unit`` (0: none)."""
    if scope.is_superuser(actor):
        return SUPERUSER_RANK
    return max(
        (ROLE_RANK.get(grant.role, 0) for grant in scope.grants(actor) if unit.path.startswith(grant.path)),
        default=0,
    )


def is_user_admin(actor: Any) -> bool:
    """Does the actor administer any unit (may they open the user pages at all)?"""
    return scope.has_perm(actor, Perm.ADMIN)


def require_user_admin(actor: Any) -> None:
    if not is_user_admin(actor):
        raise Refused(_("只有教育局管理员可以管理用户。"))


def check_grant(actor: Any, unit: OrgUnit, role: str) -> None:
    """May ``actor`` grant (or remove) ``role`` on ``unit``? Refused (403) if not."""
    if role not in ROLE_RANK:
        raise ServiceError({"role": [_("无效的角色：%(role)s") % {"role": role}]})
    if not scope.has_perm(actor, Perm.ADMIN, unit):
        raise Refused({"org_unit": [_("单位“%(unit)s”不在您的管理范围内。") % {"unit": unit.name}]})
    if ROLE_RANK[role] > role_rank_on(actor, unit):
        raise Refused({"role": [_("不能授予高于您自己的角色（%(role)s）。") % {"role": Role(role).label}]})


def manageable_users(actor: Any) -> QuerySet[Any]:
    """The users an administrator sees: those with a membership in a subtree the actor administers (every user
    for a superuser; a bureau-wide administrator also sees users without any membership). Empty otherwise."""
    users = _user_model().objects.all()
    if scope.is_superuser(actor):
        return users
    if not is_user_admin(actor):
        return users.none()
    # Correlated EXISTS, no DISTINCT: a page of users asks about its own users' memberships only. ``pk IN (every
    # membership in scope)`` joined every membership with every unit by path on each page (0.8 s for the last page
    # of /api/v1/users/ at 100,000 units, BENCHMARKS.md issue 17), and the join on memberships needed a DISTINCT.
    in_scope = Membership.objects.filter(scope.scope_q(actor, "org_unit", Perm.ADMIN), user_id=OuterRef("pk"))
    condition = Q(Exists(in_scope))
    if scope.is_bureau_wide_admin(actor):
        condition |= ~Q(Exists(Membership.objects.filter(user_id=OuterRef("pk"))))
    return users.filter(condition)


def check_manage_user(actor: Any, user: Any) -> None:
    """May ``actor`` change ``user``'s own fields? Every membership the user holds must lie in the actor's scope
    with a role no higher than the actor's there; a user without memberships is a bureau-wide administrator's."""
    require_user_admin(actor)
    if scope.is_superuser(actor):
        return
    if user.is_superuser:
        raise Refused(_("不能修改超级管理员。"))
    held = list(Membership.objects.filter(user=user).select_related("org_unit"))
    if not held:
        if not scope.is_bureau_wide_admin(actor):
            raise Refused(_("该用户不在您的管理范围内。"))
        return
    for membership in held:
        unit = membership.org_unit
        if not scope.has_perm(actor, Perm.ADMIN, unit) or ROLE_RANK.get(membership.role, 0) > role_rank_on(actor, unit):
            raise Refused(
                _("该用户在您管理范围之外还担任“%(unit)s”的%(role)s，不能由您修改。")
                % {"unit": unit.name, "role": membership.get_role_display()}
            )


# --- Field checks ---


def clean_fields(fields: UserFields, user: Any | None) -> dict[str, Any]:
    """Checked values of the given fields; ServiceError with every problem at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    model = _user_model()
    if fields.username is not None:
        username = fields.username.strip()
        try:
            model._meta.get_field("username").run_validators(username)
            if not username:
                raise ValidationError(_("用户名不能为空。"))
        except ValidationError as exc:
            errors["username"] = [str(_("用户名无效：")) + " ".join(exc.messages)]
        else:
            taken = model.objects.filter(username=username)
            if user is not None:
                taken = taken.exclude(pk=user.pk)
            if taken.exists():
                errors["username"] = [_("用户名“%(username)s”已被使用。") % {"username": username}]
            values["username"] = username
    if fields.name is not None:
        name = fields.name.strip()
        if len(name) > NAME_MAX:
            errors["name"] = [_("姓名不能超过 %(max)s 个字符。") % {"max": NAME_MAX}]
        values["first_name"] = name
        values["last_name"] = ""
    if fields.email is not None:
        email = fields.email.strip()
        if email:
            try:
                validate_email(email)
                if len(email) > EMAIL_MAX:
                    raise ValidationError("")
            except ValidationError:
                errors["email"] = [_("电子邮箱“%(email)s”格式不正确。") % {"email": email}]
        values["email"] = email
    if fields.is_active is not None:
        values["is_active"] = bool(fields.is_active)
    if fields.password:
        try:
            password_validation.validate_password(fields.password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ServiceError(errors)
    return values


# --- Writes ---


@transaction.atomic
def create_user(actor: Any, fields: UserFields, org_unit: OrgUnit | None, role: str | None) -> Any:
    """A new user with their first membership (``org_unit``/``role``; both required but for a superuser or a
    bureau-wide administrator, whose users without a membership stay visible to them)."""
    require_user_admin(actor)
    if org_unit is not None and role:
        check_grant(actor, org_unit, role)
    elif org_unit is not None or role:
        raise ServiceError({"role": [_("单位和角色需同时填写。")]})
    elif not scope.is_bureau_wide_admin(actor):
        raise ServiceError({"org_unit": [_("请为新用户选择单位和角色，否则您将无法再看到该用户。")]})
    if fields.username is None:
        raise ServiceError({"username": [_("用户名不能为空。")]})
    values = clean_fields(
        UserFields(
            username=fields.username,
            name=fields.name or "",
            email=fields.email or "",
            is_active=True if fields.is_active is None else fields.is_active,
            password=fields.password,
        ),
        None,
    )
    user = _user_model()(**values)
    if fields.password:
        user.set_password(fields.password)
    else:
        user.set_unusable_password()  # an administrator sets a password on the user's page
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ServiceError(
            {"username": [_("用户名“%(username)s”已被使用。") % {"username": values["username"]}]}
        ) from None
    if org_unit is not None and role:
        Membership.objects.create(user=user, org_unit=org_unit, role=role)
    return user


@transaction.atomic
def update_user(actor: Any, user: Any, fields: UserFields) -> Any:
    """Change a user's own fields (``None`` fields are left as they are). Deactivating oneself is refused."""
    check_manage_user(actor, user)
    if fields.is_active is False and user.pk == getattr(actor, "pk", None):
        raise ServiceError({"is_active": [_("不能停用您自己的账号。")]})
    values = clean_fields(fields, user)
    for key, value in values.items():
        setattr(user, key, value)
    if fields.password:
        user.set_password(fields.password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ServiceError({"username": [_("用户名“%(username)s”已被使用。") % {"username": user.username}]}) from None
    return user


def set_active(actor: Any, user: Any, active: bool) -> Any:
    """Deactivate (or reactivate) a user: never deleted, so history and the audit trail keep their name."""
    return update_user(actor, user, UserFields(is_active=active))


def _duplicate(user: Any, unit: OrgUnit, role: str) -> ServiceError:
    return ServiceError(
        {
            "non_field_errors": [
                _("用户“%(user)s”在“%(unit)s”已是%(role)s。")
                % {"user": user.username, "unit": unit.name, "role": Role(role).label}
            ]
        }
    )


@transaction.atomic
def add_membership(actor: Any, user: Any, org_unit: OrgUnit, role: str) -> Membership:
    """Grant ``role`` on ``org_unit`` to ``user`` (inside the actor's scope, not above the actor's role)."""
    check_grant(actor, org_unit, role)
    if Membership.objects.filter(user=user, org_unit=org_unit, role=role).exists():
        raise _duplicate(user, org_unit, role)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, org_unit=org_unit, role=role)
    except IntegrityError:
        raise _duplicate(user, org_unit, role) from None
    _forget_scope(user)
    return membership


@transaction.atomic
def change_membership(actor: Any, membership: Membership, org_unit: OrgUnit | None, role: str | None) -> Membership:
    """Move a membership to another unit and/or role: the actor must be able to remove the old one and grant the
    new one."""
    check_grant(actor, membership.org_unit, membership.role)
    new_unit = org_unit or membership.org_unit
    new_role = role or membership.role
    check_grant(actor, new_unit, new_role)
    if (new_unit.pk, new_role) == (membership.org_unit_id, membership.role):
        return membership
    if Membership.objects.filter(user_id=membership.user_id, org_unit=new_unit, role=new_role).exists():
        raise _duplicate(membership.user, new_unit, new_role)
    membership.org_unit = new_unit
    membership.role = new_role
    membership.save()
    _forget_scope(membership.user)
    return membership


@transaction.atomic
def remove_membership(actor: Any, membership: Membership) -> None:
    """Take a membership away (its unit in the actor's scope, its role not above the actor's)."""
    check_grant(actor, membership.org_unit, membership.role)
    membership.delete()
    _forget_scope(membership.user)


def _forget_scope(user: Any) -> None:
    # portal.scope caches grants on the user object for the request: the next check reads the new memberships.
    vars(user).pop("_scope_grants", None)


def display_name(user: Any) -> str:
    """The name shown for a user: their name, else their username."""
    return (f"{user.last_name}{user.first_name}" if user.last_name else user.first_name) or user.username


def role_choices_for(actor: Any) -> list[tuple[str, str]]:
    """Roles the actor may grant somewhere (their highest rank), for a form's select."""
    if scope.is_superuser(actor):
        top = SUPERUSER_RANK
    else:
        top = max((ROLE_RANK.get(grant.role, 0) for grant in scope.grants(actor)), default=0)
    return [(value, str(label)) for value, label in Role.choices if ROLE_RANK[value] <= top]
