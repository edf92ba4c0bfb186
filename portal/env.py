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


# --- Object storage, Redis Sentinel (parsed here so that tests need neither boto3 nor a Sentinel) ---

STORAGE_BACKENDS = ("filesystem", "s3")
S3_BACKEND = "storages.backends.s3.S3Storage"
DEFAULT_SENTINEL_PORT = 26379


def default_storage_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """STORAGES["default"] from STORAGE_BACKEND: ``filesystem`` (MEDIA_ROOT, the default) or ``s3`` (any
    S3-compatible service through django-storages: AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_S3_REGION_NAME). Problems are reported with the variable's name."""
    backend = (env_str("STORAGE_BACKEND", None, environ) or "filesystem").strip().lower()
    if backend not in STORAGE_BACKENDS:
        report("STORAGE_BACKEND", f"STORAGE_BACKEND={backend!r} is not one of {', '.join(STORAGE_BACKENDS)}")
        backend = "filesystem"
    if backend == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    bucket = env_str("AWS_STORAGE_BUCKET_NAME", None, environ) or ""
    if not bucket.strip():
        report("AWS_STORAGE_BUCKET_NAME", "AWS_STORAGE_BUCKET_NAME is required when STORAGE_BACKEND=s3")
    endpoint = env_str("AWS_S3_ENDPOINT_URL", None, environ) or ""
    if endpoint and urlparse(endpoint).scheme not in {"http", "https"}:
        report("AWS_S3_ENDPOINT_URL", f"AWS_S3_ENDPOINT_URL={endpoint!r} is not an http(s):// URL")
        endpoint = ""
    options: dict[str, Any] = {
        "bucket_name": bucket.strip(),
        # Evidence and exports are private: no public ACL, and any URL the storage makes is signed and expires.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 300,
        # Like FileSystemStorage: a second upload with the same name gets a new name instead of replacing the first.
        "file_overwrite": False,
    }
    for option, name in (
        ("endpoint_url", "AWS_S3_ENDPOINT_URL"),
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
        ("region_name", "AWS_S3_REGION_NAME"),
    ):
        value = endpoint if name == "AWS_S3_ENDPOINT_URL" else (env_str(name, None, environ) or "")
        if value:
            options[option] = value
    if not s3_package_installed():
        report(
            "STORAGE_BACKEND", "STORAGE_BACKEND=s3 is set but django-storages[s3] is not installed (pip install .[s3])"
        )
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def s3_package_installed() -> bool:
    """django-storages' S3 backend and boto3 import (the optional ``[s3]`` extra)."""
    try:
        import boto3  # noqa: F401
        import storages.backends.s3  # noqa: F401
    except ImportError:
        return False
    return True


def parse_sentinel_url(url: str, name: str = "REDIS_URL") -> list[tuple[str, int]]:
    """``sentinel://h1:26379;sentinel://h2:26379`` (Celery's form) → the Sentinels' (host, port) pairs."""
    hosts: list[tuple[str, int]] = []
    for part in url.split(";"):
        parsed = urlparse(part.strip())
        if parsed.scheme.lower() != "sentinel" or not parsed.hostname:
            raise ImproperlyConfigured(f"{name}={url!r}: every part must look like sentinel://host:26379")
        try:
            port = parsed.port or DEFAULT_SENTINEL_PORT
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r} has an invalid port") from None
        hosts.append((parsed.hostname, port))
    return hosts


def sentinel_master_options(url: str) -> dict[str, Any]:
    """The master's password and database number, as Celery reads them from the first part of the URL
    (``sentinel://:secret@h1:26379/2;sentinel://h2:26379``)."""
    parsed = urlparse(url.split(";")[0].strip())
    options: dict[str, Any] = {}
    if parsed.password:
        options["password"] = unquote(parsed.password)
    if parsed.path.strip("/").isdigit():
        options["db"] = int(parsed.path.strip("/"))
    return options


def check_sentinel_url(url: str, name: str = "REDIS_URL") -> None:
    """Report a Sentinel URL Celery could not use, naming the variable."""
    try:
        parse_sentinel_url(url, name)
    except ImproperlyConfigured as exc:
        report(name, str(exc))


def replica_database(url: str, default: Mapping[str, Any]) -> dict[str, Any] | None:
    """DATABASES["replica"] from DATABASE_REPLICA_URL: the same engine as ``default`` and its connection options;
    None (reported) when the URL is bad or names another engine."""
    name = "DATABASE_REPLICA_URL"
    try:
        replica = parse_database_url(url, name)
    except ImproperlyConfigured as exc:
        report(name, str(exc))
        return None
    if replica["ENGINE"] != default["ENGINE"]:
        report(name, f"{name} must use the same database engine as DATABASE_URL ({default['ENGINE']})")
        return None
    replica["OPTIONS"] = {**default.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        if key in default:
            replica[key] = default[key]
    # The test runner never creates a replica database: under tests the alias is the default database.
    replica["TEST"] = {"MIRROR": "default"}
    return replica


def is_sentinel_url(url: str) -> bool:
    return url.strip().lower().startswith("sentinel://")
