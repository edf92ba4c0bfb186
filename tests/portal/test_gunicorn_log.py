"""gunicorn's access log as JSON lines (deploy/gunicorn.conf.py with LOG_FORMAT=json): one valid object a line,
whatever the path holds."""

from __future__ import annotations

import datetime as dt
import json
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from portal.gunicorn_log import JsonAccessLogger

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def access_line(environ: dict[str, str], resp: SimpleNamespace, took: dt.timedelta) -> dict[str, object]:
    config = Config()
    config.set("accesslog", "-")
    logger = JsonAccessLogger(config)
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(message)s"))  # what gunicorn's access handler prints
    logger.access_log.handlers = [capture]
    logger.access(resp, SimpleNamespace(headers=[]), environ, took)
    assert len(capture.lines) == 1
    assert "\n" not in capture.lines[0]
    return json.loads(capture.lines[0])


def test_a_path_with_quotes_backslashes_and_percent_stays_one_json_object() -> None:
    path = '/search?q="a\\b"%s%d&x=</script>'
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": "/search",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": 'Mozilla "5.0"',
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    resp = SimpleNamespace(status="404 Not Found", sent=1234, headers=[("X-Request-ID", "abc-123")])
    event = access_line(environ, resp, dt.timedelta(seconds=1, microseconds=234_500))
    assert event["path"] == path
    assert event["method"] == "GET"
    assert event["status"] == 404
    assert event["duration_ms"] == 1234.5
    assert event["bytes"] == 1234
    assert event["request_id"] == "abc-123"
    assert event["remote_addr"] == "10.0.0.7"
    assert event["user_agent"] == 'Mozilla "5.0"'
    assert dt.datetime.fromisoformat(str(event["time"])).tzinfo is not None


def test_request_id_falls_back_to_the_proxy_header_and_a_forged_one_is_dropped() -> None:
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/a", "REMOTE_ADDR": "1.2.3.4", "HTTP_X_REQUEST_ID": "proxy-1"}
    resp = SimpleNamespace(status="200 OK", sent=0, headers=[])
    assert access_line(environ, resp, dt.timedelta(0))["request_id"] == "proxy-1"
    environ["HTTP_X_REQUEST_ID"] = 'x" "forged'
    assert access_line(environ, resp, dt.timedelta(0))["request_id"] == "-"


@pytest.mark.parametrize(("log_format", "expected"), [("json", "portal.gunicorn_log.JsonAccessLogger"), ("text", None)])
def test_the_config_file_picks_the_json_logger_by_log_format(
    monkeypatch: pytest.MonkeyPatch, log_format: str, expected: str | None
) -> None:
    monkeypatch.setenv("LOG_FORMAT", log_format)
    monkeypatch.setenv("WEB_WORKERS", "5")
    settings = runpy.run_path(str(CONF))
    assert settings.get("logger_class") == expected
    assert settings["workers"] == 5
    assert settings["accesslog"] == "-"
    # gunicorn itself accepts every name the file sets.
    config = Config()
    for name in ("bind", "workers", "timeout", "forwarded_allow_ips", "accesslog", "logger_class"):
        if name in settings:
            config.set(name, settings[name])
    if expected:
        assert config.logger_class is JsonAccessLogger
