"""Benchmark: an export and a recompute requested with the broker down, then served once it is back (issue 16).

Real processes: a throw-away ``redis-server`` on a free loopback port (no persistence, so killing it loses every
queued message, as a crash does), the PostgreSQL database ``bench_broker_outage_<units>`` (created if missing)
with the synthetic tree of ``generate_dataset --units 300 --seed 1``, a year of approved figures
(``bench/dataset.py``) and bench_progress's 2023 plan (one target per indicator), and — once Redis is back — a
real Celery worker (``celery -A portal worker -c 2 -Q recompute,exports,notifications``, as in the Procfile).

1. Redis up; everything computed once; 2023Q1's indicator values deleted (so the recompute has rows to write).
2. Redis killed. Through the real API (Django's test client in this process, publishing to the dead Redis):
   ``POST /api/v1/recompute/ {"period": "2023Q1"}`` and ``GET /api/v1/plans/…/export.xlsx?period=2023Q4`` with
   EXPORT_ASYNC_THRESHOLD_ROWS lowered to 50 so the workbook is a background job. Each answer's time and status.
3. The outage lasts BENCH_OUTAGE_SECONDS (65 s): the sweeps only pick up jobs older than a minute (their message
   had time to arrive first), so a shorter outage would measure the grace period, not the recovery.
4. Redis started again on the same port, then the worker. The two sweep tasks are published once the worker is
   ready, which is what beat does at its next tick (every 60 s in production; here at once, so add up to a minute
   for beat's phase). Measured from "Redis answers PING" to the recompute job ``done`` and to the export job
   ``done`` with its file in storage; both checked through the API afterwards (job lookup, download).

    .venv/bin/python bench/bench_broker_outage.py          # ~2 min (the outage itself is 65 s)
    BENCH_OUTAGE_WORKER=stays .venv/bin/python bench/bench_broker_outage.py   # the worker runs through the outage
    .venv/bin/python bench/run_all.py broker_outage        # the same, rows into bench/results.json

(run_all also rewrites BENCHMARKS.md from results.json alone, which drops its hand-written sections.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UNITS = int(os.environ.get("BENCH_OUTAGE_UNITS", "300"))
DB_NAME = f"bench_broker_outage_{UNITS}"
OUTAGE_SECONDS = float(os.environ.get("BENCH_OUTAGE_SECONDS", "65"))
# "restart": the worker starts once the broker is back (the brief's case, the default); "stays": it runs through the
# outage and reconnects by itself (celery's consumer retries after 2, 4, 6, … s).
WORKER_MODE = os.environ.get("BENCH_OUTAGE_WORKER", "restart")
EXPORT_THRESHOLD = 50  # rows: above it the workbook is a background job (production default 5,000)
RECOMPUTE_PERIOD = "2023Q1"
EXPORT_PERIOD = "2023Q4"
USERNAME = "bench_outage_admin"


class Worker:
    """``celery -A portal worker`` as the Procfile runs it, logging to a file."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-l", "info", "-c", "2",
             "-Q", "recompute,exports,notifications", "-n", "bench-outage@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env={**os.environ},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60, text: str = " ready.", times: int = 1) -> float:
        """Until ``text`` appears ``times`` times in the log (" ready.": started; "Connected to": (re)connected)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count(text) >= times:
                return time.monotonic()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"worker not ready; log:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _setup(redis_url: str, media: Path) -> None:
    """Environment first (settings read it at setup), then the database, data, plan and computed values."""
    os.environ.update(
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        EXPORT_ASYNC_THRESHOLD_ROWS=str(EXPORT_THRESHOLD),
        MEDIA_ROOT=str(media),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    from benchdb import setup_django

    setup_django("broker_outage", DB_NAME, units=UNITS)
    import dataset
    from bench_progress import _plan
    from django.contrib.auth import get_user_model

    from indicators import engine
    from indicators.models import PendingRecompute, RecomputeJob
    from reports.models import ExportJob
    from schools.models import Membership, OrgUnit, Role
    from targets.progress import recompute_progress

    # Jobs left by an earlier run (e.g. interrupted) would be swept too and lengthen the recovery measured.
    RecomputeJob.objects.all().delete()
    ExportJob.objects.all().delete()
    PendingRecompute.objects.all().delete()
    dataset.build()
    _plan()
    engine.full_recompute()
    recompute_progress()
    user, created = get_user_model().objects.get_or_create(username=USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(user=user, org_unit=OrgUnit.objects.get(code="GEN"), role=Role.BUREAU_ADMIN)


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 120) -> float:
    """Poll ``predicate`` every 50 ms; returns the moment (time.monotonic()) it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not within {timeout} s")


