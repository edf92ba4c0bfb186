"""Strict parsers for configuration read from environment variables.

Each parser raises ImproperlyConfigured with the variable's name on a bad value instead of
guessing, so a typo in production fails at start-up, not at the first request. While settings load,
``collect_errors`` is on: every parser records its problem and goes on with the default, and
``raise_collected`` then names every unset or unparsable variable in one error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
# "value   # comment": systemd and most .env readers keep the comment as part of the value.
INLINE_COMMENT = re.compile(r"\s#")

# Problems found while collecting (name → message), or None when parsers raise at once.
_collected: dict[str, str] | None = None


def collect_errors() -> None:
    """From now on, parsers record their problem and return the default instead of raising."""
    global _collected
    _collected = {}


def raise_collected() -> None:
    """Stop collecting; raise one ImproperlyConfigured naming every variable that was wrong."""
    global _collected
    problems, _collected = _collected or {}, None
    if problems:
        lines = "\n".join(f"  - {message}" for message in problems.values())
        raise ImproperlyConfigured(
            f"{len(problems)} environment variable(s) unset or invalid (see .env.example):\n{lines}"
        )


def report(name: str, message: str) -> None:
    """Raise at once, or record the first problem of ``name`` while collecting."""
    if _collected is None:
        raise ImproperlyConfigured(message)
    _collected.setdefault(name, message)


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The raw value; a value carrying an inline ``# comment`` is refused (it would become part of it)."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, default)
    if value is not None and name in environ and INLINE_COMMENT.search(value):
        report(name, f"{name}={value!r} contains an inline comment; put comments on their own line")
        return default
    return value


def env_required(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A variable production cannot run without; empty counts as unset."""
    value = env_str(name, None, environ)
    if value is None or not value.strip():
        report(name, f"{name} is required when DEBUG is off but is not set")
        return ""
    return value


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, None, environ)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    report(name, f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")
    return default


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = env_str(name, None, environ)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        report(name, f"{name}={raw!r} is not an integer")
        return default
    if minimum is not None and value < minimum:
        report(name, f"{name}={value} must be at least {minimum}")
        return default
    if maximum is not None and value > maximum:
        report(name, f"{name}={value} must be at most {maximum}")
        return default
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, None, environ)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, parser: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    """Parse a URL variable with ``parser``; a bad one is reported and the default is parsed instead."""
    raw = env_str(name, None) or default
    try:
        return parser(raw, name)
    except ImproperlyConfigured as exc:
        report(name, str(exc))
        return parser(default, name)


def parse_database_url(url: str, name: str = "DATABASE_URL") -> dict[str, Any]:
    """Turn ``postgres://user:pw@host:port/db`` or ``sqlite:///path`` into a DATABASES entry."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as dj-database-url reads them
        path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
        if not path:
            raise ImproperlyConfigured(f"{name}={url!r} names no SQLite file")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if scheme in {"postgres", "postgresql", "pgsql", "psql"}:
        db_name = unquote(parsed.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name}={url!r} names no database")
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        try:
            port = parsed.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r} has an invalid port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"{name}={url!r}: unsupported scheme {scheme!r} (use postgres:// or sqlite://)")


def parse_email_url(url: str, name: str = "EMAIL_URL") -> dict[str, Any]:
    """``smtp://user:pw@host:587?tls=1``, ``console://`` or ``locmem://`` → EMAIL_* settings."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme in {"smtp", "smtps"}:
        if not parsed.hostname:
            raise ImproperlyConfigured(f"{name}={url!r} names no host")
        query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parsed.hostname,
            "EMAIL_PORT": parsed.port or (465 if scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parsed.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": query.get("tls", "0").lower() in TRUE_WORDS,
        }
    raise ImproperlyConfigured(f"{name}={url!r}: unsupported scheme {scheme!r} (smtp, smtps, console, locmem)")
