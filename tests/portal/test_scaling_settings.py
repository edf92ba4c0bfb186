"""Settings for a bigger site (issue 16): object storage, Redis Sentinel, a PostgreSQL read replica.

Parsed from the environment without boto3, a Sentinel or a replica installed; bad values are named at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import SentinelConnectionPool

from portal import db_router, env, health
from portal.db_router import ReplicaRouter, use_replica

ROOT = Path(__file__).resolve().parents[2]
S3 = {
    "STORAGE_BACKEND": "s3",
    "AWS_STORAGE_BUCKET_NAME": "portal-media",
    "AWS_S3_ENDPOINT_URL": "https://minio.bureau.internal:9000",
    "AWS_ACCESS_KEY_ID": "portal",
    "AWS_SECRET_ACCESS_KEY": "s3cret",
    "AWS_S3_REGION_NAME": "cn-north-1",
}


def settings_of(extra: dict[str, str], code: str = "") -> subprocess.CompletedProcess[str]:
    """Import portal.settings in a fresh process with ``extra`` in a development environment."""
    names = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URL", "REDIS_SENTINEL_MASTER"}
    clean = {k: v for k, v in os.environ.items() if k not in names and not k.startswith(("AWS_", "STORAGE_"))}
    clean.update({"DEBUG": "1", **extra})
    return subprocess.run(
        [sys.executable, "-c", f"import portal.settings as s\n{code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- object storage ---


def test_storage_defaults_to_the_file_system() -> None:
    assert env.default_storage_settings({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_s3_settings_map_onto_django_storages_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env, "s3_package_installed", lambda: True)
    storage = env.default_storage_settings(S3)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"] == {
        "bucket_name": "portal-media",
        "endpoint_url": "https://minio.bureau.internal:9000",
        "access_key": "portal",
        "secret_key": "s3cret",
        "region_name": "cn-north-1",
        "default_acl": None,  # private objects
        "querystring_auth": True,
        "querystring_expire": 300,
        "file_overwrite": False,  # a second "report.pdf" must not replace the first
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND='ftp' is not one of filesystem, s3"),
        ({**S3, "AWS_STORAGE_BUCKET_NAME": ""}, "AWS_STORAGE_BUCKET_NAME is required when STORAGE_BACKEND=s3"),
        ({**S3, "AWS_S3_ENDPOINT_URL": "minio:9000"}, "AWS_S3_ENDPOINT_URL='minio:9000' is not an http(s):// URL"),
    ],
)
def test_bad_storage_settings_are_named(monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], message: str) -> None:
    monkeypatch.setattr(env, "s3_package_installed", lambda: True)
    with pytest.raises(ImproperlyConfigured) as caught:
        env.default_storage_settings(extra)
    assert str(caught.value) == message


def test_s3_chosen_without_the_package_stops_start_up_saying_what_to_install() -> None:
    # This environment has neither django-storages nor boto3 (the optional [s3] extra); hide them if it had.
    hide = "import sys\nsys.modules['boto3'] = None\nsys.modules['storages'] = None\n"
    result = subprocess.run(
        [sys.executable, "-c", hide + "import portal.settings"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "DEBUG"}, "DEBUG": "1", **S3},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "STORAGE_BACKEND=s3 is set but django-storages[s3] is not installed (pip install .[s3])" in result.stderr


# --- Redis Sentinel ---


def test_sentinel_url_lists_every_sentinel() -> None:
    url = "sentinel://:pw@10.0.0.1:26379/2;sentinel://10.0.0.2:26380;sentinel://s3.internal"
    assert env.parse_sentinel_url(url) == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("s3.internal", 26379)]
    assert env.sentinel_master_options(url) == {"password": "pw", "db": 2}
    with pytest.raises(ImproperlyConfigured, match="every part must look like sentinel://host:26379"):
        env.parse_sentinel_url("sentinel://10.0.0.1:26379;redis://10.0.0.2:6379")


def test_sentinel_broker_gets_the_master_name() -> None:
    code = "print(s.CELERY_BROKER_URL)\nprint(s.CELERY_BROKER_TRANSPORT_OPTIONS['master_name'])"
    url = "sentinel://10.0.0.1:26379;sentinel://10.0.0.2:26379"
    result = settings_of({"REDIS_URL": url, "REDIS_SENTINEL_MASTER": "mymaster"}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [url, "mymaster"]


def test_sentinel_without_a_master_name_or_with_a_bad_part_is_named() -> None:
    result = settings_of({"REDIS_URL": "sentinel://10.0.0.1:26379;10.0.0.2:26379"})
    assert result.returncode != 0
    assert "REDIS_SENTINEL_MASTER is required when REDIS_URL is sentinel://" in result.stderr
    assert "every part must look like sentinel://host:26379" in result.stderr


def test_the_health_checks_ask_the_sentinels_for_the_master() -> None:
    health._client.cache_clear()
    try:
        client = health._client("sentinel://:pw@10.0.0.1:26379/1;sentinel://10.0.0.2:26379", "mymaster")
        pool = client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)  # nothing connects until the first command
        assert pool.service_name == "mymaster"
        assert [(c.connection_pool.connection_kwargs["host"]) for c in pool.sentinel_manager.sentinels] == [
            "10.0.0.1",
            "10.0.0.2",
        ]
        assert (pool.connection_kwargs["password"], pool.connection_kwargs["db"]) == ("pw", 1)
    finally:
        health._client.cache_clear()


# --- read replica ---


def test_replica_url_makes_a_second_alias_with_the_default_options() -> None:
    default: dict[str, Any] = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}
    default |= {"OPTIONS": {"application_name": "workplan-portal"}, "CONN_HEALTH_CHECKS": True}
    replica = env.replica_database("postgres://ro:pw@replica.internal:5432/portal?sslmode=require", default)
    assert replica is not None
    assert (replica["HOST"], replica["USER"], replica["NAME"]) == ("replica.internal", "ro", "portal")
    assert replica["OPTIONS"] == {"application_name": "workplan-portal", "sslmode": "require"}
    assert (replica["CONN_MAX_AGE"], replica["CONN_HEALTH_CHECKS"]) == (60, True)
    assert replica["TEST"] == {"MIRROR": "default"}


def test_a_replica_of_another_engine_or_a_bad_url_is_named() -> None:
    result = settings_of({"DATABASE_REPLICA_URL": "postgres://ro@replica/portal"})  # default: SQLite
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL" in result.stderr
    result = settings_of({"DATABASE_REPLICA_URL": "mysql://ro@replica/portal"})
    assert "DATABASE_REPLICA_URL='mysql://ro@replica/portal': unsupported scheme" in result.stderr


def test_settings_add_the_replica_alias_only_when_configured() -> None:
    code = "print(sorted(s.DATABASES))\nprint(s.DATABASE_ROUTERS)"
    without = settings_of({}, code)
    with_replica = settings_of({"DATABASE_REPLICA_URL": "sqlite:////tmp/replica.db"}, code)
    assert without.stdout.splitlines() == ["['default']", "['portal.db_router.ReplicaRouter']"]
    assert with_replica.stdout.splitlines()[0] == "['default', 'replica']"


def test_router_is_a_no_op_without_a_replica() -> None:
    router = ReplicaRouter()
    with use_replica():
        assert router.db_for_read(object) is None  # Django's default database
    assert router.db_for_write(object) == "default"


def test_router_reads_from_the_replica_only_inside_use_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    router = ReplicaRouter()
    assert router.db_for_read(object) is None
    with use_replica():
        assert router.db_for_read(object) == "replica"
        with use_replica():
            assert router.db_for_read(object) == "replica"
        assert router.db_for_read(object) == "replica"  # the inner block restored, not cleared
        assert router.db_for_write(object) == "default"  # writes never go to the replica
    assert router.db_for_read(object) is None
    assert router.allow_migrate("replica", "indicators") is False
    assert router.allow_migrate("default", "indicators") is True


def test_the_dashboard_and_exports_read_inside_use_replica(
    client: Any, users: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import views

    seen: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(db_router._reads_from_replica.get())
        raise LookupError("stop here")

    monkeypatch.setattr(views.Plan.objects, "order_by", spy)
    client.force_login(users.bea)
    with pytest.raises(LookupError):
        client.get("/reports/")
    assert seen == [True]
    assert db_router._reads_from_replica.get() is False  # reset after the view