def run() -> list[dict[str, Any]]:
    for path in (str(ROOT), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    # The fault tests' throw-away redis-server (killed like a crash, started again on the same port).
    from tests.faults.conftest import RedisServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    redis = RedisServer(workdir)
    worker: Worker | None = None
    try:
        redis.start()
        _setup(redis.url, workdir / "media")

        from bench_progress import PLAN
        from django.contrib.auth import get_user_model
        from django.test import Client

        from indicators import tasks as indicator_tasks
        from indicators.models import IndicatorValue, RecomputeJob
        from plans.models import Plan
        from portal.tasks import worker_heartbeat_task as heartbeat_task
        from reports import tasks as report_tasks
        from reports.models import ExportJob, ExportStatus
        from reports.xlsx import count_rows
        from schools.models import OrgUnit
        from submissions.models import Period

        IndicatorValue.objects.filter(period__code=RECOMPUTE_PERIOD).delete()
        client = Client()
        client.force_login(get_user_model().objects.get(username=USERNAME))
        assert Period.objects.filter(code=EXPORT_PERIOD).exists()

        # Warm the request paths (URL resolving, DRF, serializers, first queries) and the publisher (a web process
        # has published before the broker dies), without recording a job, so that the timed requests measure the
        # broker being down rather than this process's first request.
        client.get("/api/v1/recompute/0/")
        client.get("/api/v1/exports/0/")
        client.post("/api/v1/recompute/", {"period": "nope"}, content_type="application/json")  # 400
        client.get(f"/api/v1/plans/{PLAN}/export.xlsx", {"scope": "nope", "period": EXPORT_PERIOD})  # 404
        heartbeat_task.apply_async(("recompute",), queue="recompute")  # lost with the broker; harmless
        # The export decides by counting the workbook's rows (~50 queries here): count once, as a page would have.
        count_rows(Plan.objects.get(code=PLAN), OrgUnit.objects.get(code="GEN"), Period.objects.get(code=EXPORT_PERIOD))

        def ask_recompute() -> tuple[Any, float]:
            started = time.perf_counter()
            answer = client.post("/api/v1/recompute/", {"period": RECOMPUTE_PERIOD}, content_type="application/json")
            return answer, (time.perf_counter() - started) * 1000

        def ask_export() -> tuple[Any, float]:
            started = time.perf_counter()
            answer = client.get(f"/api/v1/plans/{PLAN}/export.xlsx", {"scope": "GEN", "period": EXPORT_PERIOD})
            return answer, (time.perf_counter() - started) * 1000

        if WORKER_MODE == "stays":
            worker = Worker(workdir / "worker.log")
            worker.wait_ready()

        # --- the broker dies; two requests that would normally publish a message ---
        redis.stop()
        down_at = time.monotonic()
        recompute, recompute_ms = ask_recompute()
        export, export_ms = ask_export()
        if recompute.status_code != 202 or export.status_code != 202:
            raise RuntimeError(f"expected 202 and 202: {recompute.status_code} {recompute.content[:300]!r}, "
                               f"{export.status_code} {export.content[:300]!r}")  # fmt: skip
        job_id, export_id = recompute.json()["job"], export.json()["job"]
        job, export_job = RecomputeJob.objects.get(pk=job_id), ExportJob.objects.get(pk=export_id)
        if job.status != "queued" or export_job.status != ExportStatus.PENDING:
            raise RuntimeError(f"jobs not recorded as waiting: recompute {job.status}, export {export_job.status}")
        recorded = f"recorded {job.status}"
        export_recorded = f"recorded {export_job.status}, {export_job.rows_total} rows to write"

        # --- the outage lasts longer than the sweeps' one-minute grace ---
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        still_queued = RecomputeJob.objects.get(pk=job_id).status == "queued"
        still_pending = ExportJob.objects.get(pk=export_id).status == ExportStatus.PENDING

        # --- the broker comes back (empty), the worker starts, beat's sweeps are published ---
        redis.start()
        back_at = time.monotonic()
        if worker is None:
            worker = Worker(workdir / "worker.log")
            ready_at = worker.wait_ready()
        else:  # the second "Connected to" in its log: the consumer's reconnection
            ready_at = worker.wait_ready(timeout=120, text="Connected to redis", times=2)
        # What beat sends at its next tick; a publish to the live broker again (the app's pool reconnects).
        indicator_tasks.sweep_pending_recomputes_task.delay()
        report_tasks.sweep_export_jobs_task.delay()
        recompute_done = _wait(
            lambda: RecomputeJob.objects.filter(pk=job_id, status__in=["done", "failed"]).exists(), "recompute job"
        )
        export_done = _wait(
            lambda: ExportJob.objects.filter(pk=export_id, status__in=["done", "failed"]).exists(), "export job"
        )

        # --- checks: done with rows, file in storage, both visible through the API ---
        job = RecomputeJob.objects.get(pk=job_id)
        export_job = ExportJob.objects.get(pk=export_id)
        if job.status != "done" or not job.rows:
            raise RuntimeError(f"recompute job {job.status}, rows {job.rows}: {job.error}")
        if export_job.status != ExportStatus.DONE or not export_job.file:
            raise RuntimeError(f"export job {export_job.status}: {export_job.error}")
        if not export_job.file.storage.exists(export_job.file.name):
            raise RuntimeError(f"export file missing: {export_job.file.name}")
        size = export_job.file.size
        job_api = client.get(f"/api/v1/recompute/{job_id}/").json()
        export_api = client.get(f"/api/v1/exports/{export_id}/").json()
        download = client.get(export_api["download_url"])
        content = download.getvalue()
        if job_api["status"] != "done" or download.status_code != 200 or not content.startswith(b"PK"):
            raise RuntimeError(f"API: job {job_api}, download {download.status_code}")
        regained = IndicatorValue.objects.filter(period__code=RECOMPUTE_PERIOD).count()
        # For comparison, the same two requests with the broker up (their jobs are left to the worker).
        recompute_up, recompute_up_ms = ask_recompute()
        export_up, export_up_ms = ask_export()
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    queued = "still queued" if still_queued else "NOT queued"
    pending = "still pending" if still_pending else "NOT pending"
    how = "reconnected" if WORKER_MODE == "stays" else "started and ready"
    worker_note = f"worker {how} {ready_at - back_at:.1f} s after the broker, sweeps published at once (beat: ≤ 60 s)"
    suffix = " (worker kept running)" if WORKER_MODE == "stays" else ""
    recompute_note = (
        f"HTTP {recompute.status_code}; job {recorded}; {queued} after the {OUTAGE_SECONDS:.0f} s outage; "
        f"with the broker up: HTTP {recompute_up.status_code} in {recompute_up_ms:.0f} ms"
    )
    export_note = (
        f"HTTP {export.status_code}; job {export_recorded} (threshold lowered to {EXPORT_THRESHOLD}); {pending} "
        f"after the outage; with the broker up: HTTP {export_up.status_code} in {export_up_ms:.0f} ms"
    )
    recompute_done_note = (
        f"{job.rows} rows written for {RECOMPUTE_PERIOD} ({regained} indicator values back), {UNITS} units; "
        f"{worker_note}; done {recompute_done - ready_at:.1f} s after the worker was ready; API lookup: done"
    )
    export_done_note = (
        f"{export_job.rows_total} rows, {size / 1024:.0f} KB file in storage, downloaded through download_url "
        f"(HTTP {download.status_code}); {export_done - ready_at:.1f} s after the worker was ready"
    )
    return [
        {"name": "broker down: POST /api/v1/recompute/ answered", "value": round(recompute_ms, 1), "unit": "ms",
         "note": recompute_note},
        {"name": "broker down: export requested", "value": round(export_ms, 1), "unit": "ms", "note": export_note},
        {"name": f"broker back: recompute job done after{suffix}", "value": round(recompute_done - back_at, 2),
         "unit": "s", "note": recompute_done_note},
        {"name": f"broker back: export ready after{suffix}", "value": round(export_done - back_at, 2), "unit": "s",
         "note": export_done_note},
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']} ({row['note']})\n")
