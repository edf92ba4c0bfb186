"""Settings parsing: good values parse, bad values fail at start-up with the variable's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, parse_database_url, parse_email_url

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


def test_production_mode_requires_database_and_broker_urls() -> None:
    result = _settings_import({"DEBUG": "0", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "DATABASE_URL is required" in result.stderr
    result = _settings_import({"DEBUG": "0", "SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h/db"})
    assert "REDIS_URL is required" in result.stderr
