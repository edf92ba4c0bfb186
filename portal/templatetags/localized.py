"""``{{ indicator|localized }}``: a staff-typed name in the page's language (see ``portal.i18n``)."""

from __future__ import annotations

from typing import Any

from django import template

from portal.i18n import localized as localized_text

register = template.Library()


@register.filter
def localized(obj: Any, field: str = "name") -> str:
    """``obj.<field>_en`` on English pages when filled in, else ``obj.<field>``; "" for None."""
    if obj is None:
        return ""
    return localized_text(obj, field)
