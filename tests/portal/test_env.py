"""Settings parsing: good values parse, bad values fail at start-up with the variable's name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env
from portal.env import env_bool, env_int, env_list, env_str, parse_database_url, parse_email_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_env_bool_reads_common_spellings(raw: str, expected: bool) -> None:
    assert env_bool("FLAG", not expected, {"FLAG": raw}) is expected


def test_env_bool_refuses_a_typo_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG='treu'"):
        env_bool("DEBUG", False, {"DEBUG": "treu"})


def test_env_int_refuses_non_numbers_and_values_below_minimum() -> None:
    assert env_int("N", 5, {"N": " 42 "}) == 42
    assert env_int("N", 5, {}) == 5
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 5, {"N": "4x"})
    with pytest.raises(ImproperlyConfigured, match="at least 10"):
        env_int("N", 5, {"N": "3"}, minimum=10)


def test_env_list_splits_and_strips() -> None:
    assert env_list("HOSTS", [], {"HOSTS": "a.example.org, b.example.org,,"}) == [
        "a.example.org",
        "b.example.org",
    ]
    assert env_list("HOSTS", ["x"], {}) == ["x"]


def test_database_url_postgres_and_sqlite() -> None:
    pg = parse_database_url("postgres://u:p%40ss@db.local:5433/portal?sslmode=require")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "u",
        "p@ss",
        "db.local",
        "5433",
        "portal",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert parse_database_url("sqlite:////tmp/x.db") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/tmp/x.db",
    }


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgres://u@h", "postgres://u@h:port/db", "sqlite://"])
def test_database_url_refuses_unsupported_or_incomplete_urls(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url(url)


def test_email_url_smtp_with_tls() -> None:
    conf = parse_email_url("smtp://mailer:secret@mail.edu.cn:587?tls=1")
    assert conf["EMAIL_HOST"] == "mail.edu.cn"
    assert conf["EMAIL_PORT"] == 587
    assert conf["EMAIL_USE_TLS"] is True
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        parse_email_url("pigeon://coop")


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_requires_a_secret_key() -> None:
    result = _settings_import({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_bad_debug_value_stops_start_up() -> None:
    result = _settings_import({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe'" in result.stderr


def test_without_redis_url_celery_runs_eagerly_and_with_it_does_not() -> None:
    code = "import portal.settings as s; print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    clean["DEBUG"] = "1"
    without = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    clean["REDIS_URL"] = "redis://127.0.0.1:6379/3"
    with_redis = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert without.stdout.split() == ["True", "memory://"]
    assert with_redis.stdout.split() == ["False", "redis://127.0.0.1:6379/3"]


def test_production_mode_requires_database_and_broker_urls_and_allowed_hosts() -> None:
    result = _settings_import({"DEBUG": "0", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "DATABASE_URL is required" in result.stderr
    result = _settings_import({"DEBUG": "0", "SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h/db"})
    assert "REDIS_URL is required" in result.stderr
    result = _settings_import(
        {"DEBUG": "0", "SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://h:6379/0"}
    )
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_start_up_names_every_unset_and_unparsable_variable_in_one_error() -> None:
    result = _settings_import(
        {
            "DEBUG": "0",
            "DATABASE_URL": "mysql://u@h/db",
            "CONN_MAX_AGE": "sixty",
            "NIGHTLY_RECOMPUTE_HOUR": "24",
            "SECURE_HSTS_PRELOAD": "maybe",
            "EMAIL_URL": "pigeon://coop",
            "LOG_FORMAT": "xml",
            # what systemd makes of "SESSION_COOKIE_AGE=28800   # 8 hours"
            "SESSION_COOKIE_AGE": "28800   # 8 hours",
        }
    )
    assert result.returncode != 0
    summary = re.search(r"ImproperlyConfigured: (\d+) environment variable\(s\) unset or invalid", result.stderr)
    assert summary is not None, result.stderr
    assert summary.group(1) == "10"
    listed = result.stderr[summary.start() :]
    for expected in (
        "SECRET_KEY is required",
        "REDIS_URL is required",
        "ALLOWED_HOSTS is required",
        "DATABASE_URL='mysql://u@h/db': unsupported scheme",
        "CONN_MAX_AGE='sixty' is not an integer",
        "NIGHTLY_RECOMPUTE_HOUR=24 must be at most 23",
        "SECURE_HSTS_PRELOAD='maybe' is not a boolean",
        "EMAIL_URL='pigeon://coop': unsupported scheme",
        "LOG_FORMAT='xml' is not text or json",
        "SESSION_COOKIE_AGE='28800   # 8 hours' contains an inline comment",
    ):
        assert expected in listed


def test_development_mode_also_reports_bad_values_but_requires_nothing() -> None:
    assert _settings_import({"DEBUG": "1"}).returncode == 0
    result = _settings_import({"DEBUG": "1", "CONN_MAX_AGE": "-1"})
    assert result.returncode != 0
    assert "CONN_MAX_AGE=-1 must be at least 0" in result.stderr


def test_sentry_dsn_without_the_sdk_is_a_named_configuration_error() -> None:
    """sentry-sdk is optional: setting SENTRY_DSN without it installed must not be silently ignored."""
    code = "import sys; sys.modules['sentry_sdk'] = None; import portal.settings"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SENTRY_DSN"}}
    clean.update({"DEBUG": "1", "SENTRY_DSN": "https://key@sentry.example.org/1"})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SENTRY_DSN is set but sentry-sdk is not installed (pip install .[sentry])" in result.stderr


def test_collecting_parsers_fall_back_to_the_default_and_raise_once() -> None:
    env.collect_errors()
    try:
        assert env_int("A", 7, {"A": "x"}) == 7
        assert env_bool("B", True, {"B": "perhaps"}) is True
        assert env_str("C", "d", {"C": "v # note"}) == "d"
    finally:
        with pytest.raises(ImproperlyConfigured) as caught:
            env.raise_collected()
    message = str(caught.value)
    assert "3 environment variable(s)" in message
    assert all(name in message for name in ("A='x'", "B='perhaps'", "C='v # note'"))
    env.raise_collected()  # collecting is over: nothing left, nothing raised
    with pytest.raises(ImproperlyConfigured):
        env_int("A", 7, {"A": "x"})


# --- .env.example, read the way systemd (EnvironmentFile=) and honcho read it ---


def _systemd_environment_file(text: str) -> dict[str, str]:
    """systemd.exec(5) EnvironmentFile=: '#' or ';' lines are comments, whitespace around the value is
    stripped, one pair of quotes is removed, and a '#' after a value is NOT a comment (it stays in the value)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, _, value = stripped.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _example_lines() -> list[tuple[str, str]]:
    pairs = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not VARIABLE=value: {line!r}"
            pairs.append((key, value))
    return pairs


