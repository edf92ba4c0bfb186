"""The container set-up, tested without Docker: compose.yaml names scripts in deploy/ that exist, and those scripts
really migrate, collect static files, serve (gunicorn on loopback), run a worker and beat. The documented backup
(manage.py dumpdata) restores into an empty database with every value."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from indicators.models import IndicatorValue
from submissions import workflow
from submissions.models import Submission, SubmissionStatus
from tests.conftest import Personas, Tree
from tests.faults.world import build_world

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_SERVICES = {
    "migrate": "migrate",
    "collectstatic": "collectstatic",
    "web": "web",
    "worker": "worker",
    "beat": "beat",
}
# The documented backup of the database on SQLite (README.md, "Backup and restore").
DUMP_ARGS = ["--natural-foreign", "--natural-primary", "-e", "contenttypes", "-e", "auth.permission", "-e", "sessions"]

pytestmark = pytest.mark.slow


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    """Production settings on loopback: SQLite file, a broker port nobody listens on, static files in tmp."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "REDIS", "DATABASE"))}
    return {
        **base,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": "deploy-test-" + "k" * 50,
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "METRICS_DIR": str(tmp / "metrics"),
        "BEHIND_TLS_PROXY": "1",
        **extra,
    }


def _run(script: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own scripts, no shell)
        [str(DEPLOY / script)], cwd="/", env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database and collected static files, made by the deploy scripts themselves."""
    tmp = tmp_path_factory.mktemp("site")
    env = _env(tmp)
    migrated = _run("migrate", env)
    assert migrated.returncode == 0, migrated.stderr
    collected = _run("collectstatic", env)
    assert collected.returncode == 0, collected.stderr
    return tmp


class Service:
    """A deploy script started in its own process group; stopped (group and all) at the end."""

    def __init__(self, script: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            [str(DEPLOY / script)],
            cwd="/",
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output()):
                return
            assert self.process.poll() is None, f"exited early:\n{self.output()[-3000:]}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.handle.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


# --- compose.yaml, Dockerfile and nginx.conf ---


def test_compose_runs_every_service_from_an_existing_deploy_script() -> None:
    services = _compose()["services"]
    assert {"web", "worker", "beat", "db", "redis", "nginx", "migrate", "collectstatic"} <= set(services)
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert command == [f"deploy/{name}"], name
        path = ROOT / command[0]
        assert path.is_file(), path
        assert os.access(path, os.X_OK), f"{path} is not executable"
        assert path.read_text().startswith("#!/bin/sh\n"), "scripts run in the slim image: POSIX sh only"
    # web, worker and beat wait for the schema; web also for the static files.
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["web"]["depends_on"]["collectstatic"] == {"condition": "service_completed_successfully"}
    # Every app service shares the media volume, and web/worker/beat see the same database and broker. Paths
    # of .env (written for a plain server) are replaced by the container's own.
    for name in APP_SERVICES:
        assert "media:/srv/portal/media" in services[name]["volumes"]
        assert "static:/srv/portal/static" in services[name]["volumes"]
        assert services[name]["env_file"] == ".env"
        paths = {key: services[name]["environment"][key] for key in ("STATIC_ROOT", "MEDIA_ROOT", "METRICS_DIR")}
        assert paths == {
            "STATIC_ROOT": "/srv/portal/static",
            "MEDIA_ROOT": "/srv/portal/media",
            "METRICS_DIR": "/tmp/portal-metrics",
        }
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert "@db:5432/portal" in services[name]["environment"]["DATABASE_URL"]


def test_nginx_serves_static_and_only_internal_protected_media() -> None:
    services = _compose()["services"]
    mounts = services["nginx"]["volumes"]
    conf_mount = next(m for m in mounts if m.endswith("/etc/nginx/conf.d/default.conf:ro"))
    conf = (ROOT / conf_mount.split(":")[0]).read_text()
    assert "static:/srv/portal/static:ro" in mounts
    assert "media:/srv/portal/media:ro" in mounts
    assert re.search(r"location /static/ \{\s*alias /srv/portal/static/;", conf)
    protected = re.search(r"location /protected-media/ \{(.*?)\}", conf, re.S)
    assert protected is not None
    assert re.search(r"^\s*internal;", protected.group(1), re.M)
    assert "alias /srv/portal/media/;" in protected.group(1)
    assert re.search(r"location /media/ \{\s*return 404;", conf)
    assert "proxy_set_header X-Request-ID $request_id;" in conf


def test_dockerfile_is_slim_non_root_and_installs_the_locked_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.splitlines()[1] == "FROM python:3.11-slim" or "FROM python:3.11-slim\n" in dockerfile
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.lock" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    assert 'CMD ["deploy/web"]' in dockerfile


# --- the scripts, run for real on loopback ---


def test_migrate_and_collectstatic_scripts_build_a_site(site: Path) -> None:
    import sqlite3

    with sqlite3.connect(site / "db.sqlite3") as db:
        applied = {app for (app,) in db.execute("SELECT DISTINCT app FROM django_migrations")}
    assert {"schools", "submissions", "targets", "plans", "reports"} <= applied
    assert (site / "static" / "staticfiles.json").is_file()  # hashed names, as production serves them


def test_web_script_serves_production_on_loopback(site: Path, services: list[Service]) -> None:
    port = _free_port()
    env = _env(site, BIND=f"127.0.0.1:{port}", WEB_WORKERS="2")
    web = Service("web", env, site / "web.log")
    services.append(web)
    web.wait_for(r"Booting worker")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)  # noqa: S310  (loopback)
            raise AssertionError("healthz said healthy although the broker is down")
        except urllib.error.HTTPError as exc:
            status, body, headers = exc.code, json.loads(exc.read()), exc.headers
            break
        except urllib.error.URLError:
            assert time.monotonic() < deadline, web.output()[-3000:]
            time.sleep(0.3)
    # Production mode, any Host, plain HTTP: the probe still answers, and says what is wrong.
    assert status == 503
    assert (body["database"], body["broker"]) == ("ok", "down")
    assert headers["X-Request-ID"]
    # A real page through the same server: production settings, hashed static files, HTTPS behind the proxy.
    request = urllib.request.Request(
        f"{base}/accounts/login/", headers={"Host": "portal.example.org", "X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        assert response.status == 200
    assert re.search(r"/static/css/[\w.-]+\.[0-9a-f]{12}\.css", page)
    # A request that is not https is redirected, /healthz never is.
    plain = urllib.request.Request(f"{base}/accounts/login/", headers={"Host": "portal.example.org"})
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(plain, timeout=10)
    assert redirected.value.code == 301
    # Every request of the run was logged on one line each, with its id.
    web.stop()
    assert re.search(r"WARNING portal\.middleware \[[0-9a-f]{32}\] health check failed: database=ok", web.output())


def test_web_script_writes_json_access_lines_with_log_format_json(site: Path, services: list[Service]) -> None:
    port = _free_port()
    env = _env(site, BIND=f"127.0.0.1:{port}", WEB_WORKERS="1", LOG_FORMAT="json")
    web = Service("web", env, site / "web.log")
    services.append(web)
    web.wait_for(r"Booting worker")
    path = '/healthz?q=%22a%5Cb%22&raw="x\\y"'
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)  # noqa: S310  (loopback)
        except urllib.error.HTTPError:
            break  # 503: the broker is down; the request was served and logged
        except urllib.error.URLError:
            assert time.monotonic() < deadline, web.output()[-3000:]
            time.sleep(0.3)
    web.stop()
    access = [json.loads(line) for line in web.output().splitlines() if '"logger": "gunicorn.access"' in line]
    assert access, web.output()[-3000:]
    assert access[-1]["path"] == path
    assert (access[-1]["method"], access[-1]["status"]) == ("GET", 503)
    assert re.fullmatch(r"[0-9a-f]{32}", access[-1]["request_id"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_worker_script_starts_a_worker_on_all_three_queues(site: Path, services: list[Service]) -> None:
    env = _env(site, DEBUG="1", REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="0", WORKER_CONCURRENCY="1")
    worker = Service("worker", env, site / "worker.log")
    services.append(worker)
    worker.wait_for(r"ready\.", timeout=90)
    banner = worker.output()
    for queue in ("recompute", "exports", "notifications"):
        assert re.search(rf"\.> {queue}\s+exchange={queue}", banner), banner[-2000:]


def test_worker_script_serves_one_queue_when_told(site: Path, services: list[Service]) -> None:
    env = _env(site, DEBUG="1", REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="0", CELERY_QUEUES="exports")
    worker = Service("worker", env, site / "worker-exports.log")
    services.append(worker)
    worker.wait_for(r"ready\.", timeout=90)
    banner = worker.output()
    assert re.search(r"\.> exports\s+exchange=exports", banner)
    assert not re.search(r"\.> recompute\s+exchange=recompute", banner)


def test_beat_script_starts_beat_with_the_nightly_schedule(site: Path, services: list[Service]) -> None:
    env = _env(
        site, DEBUG="1", REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="0", CELERY_BEAT_SCHEDULE_FILE=str(site / "beat")
    )
    beat = Service("beat", env, site / "beat.log")
    services.append(beat)
    beat.wait_for(r"beat: Starting", timeout=60)
    beat.wait_for(r"Scheduler: Sending due task worker-heartbeat-", timeout=60)


# --- backup and restore ---


@pytest.mark.django_db
def _same_instants(rows: list[dict]) -> list[dict]:
    """Django dumps a time to the millisecond: a time whose microseconds were under 1000 is dumped as "…37.000Z"
    and, read back as a whole second, dumped again as "…37Z" — the same instant. Compare instants, not spellings."""
    text = json.dumps(rows, sort_keys=True)
    return json.loads(re.sub(r'(T\d\d:\d\d:\d\d)\.000(Z|[+-]\d\d:\d\d)"', r'\1\2"', text))


def test_backup_restores_into_an_empty_database_with_every_value(
    tree: Tree, users: Personas, site: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """SQLite stands in for PostgreSQL here (tests never touch a PostgreSQL database): the same dumpdata /
    loaddata round trip as README.md documents, into a database that only has the schema."""
    world = build_world(tree)
    submission = Submission.objects.create(org_unit=tree.s1, period=world.period)
    workflow.save_values(
        submission, users.alice, {"pri_new_entrants": "120", "pri_enrolled": "800"}, version=submission.version
    )
    submission.refresh_from_db()
    workflow.submit(submission, users.alice)
    submission.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):  # the recompute runs after commit
        workflow.approve(submission, users.rita)
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.APPROVED
    assert IndicatorValue.objects.filter(indicator=world.total, org_unit=tree.city).get().value == Decimal(120)

    backup = tmp_path / "backup.json"
    call_command("dumpdata", *DUMP_ARGS, "-o", str(backup), verbosity=0)
    original = _same_instants(json.loads(backup.read_text()))
    models = {row["model"] for row in original}
    assert {"submissions.value", "submissions.submissionhistory", "indicators.indicatorvalue", "auth.user"} <= models

    empty = tmp_path / "restored.sqlite3"
    shutil.copy(site / "db.sqlite3", empty)  # schema only: what deploy/migrate made
    env = _env(tmp_path, DEBUG="1", DATABASE_URL=f"sqlite:///{empty}")
    manage = [sys.executable, str(ROOT / "manage.py")]
    loaded = subprocess.run([*manage, "loaddata", str(backup)], env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert loaded.returncode == 0, loaded.stderr
    again = tmp_path / "again.json"
    dumped = subprocess.run(  # noqa: S603
        [*manage, "dumpdata", *DUMP_ARGS, "-o", str(again)], env=env, capture_output=True, text=True, timeout=300
    )
    assert dumped.returncode == 0, dumped.stderr
    assert _same_instants(json.loads(again.read_text())) == original
