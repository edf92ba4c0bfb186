"""A Celery worker SIGKILLed in the middle of a full recompute: the task runs again, the numbers are the same.

Real processes throughout: a redis-server on its own port, a Celery worker (prefork, one pool process) on a
throw-away PostgreSQL database created and dropped here (the worker cannot see pytest's test database
inside its transaction), a synthetic tree of 2,000 units with a year of approved figures (a full recompute
takes a few seconds, long enough to be killed halfway).

1. The pool process dies (OOM killer, segfault): ``task_reject_on_worker_lost`` puts the message back and
   the worker's next pool process runs it again.
2. The whole worker dies (machine lost): the message was never acknowledged (``task_acks_late``), so after
   the broker's visibility timeout a newly started worker gets it again.

Either way the computed tables end up identical (md5 over every row) to a clean full recompute, which
also proves the recompute is idempotent over a half-written earlier attempt.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg2
import pytest

from indicators import tasks
from tests.faults.conftest import RedisServer, celery_broker

ROOT = Path(__file__).resolve().parents[2]
UNITS = 2000
TASK = "indicators.tasks.recompute_scope_task"

pytestmark = pytest.mark.slow


def _server_url() -> str:
    """The PostgreSQL server to create the throw-away database on: DATABASE_URL's, else the local default."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = os.environ.get("FAULTS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="module")
def worker_database() -> Iterator[str]:
    """A migrated PostgreSQL database with the synthetic data and its reference digest; dropped afterwards."""
    admin_url = _with_database(_server_url(), "postgres")
    try:
        admin = psycopg2.connect(admin_url, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is unavailable ({exc.__class__.__name__}); the worker needs a shared database")
    admin.autocommit = True
    name = f"faults_worker_{os.getpid()}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(_server_url(), name)
    try:
        job(url, "setup", str(UNITS))
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _env(database_url: str, redis_url: str = "", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(DATABASE_URL=database_url, DEBUG="1", DJANGO_SETTINGS_MODULE="portal.settings", **extra)
    if redis_url:
        env.update(REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="0")
    else:
        env.pop("REDIS_URL", None)
    return env


def job(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.worker_job", *args],
        cwd=ROOT,
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"worker_job {args}: {result.stderr[-3000:]}"
    return result.stdout


def digest(database_url: str) -> dict[str, Any]:
    return json.loads(job(database_url, "digest").strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference(worker_database: str) -> dict[str, Any]:
    """The computed tables after a clean full recompute from empty tables."""
    job(worker_database, "clear")
    job(worker_database, "recompute")
    expected = digest(worker_database)
    assert expected["targets_indicatorvalue"][0] > 50_000  # 17 indicators × ~2,000 units × 4 quarters
    return expected


class Worker:
    def __init__(self, database_url: str, redis_url: str, log: Path, name: str, **extra: str) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.worker_job", "worker", name],
            cwd=ROOT,
            env=_env(database_url, redis_url, **extra),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.text()):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker: no {what} within {timeout} s; log:\n{self.text()[-4000:]}")

    def pool_process(self) -> psutil.Process:
        children = psutil.Process(self.process.pid).children()
        assert len(children) == 1, children
        return children[0]

    def kill(self) -> None:
        for child in psutil.Process(self.process.pid).children(recursive=True):
            child.kill()
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def wait_until_inside_the_recompute(database_url: str, pid: int, timeout: float = 60) -> None:
    """Until the pool process has an open transaction on the database (the engine holds its locks)."""
    name = urlsplit(database_url).path.lstrip("/")
    connection = psycopg2.connect(_with_database(database_url, "postgres"))
    connection.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL "
                    "AND client_port IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND application_name = 'workplan-portal'",
                    [name],
                )
                if cursor.fetchone()[0]:
                    return
            time.sleep(0.02)
    finally:
        connection.close()
    raise AssertionError(f"the recompute never started (pool process {pid})")


def enqueue_full_recompute(redis_url: str) -> None:
    # What POST /api/v1/recompute/ queues with a broker: the whole tree, every period.
    with celery_broker(redis_url):
        tasks.recompute_scope_task.delay()


def test_a_killed_pool_process_reruns_the_recompute(
    worker_database: str, reference: dict[str, Any], redis_server: RedisServer, tmp_path: Path
) -> None:
    job(worker_database, "clear")
    worker = Worker(worker_database, redis_server.url, tmp_path / "worker.log", "faults-a")
    try:
        worker.wait_for(lambda log: "ready." in log, "start-up")
        pool = worker.pool_process()
        enqueue_full_recompute(redis_server.url)
        wait_until_inside_the_recompute(worker_database, pool.pid)
        time.sleep(1.0)  # well into the work: some districts may be committed already
        assert count(rf"Task {TASK}\[[^\]]+\] succeeded", worker.text()) == 0, "finished before the kill"
        pool.send_signal(signal.SIGKILL)
        worker.wait_for(lambda log: "WorkerLostError" in log or "SIGKILL" in log, "report of the lost pool process")
        # The message went back to the queue and the new pool process runs it to the end.
        worker.wait_for(lambda log: count(rf"Task {TASK}\[[^\]]+\] succeeded", log) == 1, "rerun", timeout=120)
        assert count(rf"Task {TASK}\[[^\]]+\] received", worker.text()) == 2
    finally:
        worker.stop()
    assert digest(worker_database) == reference


def test_a_killed_worker_is_replaced_and_the_new_one_reruns_the_recompute(
    worker_database: str, reference: dict[str, Any], redis_server: RedisServer, tmp_path: Path
) -> None:
    job(worker_database, "clear")
    visibility = "3"  # seconds before an unacknowledged message is handed out again (an hour in production)
    first = Worker(
        worker_database, redis_server.url, tmp_path / "first.log", "faults-b1", FAULTS_VISIBILITY_TIMEOUT=visibility
    )
    try:
        first.wait_for(lambda log: "ready." in log, "start-up")
        pool = first.pool_process()
        enqueue_full_recompute(redis_server.url)
        wait_until_inside_the_recompute(worker_database, pool.pid)
        time.sleep(1.0)
        assert count(rf"Task {TASK}\[[^\]]+\] succeeded", first.text()) == 0, "finished before the kill"
    finally:
        first.kill()  # SIGKILL to the main process and its pool: nothing acknowledges or requeues
    interrupted = digest(worker_database)
    assert interrupted != reference  # the kill really was halfway
    assert redis_server.client().hlen("unacked") == 1  # the message is held for redelivery, not lost

    second = Worker(
        worker_database, redis_server.url, tmp_path / "second.log", "faults-b2", FAULTS_VISIBILITY_TIMEOUT=visibility
    )
    try:
        second.wait_for(lambda log: count(rf"Task {TASK}\[[^\]]+\] succeeded", log) == 1, "rerun", timeout=120)
    finally:
        second.stop()
    assert digest(worker_database) == reference
    assert redis_server.client().hlen("unacked") == 0
