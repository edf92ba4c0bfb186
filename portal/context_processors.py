"""Template context shared by every page: the navigation for the user's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal import scope
from portal.scope import Role  # the scope module is the one reader of roles and memberships


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set()}
    roles = scope.roles(user)
    return {
        "user_roles": roles,
        "is_bureau_admin": Role.BUREAU_ADMIN in roles,
        "is_reviewer": Role.REVIEWER in roles or Role.BUREAU_ADMIN in roles,
        "is_principal": Role.PRINCIPAL in roles,
        "is_inspector": Role.INSPECTOR in roles,
    }
