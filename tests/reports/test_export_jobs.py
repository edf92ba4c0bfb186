"""Export jobs: small workbooks stream, big ones run as a job (pending → running → done/failed),
with progress, a download link, expiry, idempotent claiming and the access scope."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import time_machine
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from portal.xlsx import XLSX_CONTENT_TYPE
from reports import exports
from reports.models import ExportJob, ExportStatus
from reports.tasks import delete_old_exports_task, export_plan_workbook_task

API_URL = "/api/v1/plans/p2023/export.xlsx"


def test_a_small_workbook_is_streamed_directly(client, report, users):
    client.force_login(users.ivan)
    response = client.get(reverse("reports:plan_export"), {"plan": "p2023", "scope": "D1", "period": "2023Q4"})
    assert response.status_code == 200
    assert 'filename="p2023-D1-2023Q4.xlsx"' in response["Content-Disposition"]
    assert ExportJob.objects.count() == 0
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "D1" in book["概览"]["A2"].value


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5)
def test_a_big_workbook_becomes_a_job_that_runs_after_commit(client, report, users, django_capture_on_commit_callbacks):
    client.force_login(users.ivan)
    # when: 17 rows > 5 → a job; the task is enqueued on commit (eager in tests)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"})
    assert response.status_code == 202
    assert len(callbacks) == 1
    job = ExportJob.objects.get()
    assert response.json()["job"] == job.pk
    # then: the job is done, every row counted, the file stored
    assert job.status == ExportStatus.DONE
    assert (job.rows_done, job.rows_total) == (17, 17)
    assert job.requested_by == users.ivan
    assert default_storage.exists(job.file.name)
    status = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert status["status"] == "done"
    assert status["progress"] == 100
    assert status["download_url"].endswith(reverse("reports:export_download", kwargs={"pk": job.pk}))
    download = client.get(reverse("reports:export_download", kwargs={"pk": job.pk}))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book.sheetnames[0] == "概览"


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5)
def test_a_job_asked_from_an_english_page_writes_an_english_workbook(
    client, report, users, django_capture_on_commit_callbacks
):
    client.force_login(users.ivan)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 202
    with translation.override(settings.LANGUAGE_CODE):  # a worker process: the server's default language
        for callback in callbacks:
            callback()
    job = ExportJob.objects.get()
    assert (job.language, job.status) == ("en", ExportStatus.DONE)
    download = client.get(reverse("reports:export_download", kwargs={"pk": job.pk}))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    # the worker ran in the requester's language, not the server's default (Chinese)
    assert book.sheetnames[0] == "Overview"
    assert "概览" not in book.sheetnames


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5)
def test_the_web_export_redirects_to_the_job_page_which_refreshes_until_done(client, report, users):
    client.force_login(users.ivan)
    response = client.get(reverse("reports:plan_export"), {"plan": "p2023", "scope": "CITY", "period": "2023Q4"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export_job", kwargs={"pk": job.pk})
    # Not run yet (no commit in this test transaction): the page polls (JS) or refreshes (<noscript>).
    page = client.get(response["Location"]).content.decode()
    assert job.status == ExportStatus.PENDING
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert "排队中" in page


def _pending_job(report, users) -> ExportJob:  # noqa: ANN001
    return ExportJob.objects.create(
        plan=report.plan, scope=report.plan.owner_unit, period=report.q4, requested_by=users.ivan, rows_total=17
    )


def test_the_job_reports_progress_while_running(report, users, monkeypatch):
    job = _pending_job(report, users)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    seen: list[tuple[str, int]] = []
    real_build = exports.build_workbook

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        callback = kwargs["on_progress"]

        def watch(rows: int) -> None:
            callback(rows)
            fresh = ExportJob.objects.get(pk=job.pk)
            seen.append((fresh.status, fresh.rows_done))

        return real_build(*args, **{**kwargs, "on_progress": watch})

    monkeypatch.setattr(exports, "build_workbook", spy)
    export_plan_workbook_task(job.pk)
    # Cumulative rows after each batch: equity sheet 1, quality sheet 1 (→ 2), big-class drill-down
    # 5 schools (→ 7), data sheet 10 values (→ 17); the job row shows each while still running.
    assert seen == [("running", 1), ("running", 2), ("running", 7), ("running", 17)]
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE


def test_running_the_task_twice_does_the_work_once(report, users):
    job = _pending_job(report, users)
    assert exports.run_export_job(job.pk) is True
    first = ExportJob.objects.get(pk=job.pk).file.name
    assert exports.run_export_job(job.pk) is False  # already claimed: nothing happens
    assert ExportJob.objects.get(pk=job.pk).file.name == first


def test_a_failing_job_is_marked_failed_with_a_clear_error(client, report, users, monkeypatch):
    job = _pending_job(report, users)

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError

    monkeypatch.setattr(exports, "build_workbook", boom)
    export_plan_workbook_task(job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert job.error.startswith("生成失败：MemoryError")
    assert job.finished_at is not None
    client.force_login(users.ivan)
    page = client.get(reverse("reports:export_job", kwargs={"pk": job.pk})).content.decode()
    assert "生成失败" in page
    assert client.get(reverse("reports:export_download", kwargs={"pk": job.pk})).status_code == 404


@override_settings(EXPORT_EXPIRY_HOURS=24)
def test_finished_files_expire_after_the_configured_hours(report, users):
    job = _pending_job(report, users)
    with time_machine.travel(dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)):
        exports.run_export_job(job.pk)
    job.refresh_from_db()
    name = job.file.name
    with time_machine.travel(dt.datetime(2026, 3, 2, 7, 59, tzinfo=dt.UTC)):
        assert delete_old_exports_task() == 0  # 23 h 59 min: kept
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 1, tzinfo=dt.UTC)):
        assert delete_old_exports_task() == 1
        assert delete_old_exports_task() == 0  # idempotent
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED
    assert not job.file
    assert not default_storage.exists(name)


def test_principals_may_not_export_and_others_only_in_their_scope(client, report, users):
    client.force_login(users.alice)
    assert client.get(API_URL, {"scope": "S1"}).status_code == 403  # may see S1, may not export
    assert client.get(API_URL, {"scope": "D2"}).status_code == 404  # may not even see D2
    assert client.get(reverse("reports:plan_export"), {"plan": "p2023", "scope": "S1"}).status_code == 403
    client.force_login(users.rita)
    assert client.get(API_URL, {"scope": "D1"}).status_code == 200
    assert client.get(API_URL, {"scope": "D2"}).status_code == 404
    body = client.get(API_URL, {"scope": "D2"}).json()
    assert list(body) == ["errors"]


def test_a_job_is_visible_only_to_users_who_may_export_its_scope(client, report, users):
    job = _pending_job(report, users)  # scope CITY
    client.force_login(users.rita)
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert client.get(reverse("reports:export_job", kwargs={"pk": job.pk})).status_code == 404
    client.force_login(users.bea)
    assert client.get(f"/api/v1/exports/{job.pk}/").json()["status"] == "pending"


def test_an_unknown_plan_is_not_found(client, report, users):
    client.force_login(users.ivan)
    assert client.get("/api/v1/plans/nope/export.xlsx").status_code == 404


def test_the_api_export_honours_an_accept_header_naming_the_workbook_or_json(client, report, users):
    client.force_login(users.ivan)
    # when: the client asks for the workbook's media type (what an integrator's HTTP library sends for a download)
    response = client.get(API_URL, {"scope": "D1", "period": "2023Q4"}, HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    # then: the workbook, not 406 Not Acceptable
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames[0] == "概览"


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5)
def test_a_big_export_answers_its_job_as_json_whatever_the_accept_header(client, report, users):
    client.force_login(users.ivan)
    response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"}, HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert response.status_code == 202
    assert response["Content-Type"] == "application/json"
    assert response.json()["job"] == ExportJob.objects.get().pk


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5)
def test_broker_down_the_export_is_recorded_and_the_sweep_sends_it_once_it_is_back(
    client, report, users, django_capture_on_commit_callbacks
):
    from unittest import mock

    from kombu.exceptions import OperationalError

    from reports.tasks import sweep_export_jobs_task

    client.force_login(users.ivan)
    refused = mock.patch.object(export_plan_workbook_task, "delay", side_effect=OperationalError("connection refused"))
    # when: the broker refuses the message
    with refused, django_capture_on_commit_callbacks(execute=True):
        response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"})
    # then: the request is answered at once (202, not a 500) and the job waits, pending
    assert response.status_code == 202
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.PENDING
    # when: a minute later the broker is back and the sweep runs
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)):
        assert sweep_export_jobs_task() == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert default_storage.exists(job.file.name)


@override_settings(EXPORT_ASYNC_THRESHOLD_ROWS=5, CELERY_TASK_TIME_LIMIT=60)
def test_a_job_whose_worker_died_is_failed_after_the_time_limit(report, tree):
    from reports.tasks import sweep_export_jobs_task

    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    job = ExportJob.objects.create(
        plan=report.plan, scope=tree.city, status=ExportStatus.RUNNING, started_at=started, rows_total=10
    )
    fresh = ExportJob.objects.create(
        plan=report.plan, scope=tree.city, status=ExportStatus.RUNNING, started_at=dt.datetime.now(dt.UTC)
    )
    sweep_export_jobs_task()
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert job.error  # the page shows why and stops polling
    assert fresh.status == ExportStatus.RUNNING