def test_env_example_is_one_plain_variable_a_line() -> None:
    pairs = _example_lines()
    names = [key for key, _ in pairs]
    assert len(names) == len(set(names)), "a variable is listed twice"
    for key, value in pairs:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), key
        # Nothing a reader could take differently: no spaces, quotes, '#', '$' or backslashes.
        assert re.fullmatch(r"[A-Za-z0-9_.,:/@?=+%-]*", value), f"{key}={value!r}"


def test_systemd_and_honcho_read_every_value_of_env_example_as_written() -> None:
    from honcho.environ import parse as honcho_parse

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    written = dict(_example_lines())
    assert _systemd_environment_file(text) == written
    # honcho drops empty assignments, which the settings read exactly like an empty value.
    assert honcho_parse(text) == {key: value for key, value in written.items() if value}


def test_env_example_lists_every_variable_the_settings_read() -> None:
    source = (ROOT / "portal" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"env_(?:str|bool|int|list|url|required)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    read |= set(re.findall(r"for _required in \(([^)]*)\)", source)[0].replace('"', "").replace(" ", "").split(","))
    assert read, "the settings read no variable: the pattern above is out of date"
    assert read - set(dict(_example_lines())) == set()


def test_env_example_as_written_starts_production() -> None:
    """The example, as systemd would hand it to gunicorn, passes the start-up check (nothing unset or unparsable)."""
    values = _systemd_environment_file((ROOT / ".env.example").read_text(encoding="utf-8"))
    result = _settings_import(values)
    assert result.returncode == 0, result.stderr


def test_sentry_dsn_with_the_sdk_starts_it_without_personal_data() -> None:
    pytest.importorskip("sentry_sdk")
    code = (
        "import portal.settings, sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options['send_default_pii'], c.options['environment'], "
        "sorted(i for i in c.integrations if i in {'django', 'celery'}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SENTRY_DSN"}}
    clean.update({"DEBUG": "1", "SENTRY_DSN": "https://key@127.0.0.1:9/1", "SENTRY_ENVIRONMENT": "staging"})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(maxsplit=3) == ["True", "False", "staging", "['celery', 'django']"]
