"""``{% config_history obj %}``: the audit trail of ``obj`` (and its parts) on its page, for administrators."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models

from portal import scope
from portal.audit import history_for
from portal.scope import Perm

register = template.Library()


@register.inclusion_tag("includes/config_history.html", takes_context=True)
def config_history(context: dict[str, Any], obj: Any) -> dict[str, Any]:
    """One query (the rows with their users and types); nothing for users who cannot administer anything, since
    the rows name who changed what (membership changes name users)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(obj, models.Model) or obj.pk is None or user is None or not scope.has_perm(user, Perm.ADMIN):
        return {"show": False}
    return {"show": True, "rows": history_for(obj)}
