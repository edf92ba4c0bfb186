"""Every URL pattern without parameters answers every persona without a server error.

The patterns are enumerated from the URL resolver, so a new page cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import Personas, Tree

SKIP_PREFIXES = ("admin/", "i18n/", "accounts/logout/", "api/schema", "api/docs")


def _walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern).lstrip("^").removesuffix("$")
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and "<" not in route and "(?P" not in route and "\\" not in route:
            yield route


PATHS = sorted({p for p in _walk(get_resolver().url_patterns) if not p.startswith(SKIP_PREFIXES)})


def test_the_enumeration_finds_the_main_pages() -> None:
    for expected in ("", "plans/", "reports/", "submissions/mine/", "api/v1/org-units/"):
        assert expected in PATHS


@pytest.mark.parametrize("persona", ["alice", "rita", "ivan", "bea", "nobody"])
def test_no_page_fails_for_any_persona(client: Client, tree: Tree, users: Personas, persona: str) -> None:
    client.force_login(getattr(users, persona))
    failures = []
    for path in PATHS:
        response = client.get("/" + path)
        if response.status_code >= 500:
            failures.append(f"/{path} → {response.status_code}")
    assert failures == []


def test_anonymous_visitors_are_sent_to_log_in_or_refused(client: Client, db: None) -> None:
    leaks = []
    for path in PATHS:
        if path.startswith("accounts/"):
            continue
        response = client.get("/" + path)
        if response.status_code == 200:
            leaks.append(f"/{path}")
    assert leaks == []
