"""/healthz, /metrics, request ids and log lines, and the Celery set-up (queues, schedule, broker timeouts)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, current_app
from celery.schedules import crontab
from django.conf import settings
from django.test import Client
from django.utils import timezone

from indicators.models import PendingRecompute
from portal import health, metrics
from portal.celery import app as portal_app
from portal.logs import JsonFormatter, RequestIdFilter, TextFormatter, request_id_var
from portal.tasks import worker_heartbeat_task
from submissions.models import Period, Submission, SubmissionStatus
from tests.conftest import Personas, Tree
from tests.frozen_server import frozen_tcp_server

HEALTH_KEYS = {
    "status",
    "database",
    "broker",
    "workers",
    "recompute_backlog",
    "oldest_pending_recompute_seconds",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def frozen_broker() -> Iterator[int]:
    """A hung Redis: accepts connections, never answers."""
    with frozen_tcp_server() as port:
        yield port


class FakeRedis:
    """The few Redis calls the health checks make, answered from a dict."""

    def __init__(self, values: dict[str, str] | None = None, lengths: dict[str, int] | None = None) -> None:
        self.values = values or {}
        self.lengths = lengths or {}

    def ping(self) -> bool:
        return True

    def mget(self, keys: list[str]) -> list[str | None]:
        return [self.values.get(key) for key in keys]

    def set(self, key: str, value: str, ex: int | None = None) -> None:
        self.values[key] = value

    def pipeline(self, transaction: bool = False) -> FakePipeline:
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis = redis
        self.queued: list[str] = []

    def __enter__(self) -> FakePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def llen(self, key: str) -> None:
        self.queued.append(key)

    def execute(self) -> list[int]:
        return [self.redis.lengths.get(key, 0) for key in self.queued]


def _beating(now: float) -> FakeRedis:
    return FakeRedis({health.HEARTBEAT_KEY.format(queue=q): f"{now - 5}" for q in settings.CELERY_QUEUE_NAMES})


def _period() -> Period:
    day = dt.date(2023, 3, 31)
    return Period.objects.create(code="2023Q1", year=2023, quarter=1, opens_on=day, due_on=day, locks_on=day)


# --- /healthz ---


@pytest.mark.django_db
def test_healthz_without_a_broker_is_healthy_and_says_tasks_run_in_process(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body == {
        "status": "ok",
        "database": "ok",
        "broker": "in-process",
        "workers": "in-process",
        "recompute_backlog": 0,
        "oldest_pending_recompute_seconds": None,
    }


@pytest.mark.django_db
def test_healthz_with_broker_and_fresh_heartbeats_is_200(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = "redis://broker.invalid:6379/0"
    monkeypatch.setattr(health, "redis_client", lambda: _beating(time.time()))
    body = client.get("/healthz").json()
    assert (body["status"], body["broker"], body["workers"]) == ("ok", "ok", "ok")


@pytest.mark.django_db
def test_healthz_database_ok_broker_down_is_503_json_without_detail(client: Client, settings: Any) -> None:
    settings.REDIS_URL = f"redis://:s3cret-pw@127.0.0.1:{_closed_port()}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert (body["status"], body["database"], body["broker"], body["workers"]) == ("fail", "ok", "down", "unknown")
    # No host, port, password, exception text or version reaches an anonymous caller.
    text = response.content.decode()
    for secret in ("127.0.0.1", "s3cret", "Error", "redis"):
        assert secret not in text


@pytest.mark.django_db
def test_healthz_answers_within_seconds_when_the_broker_is_frozen(
    client: Client, settings: Any, frozen_broker: int
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{frozen_broker}/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


@pytest.mark.django_db
def test_healthz_stale_worker_heartbeat_is_503(client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.REDIS_URL = "redis://broker.invalid:6379/0"
    now = time.time()
    fake = _beating(now)
    fake.values[health.HEARTBEAT_KEY.format(queue="exports")] = f"{now - settings.WORKER_HEARTBEAT_MAX_AGE - 1}"
    monkeypatch.setattr(health, "redis_client", lambda: fake)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["workers"] == "stale"
    # The heartbeat task refreshes it.
    monkeypatch.setattr(time, "time", lambda: now)
    worker_heartbeat_task.delay("exports")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_reports_backlog_and_an_old_backlog_is_503(client: Client, settings: Any, tree: Tree) -> None:
    settings.REDIS_URL = ""
    period = _period()
    PendingRecompute.objects.create(org_unit=tree.s1, period=period)
    done = PendingRecompute.objects.create(org_unit=tree.s2, period=period)
    PendingRecompute.objects.filter(pk=done.pk).update(done_at=timezone.now())
    body = client.get("/healthz").json()
    assert body["recompute_backlog"] == 1
    assert 0 <= body["oldest_pending_recompute_seconds"] < 60
    old = timezone.now() - dt.timedelta(seconds=settings.HEALTH_RECOMPUTE_MAX_AGE + 120)
    PendingRecompute.objects.filter(done_at__isnull=True).update(requested_at=old)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["oldest_pending_recompute_seconds"] >= settings.HEALTH_RECOMPUTE_MAX_AGE + 120


@pytest.mark.django_db
def test_healthz_needs_no_log_in_any_host_or_https(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.org"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.post("/healthz").status_code == 405


# --- /metrics ---


@pytest.mark.django_db
def test_metrics_refuses_anonymous_and_scoped_users_without_leaking(
    client: Client, settings: Any, users: Personas
) -> None:
    settings.METRICS_TOKEN = "t0ken-for-prometheus"
    for user in (None, users.alice, users.rita, users.ivan):
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get("/metrics")
        assert response.status_code == 403
        assert b"portal_" not in response.content
    client.logout()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic dDB rZW4=").status_code == 403


@pytest.mark.django_db
def test_metrics_without_a_token_setting_refuses_an_empty_bearer(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_exposes_latency_queues_backlog_and_submissions(
    client: Client, settings: Any, users: Personas, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.METRICS_TOKEN = "t0ken-for-prometheus"
    settings.REDIS_URL = "redis://broker.invalid:6379/0"
    monkeypatch.setattr(health, "redis_client", lambda: FakeRedis(lengths={"recompute": 3, "exports": 12}))
    period = _period()
    PendingRecompute.objects.create(org_unit=tree.s1, period=period)
    Submission.objects.create(org_unit=tree.s1, period=period, status=SubmissionStatus.APPROVED)
    Submission.objects.create(org_unit=tree.s2, period=period, status=SubmissionStatus.SUBMITTED)
    Submission.objects.create(org_unit=tree.s3, period=period, status=SubmissionStatus.SUBMITTED)
    client.get("/healthz")  # at least one observed request before the scrape

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken-for-prometheus")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    text = response.content.decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert int(samples['portal_http_request_duration_seconds_bucket{le="+Inf"}']) >= 1
    assert (
        samples['portal_http_request_duration_seconds_bucket{le="+Inf"}']
        == samples["portal_http_request_duration_seconds_count"]
    )
    assert samples['portal_celery_queue_length{queue="recompute"}'] == "3"
    assert samples['portal_celery_queue_length{queue="exports"}'] == "12"
    assert samples['portal_celery_queue_length{queue="notifications"}'] == "0"
    assert samples["portal_recompute_backlog"] == "1"
    assert samples['portal_submissions{status="submitted"}'] == "2"
    assert samples['portal_submissions{status="approved"}'] == "1"
    assert samples['portal_submissions{status="draft"}'] == "0"
    assert "# TYPE portal_http_request_duration_seconds histogram" in text

    # A bureau-wide administrator's session may read it too; a district's administrator may not.
    client.force_login(users.bea)
    assert client.get("/metrics").status_code == 200


def test_latency_histogram_sums_the_files_of_every_worker_process(tmp_path: Any, settings: Any) -> None:
    settings.METRICS_DIR = str(tmp_path)
    other = tmp_path / "latency-999999.json"
    other.write_text(json.dumps({"counts": [1] + [0] * len(metrics.BUCKETS), "sum": 0.01}))
    (tmp_path / "latency-1.json").write_text("{not json")  # a damaged file is skipped, not fatal
    histogram = metrics.LatencyHistogram()
    histogram.observe(0.3)
    histogram.observe(100.0)
    combined: dict[str, Any] = histogram.combined()
    assert sum(combined["counts"]) == 3
    assert (combined["counts"][0], combined["counts"][-1]) == (1, 1)
    assert combined["sum"] == pytest.approx(100.31)


def test_an_unwritable_metrics_dir_never_breaks_a_request(tmp_path: Any, settings: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings.METRICS_DIR = str(blocker / "metrics")  # a folder below a file cannot be created
    histogram = metrics.LatencyHistogram()
    histogram.observe(0.2)
    combined: dict[str, Any] = histogram.combined()
    assert sum(combined["counts"]) == 1


# --- request id and log lines ---


@pytest.mark.django_db
def test_request_id_is_honoured_or_made_and_returned(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123.x")["X-Request-ID"] == "abc-123.x"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nline injected")["X-Request-ID"]
    assert len(made) == 32
    assert made.isalnum()
    assert client.get("/accounts/login/")["X-Request-ID"]


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_id(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-42")
    # Django logs the 404 after the middleware returned: the id is still the request's.
    assert [getattr(r, "request_id", None) for r in caplog.records if r.name == "django.request"] == ["trace-42"]
    assert request_id_var.get() == "-"  # reset after the request


def _record(message: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    record = logging.LogRecord("portal.test", logging.ERROR, __file__, 1, message, (), exc_info)
    record.request_id = "rid-7"
    return record


def test_text_format_is_one_line_with_time_level_logger_and_request_id() -> None:
    line = TextFormatter().format(_record("first\nsecond", exc=True))
    assert "\n" not in line
    stamp, level, logger_name, request_id, rest = line.split(" ", 4)
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    assert (level, logger_name, request_id) == ("ERROR", "portal.test", "[rid-7]")
    assert rest.startswith("first\\nsecond\\nTraceback")


def test_json_format_is_one_json_object_per_line() -> None:
    line = JsonFormatter().format(_record("值 = 1", exc=True))
    assert "\n" not in line
    event = json.loads(line)
    assert {k: event[k] for k in ("level", "logger", "request_id", "message")} == {
        "level": "ERROR",
        "logger": "portal.test",
        "request_id": "rid-7",
        "message": "值 = 1",
    }
    assert "ValueError: boom" in event["exception"]
    assert dt.datetime.fromisoformat(event["time"]).tzinfo is not None


def test_log_format_setting_picks_the_formatter() -> None:
    from portal.logs import logging_config

    as_json: Any = logging_config("json", "INFO")
    as_text: Any = logging_config("text", "INFO")
    assert as_json["handlers"]["console"]["formatter"] == "json"
    assert as_text["handlers"]["console"]["formatter"] == "text"


# --- Celery: schedule, queues, broker timeouts ---


def test_nightly_recompute_runs_at_a_fixed_local_hour() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["nightly-full-recompute"]["schedule"]
    assert isinstance(schedule, crontab)
    assert (schedule.hour, schedule.minute) == ({settings.NIGHTLY_RECOMPUTE_HOUR}, {0})
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
    # Whenever beat started (here 15:37 local), the next run is the next 02:00 local, not start + 24 h.
    tz = dt.timezone(dt.timedelta(hours=8))
    started = dt.datetime(2026, 3, 10, 15, 37, tzinfo=tz)
    crontab_local = crontab(minute=0, hour=settings.NIGHTLY_RECOMPUTE_HOUR, nowfun=lambda: started)
    due, wait = crontab_local.is_due(started)
    assert not due
    assert started + dt.timedelta(seconds=wait) == dt.datetime(2026, 3, 11, 2, 0, tzinfo=tz)


def test_every_project_task_routes_to_one_of_the_three_queues() -> None:
    portal_app.loader.import_default_modules()
    ours = [
        name for name in portal_app.tasks if name.split(".")[0] in {"portal", "indicators", "reports", "submissions"}
    ]
    assert ours
    queues = {name: portal_app.amqp.router.route({}, name)["queue"].name for name in ours}
    assert set(queues.values()) <= set(settings.CELERY_QUEUE_NAMES)
    assert queues["indicators.tasks.sweep_pending_recomputes_task"] == "recompute"
    assert queues["reports.tasks.export_plan_workbook_task"] == "exports"
    assert queues["submissions.tasks.send_reminders_task"] == "notifications"
    # A worker started without -Q serves every queue.
    assert set(portal_app.amqp.queues) == set(settings.CELERY_QUEUE_NAMES)


def test_each_queue_gets_its_own_heartbeat() -> None:
    schedule: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE
    beats = {e["options"]["queue"] for k, e in schedule.items() if k.startswith("worker-heart")}
    assert beats == set(settings.CELERY_QUEUE_NAMES)


def test_tests_still_run_tasks_eagerly() -> None:
    assert portal_app.conf.task_always_eager is True


def test_publishing_to_a_frozen_broker_gives_up_within_seconds(frozen_broker: int) -> None:
    """Before the socket timeouts a publish to a hung Redis waited forever (and a request with it)."""
    # Not the current app: shared tasks used by later tests must keep publishing through the portal's app.
    app = Celery("frozen", broker=f"redis://127.0.0.1:{frozen_broker}/0", set_as_current=False)
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    app.conf.broker_connection_timeout = settings.CELERY_BROKER_CONNECTION_TIMEOUT
    app.conf.task_publish_retry = settings.CELERY_TASK_PUBLISH_RETRY
    outcome: list[BaseException | None] = []

    def publish() -> None:
        try:
            app.send_task("indicators.tasks.sweep_pending_recomputes_task")
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=publish, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "publishing hung on a frozen broker"
    assert time.monotonic() - started < 4 * settings.BROKER_TIMEOUT_SECONDS
    assert len(outcome) == 1
    assert isinstance(outcome[0], Exception)
    assert current_app.main == portal_app.main


def test_a_task_queued_in_a_request_logs_with_that_request_id() -> None:
    """The publish signal puts the id in the message headers; the worker's prerun signal reads it back."""
    from types import SimpleNamespace

    from celery.signals import before_task_publish, task_postrun, task_prerun

    headers: dict[str, object] = {}
    token = request_id_var.set("req-in-web")
    try:
        before_task_publish.send(sender="indicators.tasks.x", headers=headers, body=None)
    finally:
        request_id_var.reset(token)
    assert headers["request_id"] == "req-in-web"

    class FakeTask:  # signal senders must be hashable
        def __init__(self, request: SimpleNamespace) -> None:
            self.request = request

    in_worker = FakeTask(SimpleNamespace(is_eager=False, request_id=None, headers=headers))
    task_prerun.send(sender=in_worker, task_id="t1", task=in_worker, args=(), kwargs={})
    assert request_id_var.get() == "req-in-web"
    task_postrun.send(sender=in_worker, task_id="t1", task=in_worker, args=(), kwargs={}, retval=None, state=None)
    assert request_id_var.get() == "-"

    forged = FakeTask(SimpleNamespace(is_eager=False, request_id="x\ny", headers=None))
    task_prerun.send(sender=forged, task_id="t2", task=forged, args=(), kwargs={})
    assert request_id_var.get() == "-"
