"""The bell in the header: the signed-in user's unread count, one COUNT query per page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from notifications.services import unread_count


def bell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that never shows the header (a download, an API call) never runs the query.
    cached: dict[str, int] = {}

    def count() -> int:
        if "n" not in cached:
            cached["n"] = unread_count(user)
        return cached["n"]

    return {"unread_notifications": count}
