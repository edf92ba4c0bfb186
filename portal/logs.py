"""Log records that carry the request id, written one line per event as text or JSON lines (LOG_FORMAT)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished, request_started

# The id of the request (or "-" outside one); set when Django starts a request (connect_signals).
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# An X-Request-ID from the proxy is kept only if it is short and plain, so a log line cannot be forged with it.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(environ: Mapping[str, object]) -> str:
    """The proxy's X-Request-ID when it is short and plain, else a new random id."""
    offered = environ.get("HTTP_X_REQUEST_ID")
    if isinstance(offered, str) and REQUEST_ID_PATTERN.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def _request_started(sender: object, environ: Mapping[str, object] | None = None, **kwargs: object) -> None:
    request_id_var.set(request_id_from(environ or {}))


def _request_finished(sender: object, **kwargs: object) -> None:
    request_id_var.set("-")


def _task_published(headers: dict[str, object] | None = None, **kwargs: object) -> None:
    """A task queued during a request carries the request's id in its message headers."""
    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


def _task_started(task: Any = None, **kwargs: object) -> None:
    """A worker running a task logs with the id of the request that queued it (eager tasks keep the request's)."""
    request = getattr(task, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return
    offered = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    request_id_var.set(offered if isinstance(offered, str) and REQUEST_ID_PATTERN.fullmatch(offered) else "-")


def _task_finished(task: Any = None, **kwargs: object) -> None:
    request = getattr(task, "request", None)
    if request is not None and not getattr(request, "is_eager", False):
        request_id_var.set("-")


def connect_signals() -> None:
    """Set the id when Django starts a request and clear it when the response is closed, so that even
    Django's own "Not Found" / "Internal Server Error" lines (logged after the middleware) carry it; pass
    it on to the Celery tasks the request queues."""
    # Called from PortalConfig.ready: Celery's signals are loaded with the apps, not with the log settings.
    from celery.signals import before_task_publish, task_postrun, task_prerun

    request_started.connect(_request_started, dispatch_uid="portal.logs.request_started")
    request_finished.connect(_request_finished, dispatch_uid="portal.logs.request_finished")
    before_task_publish.connect(_task_published, dispatch_uid="portal.logs.task_published", weak=False)
    task_prerun.connect(_task_started, dispatch_uid="portal.logs.task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="portal.logs.task_finished", weak=False)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` to every record, so every formatter can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``2026-12-03T07:40:00.123+00:00 INFO portal.x [req-id] message`` — newlines escaped: one line per event."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        message = message.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
        request_id = getattr(record, "request_id", "-")
        return f"{_timestamp(record)} {record.levelname} {record.name} [{request_id}] {message}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time, level, logger, request_id, message`` and ``exception`` if any."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str) -> dict[str, object]:
    """The LOGGING setting: one console handler with the request-id filter and the chosen format."""
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"()": "portal.logs.TextFormatter"},
            "json": {"()": "portal.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": formatter},
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own loggers propagate to the root handler above (no duplicate lines from theirs).
        "loggers": {"django": {"handlers": [], "propagate": True}},
    }
