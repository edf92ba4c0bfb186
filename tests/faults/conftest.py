"""Fixtures of the fault tests: a real redis-server on its own free port, and Celery pointed at it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from portal.celery import app as celery_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throw-away redis-server (no persistence) that a test can stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=2)

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()  # like a crash: no goodbye to the clients
        self.process.wait(timeout=10)
        self.process = None

    def queue_length(self, queue: str = "recompute") -> int:
        """Messages waiting in ``queue`` (recomputes are routed to the "recompute" queue)."""
        return int(self.client().llen(queue))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drop_broker_pools() -> None:
    # The app caches its broker connection pool and producer pool for the first URL it saw; forget them
    # so the next publish connects to the URL set now.
    pool = celery_app._pool
    if pool is not None:
        pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Publish tasks to ``url`` for real (not eagerly) inside the block; tests settings again afterwards."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    _drop_broker_pools()
    conf.broker_url = url
    conf.task_always_eager = False
    try:
        yield
    finally:
        _drop_broker_pools()
        conf.broker_url, conf.task_always_eager = saved


@pytest.fixture
def live_broker(redis_server: RedisServer) -> Iterator[RedisServer]:
    with celery_broker(redis_server.url):
        yield redis_server
