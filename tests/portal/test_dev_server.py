"""`make run PORT=…` and the development server's log: each line once."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils.log import configure_logging

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(("args", "address"), [([], "127.0.0.1:8000"), (["PORT=8010"], "127.0.0.1:8010")])
def test_make_run_serves_on_the_port_asked_for(args: list[str], address: str) -> None:
    # -n prints the commands without running them (no venv is built, no server started)
    dry_run = subprocess.run(
        ["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert f"manage.py runserver {address}" in dry_run.stdout


def test_the_development_server_logs_each_line_once() -> None:
    # given Django's start-up logging (its defaults, then ours) in debug, as under `manage.py runserver`
    captured = io.StringIO()
    try:
        with override_settings(DEBUG=True), redirect_stderr(captured):
            configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
            # when a request is not found and the server logs the request line
            logging.getLogger("django.request").warning("Not Found: %s", "/favicon.ico")
            logging.getLogger("django.server").info('"%s" %s %s', "GET /favicon.ico HTTP/1.1", 404, 179)
            logging.getLogger("portal.example").info("an application line")
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)  # handlers back on the real stderr
    # then each line is written once
    text = captured.getvalue()
    assert text.count("Not Found: /favicon.ico") == 1
    assert text.count('"GET /favicon.ico HTTP/1.1" 404 179') == 1
    # the request line in the portal's one log format: timestamp, level, logger, request id (portal.logs)
    assert re.search(r'^\S+ INFO django\.server \[-\] "GET /favicon.ico HTTP/1.1" 404 179$', text, re.M)
    assert text.count("an application line") == 1
