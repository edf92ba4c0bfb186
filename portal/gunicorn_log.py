"""gunicorn's access log as JSON lines (LOG_FORMAT=json; deploy/gunicorn.conf.py selects it).

gunicorn's own ``access_log_format`` is %-substitution into a template: a path or user agent holding a quote or a
backslash would break a JSON template. This logger builds a dict and ``json.dumps`` it, so any request gives one
valid JSON object per line, with the same ``time`` and ``request_id`` keys as the application's JSON log lines.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from gunicorn.glogging import Logger

from portal.logs import REQUEST_ID_PATTERN


def _header(headers: Iterable[tuple[str, str]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key.lower() == name:
            return value
    return None


def access_event(resp: Any, environ: Mapping[str, Any], request_time: dt.timedelta) -> dict[str, object]:
    """The fields of one access line: time, method, path (with the query), status, duration ms, bytes, request id,
    remote address. The request id is the one the portal answered with (X-Request-ID response header, as in its
    own log lines), else the proxy's if plain, else "-"."""
    status = resp.status
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    try:
        status_code: int | str = int(status)
    except (TypeError, ValueError):
        status_code = str(status)
    path = environ.get("RAW_URI") or environ.get("PATH_INFO") or ""
    request_id = _header(getattr(resp, "headers", None), "x-request-id") or environ.get("HTTP_X_REQUEST_ID") or "-"
    if not (isinstance(request_id, str) and REQUEST_ID_PATTERN.fullmatch(request_id)):
        request_id = "-"
    return {
        "time": dt.datetime.now(tz=dt.UTC).isoformat(timespec="milliseconds"),
        "logger": "gunicorn.access",
        "method": environ.get("REQUEST_METHOD", "-"),
        "path": path,
        "status": status_code,
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "bytes": getattr(resp, "sent", None),
        "request_id": request_id,
        "remote_addr": environ.get("REMOTE_ADDR", "-"),
        "user_agent": environ.get("HTTP_USER_AGENT", "-"),
    }


class JsonAccessLogger(Logger):
    """gunicorn's Logger with ``access`` writing one JSON object per request; error lines are unchanged."""

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: dt.timedelta) -> None:
        if not self.access_log_enabled:
            return
        try:
            line = json.dumps(access_event(resp, environ, request_time), ensure_ascii=False, default=str)
            # "%s": the line is data for the format string, never part of it (a "%" in a path stays as it is).
            self.access_log.info("%s", line)
        except Exception:  # noqa: BLE001  (a log line must never fail the request; gunicorn's own rule)
            self.exception("access log line failed")
