"""What /healthz and /metrics read: database, broker, worker heartbeats, recompute backlog, queue depths.

Every check is cheap (one query or one Redis round trip) and answers within a second or two even when a
service is down or frozen: the Redis client here has short socket timeouts of its own.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis.sentinel import Sentinel

from portal import env

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "portal:worker-heartbeat:{queue}"
# Health checks give up on Redis sooner than requests do: a probe must answer even if Redis is frozen.
HEALTH_REDIS_TIMEOUT_SECONDS = 1.0
IN_PROCESS = "in-process"  # no broker: tasks run eagerly inside the web process (development)


@lru_cache(maxsize=4)
def _client(url: str, sentinel_master: str = "") -> redis.Redis:
    if env.is_sentinel_url(url):
        # Redis Sentinel (REDIS_URL=sentinel://…;sentinel://…): ask the Sentinels for the current master, as
        # Celery does, so the heartbeats and queue lengths follow a fail-over.
        timeouts = {
            "socket_timeout": HEALTH_REDIS_TIMEOUT_SECONDS,
            "socket_connect_timeout": HEALTH_REDIS_TIMEOUT_SECONDS,
        }
        sentinel = Sentinel(env.parse_sentinel_url(url), sentinel_kwargs=timeouts, **timeouts)
        return sentinel.master_for(sentinel_master, health_check_interval=0, **env.sentinel_master_options(url))
    return redis.Redis.from_url(
        url,
        socket_timeout=HEALTH_REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=HEALTH_REDIS_TIMEOUT_SECONDS,
        health_check_interval=0,
    )


def redis_client() -> redis.Redis | None:
    """A client of the broker's Redis, or None when the portal runs without a broker."""
    url = settings.REDIS_URL
    return _client(url, settings.REDIS_SENTINEL_MASTER) if url else None


def record_heartbeat(queue: str, now: float | None = None) -> None:
    """Called by the worker that took ``queue``'s heartbeat task: remember when."""
    client = redis_client()
    if client is None:
        return
    ttl = int(settings.WORKER_HEARTBEAT_MAX_AGE * 2)
    client.set(HEARTBEAT_KEY.format(queue=queue), f"{now if now is not None else time.time():.3f}", ex=ttl)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "down"; the detail goes to the log, not to the probe
        logger.warning("health: database check failed", exc_info=True)
        return "down"
    return "ok"


def check_broker() -> str:
    client = redis_client()
    if client is None:
        return IN_PROCESS
    try:
        client.ping()
    except (redis.RedisError, OSError):
        logger.warning("health: broker check failed", exc_info=True)
        return "down"
    return "ok"


def check_workers(now: float | None = None) -> str:
    """``ok`` when every queue's worker answered a heartbeat within WORKER_HEARTBEAT_MAX_AGE, else ``stale``."""
    client = redis_client()
    if client is None:
        return IN_PROCESS
    now = time.time() if now is None else now
    keys = [HEARTBEAT_KEY.format(queue=queue) for queue in settings.CELERY_QUEUE_NAMES]
    try:
        beats = client.mget(keys)
    except (redis.RedisError, OSError):
        return "unknown"
    for beat in beats:
        if beat is None:
            return "stale"
        try:
            age = now - float(beat)
        except (TypeError, ValueError):
            return "stale"
        if age > settings.WORKER_HEARTBEAT_MAX_AGE:
            return "stale"
    return "ok"


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_age_seconds: int | None


# What the apps above portal report here (portal imports none of them): each registers its reader in its
# AppConfig.ready — the indicator engine its recompute backlog, submissions its counts by status.
BacklogReader = Callable[[], tuple[int, datetime.datetime | None]]
StatusCounter = Callable[[], dict[str, int]]
_backlog_reader: BacklogReader | None = None
_status_counter: StatusCounter | None = None


def provide_recompute_backlog(reader: BacklogReader) -> None:
    """Register the reader of (open recompute requests, time of the oldest)."""
    global _backlog_reader
    _backlog_reader = reader


def provide_submission_counts(counter: StatusCounter) -> None:
    """Register the counter of submissions by status (every status, zero included)."""
    global _status_counter
    _status_counter = counter


def recompute_backlog() -> Backlog | None:
    """Open recompute requests and the age of the oldest; None if the database cannot say."""
    if _backlog_reader is None:
        return Backlog(count=0, oldest_age_seconds=None)
    try:
        count, oldest = _backlog_reader()
    except Exception:  # noqa: BLE001  (the database check reports the reason)
        return None
    age = None if oldest is None else max(0, int((timezone.now() - oldest).total_seconds()))
    return Backlog(count=count, oldest_age_seconds=age)


def health_report() -> tuple[bool, dict[str, object]]:
    """The /healthz body (API.md) and whether everything is healthy."""
    database = check_database()
    broker = check_broker()
    workers = check_workers() if broker != "down" else "unknown"
    backlog = recompute_backlog() if database == "ok" else None
    healthy = (
        database == "ok"
        and broker in {"ok", IN_PROCESS}
        and workers in {"ok", IN_PROCESS}
        and backlog is not None
        and (backlog.oldest_age_seconds or 0) <= settings.HEALTH_RECOMPUTE_MAX_AGE
    )
    body: dict[str, object] = {
        "status": "ok" if healthy else "fail",
        "database": database,
        "broker": broker,
        "workers": workers,
        "recompute_backlog": None if backlog is None else backlog.count,
        "oldest_pending_recompute_seconds": None if backlog is None else backlog.oldest_age_seconds,
    }
    return healthy, body


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis LLEN); empty without a broker or when it is down."""
    client = redis_client()
    if client is None:
        return {}
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in settings.CELERY_QUEUE_NAMES:
                pipe.llen(queue)
            lengths = pipe.execute()
    except (redis.RedisError, OSError):
        return {}
    return dict(zip(settings.CELERY_QUEUE_NAMES, (int(n) for n in lengths), strict=True))


def submissions_by_status() -> dict[str, int]:
    """Every status, zero included, so a series never disappears from /metrics."""
    return _status_counter() if _status_counter is not None else {}
