"""Offline install proof: build the wheelhouse of requirements.lock, then install it into a fresh venv with
``pip --no-index`` and no pip configuration, with every proxy pointing at a closed port (no way out), and run the
portal from that venv (``check --deploy`` in production mode, ``migrate`` into a new SQLite file).

Slow (a download and a full install), so a benchmark, not a pytest test:

    .venv/bin/python bench/run_all.py offline_install     # rows in BENCHMARKS.md
    .venv/bin/python bench/bench_offline_install.py       # alone, prints the rows
    OFFLINE_PYTHON=/usr/bin/python3.13 …                  # the fresh venv's interpreter (default: this one's base)
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, every connection is refused


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603  (our own make targets)
    return time.perf_counter() - started


def run() -> list[dict[str, object]]:
    python = os.environ.get("OFFLINE_PYTHON") or getattr(sys, "_base_executable", sys.executable)
    work = Path(tempfile.mkdtemp(prefix="offline-install-"))
    wheelhouse, venv = work / "wheelhouse", work / "venv"
    try:
        download = _timed(["make", "wheelhouse", f"PY={sys.executable}", f"WHEELHOUSE={wheelhouse}"])
        wheels = sorted(wheelhouse.glob("*.whl"))
        size_mb = sum(w.stat().st_size for w in wheels) / 1e6

        offline = {
            **os.environ,
            **dict.fromkeys(("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"), DEAD_PROXY),
        }
        install = _timed(
            ["make", "install-offline", f"PY={python}", f"VENV={venv}", f"WHEELHOUSE={wheelhouse}"], offline
        )
        freeze = subprocess.run(  # noqa: S603
            [str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True, check=True
        ).stdout.split()
        version = subprocess.run(  # noqa: S603
            [str(venv / "bin" / "python"), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()

        production = {
            **offline,
            "DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "portal.example.org",
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "STATIC_ROOT": str(work / "static"),
        }
        manage = [str(venv / "bin" / "python"), "manage.py"]
        check = _timed([*manage, "check", "--deploy", "--fail-level", "WARNING"], production)
        migrate = _timed([*manage, "migrate", "--noinput", "-v0"], production)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    note = f"{len(wheels)} wheels, {size_mb:.1f} MB; fresh venv on {version}; {len(freeze)} packages installed"
    return [
        {"name": "offline install: make wheelhouse (download, needs internet once)", "value": round(download, 1),
         "unit": "s", "note": note},
        {"name": "offline install: make install-offline (pip --no-index, proxies dead)", "value": round(install, 1),
         "unit": "s", "note": "every file checked against requirements.lock's hashes; no pip configuration read"},
        {"name": "offline install: manage.py check --deploy from the offline venv", "value": round(check, 1),
         "unit": "s", "note": "production settings, no warning"},
        {"name": "offline install: manage.py migrate from the offline venv (new SQLite)", "value": round(migrate, 1),
         "unit": "s"},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(row)
