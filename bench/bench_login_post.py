"""Benchmark: what one anonymous POST of a large form field to the log-in page costs the server (issue 16).

Each case runs in a fresh Python process (SQLite in memory, the test settings) and calls Django's WSGI
handler directly with the body in a ``wsgi.input`` stream, as gunicorn does, through the whole
middleware stack. The body is built first, then ``ru_maxrss`` is read before and after the request
(so the process's peak RSS growth is the request's own) and tracemalloc's peak covers the request
alone. The request carries a valid CSRF cookie and token (an attacker fetches the page first).

    .venv/bin/python bench/bench_login_post.py
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "9 MB form field": 9 * 1024 * 1024,
    "2 MB form field (under Django's 2.5 MB cap)": 2 * 1024 * 1024,
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(size: int) -> dict[str, float]:
    """One anonymous POST of ``username=…&password=<size bytes>`` to /accounts/login/, in this process."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings_test"
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment

    from portal import settings as production

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    # The production hashers: a log-in attempt hashes what was posted as the password (Argon2id).
    override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS).enable()
    handler = WSGIHandler()
    statuses: list[str] = []
    cookies: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)
        cookies.extend(value.split(";", 1)[0].strip() for name, value in headers if name.lower() == "set-cookie")

    def call(method: str, body: bytes) -> int:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": "/accounts/login/", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "REMOTE_ADDR": "10.0.0.1",
            "HTTP_COOKIE": "; ".join(cookies),
        }  # fmt: skip
        for _chunk in handler(environ, start_response):
            pass
        return int(statuses[-1].split()[0])

    call("GET", b"")  # warm up (imports, templates, URL resolver) and take the CSRF cookie, as an attacker can
    token = next(c.split("=", 1)[1] for c in cookies if c.startswith("csrftoken="))
    body = f"csrfmiddlewaretoken={token}&username=alice&password=".encode() + b"a" * size
    before = _rss_mib()
    tracemalloc.start()
    started = time.perf_counter()
    status = call("POST", body)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "status": status,
        "ms": elapsed * 1000,
        "traced_peak_mib": peak / 1048576,
        "rss_growth_mib": _rss_mib() - before,
    }


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for label, size in CASES.items():
        result = subprocess.run(
            [sys.executable, __file__, "--case", str(size)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        data = json.loads(result.stdout.strip().splitlines()[-1])
        note = f"HTTP {data['status']}, {data['ms']:.0f} ms, tracemalloc peak {data['traced_peak_mib']:.1f} MiB"
        rows.append({"name": f"anonymous log-in POST, {label}: process peak RSS growth",
                     "value": round(data["rss_growth_mib"], 1), "unit": "MiB", "note": note})  # fmt: skip
        rows.append({"name": f"anonymous log-in POST, {label}: time to answer",
                     "value": round(data["ms"], 1), "unit": "ms", "note": f"HTTP {data['status']}"})  # fmt: skip
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        sys.stdout.write(json.dumps(measure(int(sys.argv[2]))) + "\n")
    else:
        for row in run():
            sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']} ({row.get('note', '')})\n")
