"""A target page's drill-down export: small ones are written in the request, big ones (past
DRILLDOWN_EXPORT_ASYNC_ROWS) by an export job — both through ``reports.drilldown``, byte for byte the same
CSV, cell for cell the same workbook, the same values django-tables2's ``as_values`` gave, and formula-safe."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import override_settings
from django.urls import reverse

from notifications.models import Kind, Notification
from reports import drilldown, exports
from reports.models import ExportJob, ExportKind, ExportStatus
from tests.reports.conftest import add_kindergartens

RATE_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "kg-rate"})
LIMIT_URL = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "big-class"})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"rows": "schools"},
        {"rows": "schools", "sort": "-value"},
        {"rows": "schools", "sort": "name", "ownership": "public"},
        {"rows": "schools", "sort": "status"},
    ],
)
@pytest.mark.parametrize("target", ["t_rate", "t_limit"])
def test_export_rows_are_the_values_django_tables2_gave(report, users, tree, params, target):
    add_kindergartens(tree.t1, 3, report)
    table = drilldown.drilldown_table(users.ivan, getattr(report, target), tree.city, report.q4, params)
    every = list(table.as_values())
    assert len(every) > 1
    assert [table.export_header(), *table.export_rows()] == every


def _download(client, job: ExportJob) -> bytes:  # noqa: ANN001
    response = client.get(reverse("reports:export_download", kwargs={"pk": job.pk}))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _cells(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [tuple(cell.value for cell in row) for row in book.active.iter_rows()]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_the_background_file_is_the_inline_file(
    client, report, users, tree, export_format, django_capture_on_commit_callbacks
):
    add_kindergartens(tree.t1, 4, report)
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "rows": "schools", "sort": "-gap", "_export": export_format}
    inline = client.get(RATE_URL, params)
    assert inline.status_code == 200
    assert 'filename="p2023-kg-rate-CITY.' + export_format in inline["Content-Disposition"]
    assert ExportJob.objects.count() == 0
    with override_settings(DRILLDOWN_EXPORT_ASYNC_ROWS=3), django_capture_on_commit_callbacks(execute=True):
        queued = client.get(RATE_URL, params)
    job = ExportJob.objects.get()
    assert queued.status_code == 302
    assert queued["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.kind, job.status) == (ExportKind.DRILLDOWN, ExportStatus.DONE)
    assert (job.target, job.scope) == (report.t_rate, tree.city)
    assert job.rows_total == 6  # K1, K2 and the 4 added kindergartens
    assert job.rows_done == 6
    page = client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert "导出目标明细表" in page.content.decode()
    background = _download(client, job)
    if export_format == "csv":
        assert background == inline.content
        assert len(background.decode("utf-8-sig").splitlines()) == 7  # header + 6
    else:
        assert _cells(background) == _cells(inline.content)
        assert len(_cells(background)) == 7
    download = client.get(reverse("reports:export_download", kwargs={"pk": job.pk}))
    assert f"p2023-kg-rate-CITY.{export_format}" in download["Content-Disposition"]


@override_settings(DRILLDOWN_EXPORT_ASYNC_ROWS=1)
def test_a_unit_named_like_a_formula_stays_text_in_the_background_files(
    client, report, users, tree, django_capture_on_commit_callbacks
):
    tree.k2.name = "=1+1"
    tree.k2.save()
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "rows": "schools", "sort": "name"}
    with django_capture_on_commit_callbacks(execute=True):
        client.get(RATE_URL, {**params, "_export": "csv"})
        client.get(RATE_URL, {**params, "_export": "xlsx"})
    csv_job, xlsx_job = ExportJob.objects.order_by("pk")
    text = _download(client, csv_job).decode("utf-8-sig")
    assert "'=1+1" in text
    assert ",=1+1" not in text
    book = openpyxl.load_workbook(io.BytesIO(_download(client, xlsx_job)))
    cells = [cell for row in book.active.iter_rows() for cell in row if cell.value == "=1+1"]
    assert len(cells) == 1
    assert cells[0].data_type == "s"  # a string, never a formula
    assert cells[0].quotePrefix  # and Excel keeps it text when the cell is edited


@override_settings(DRILLDOWN_EXPORT_ASYNC_ROWS=1)
def test_a_reviewers_big_export_is_their_job_in_their_scope(client, report, users, tree):
    add_kindergartens(tree.t1, 3, report)
    client.force_login(users.rita)  # reviewer of D1
    response = client.get(RATE_URL, {"period": "2023Q4", "unit": "T1", "rows": "schools", "_export": "csv"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.scope.code, job.requested_by, job.rows_total) == ("T1", users.rita, 4)  # K1 + 3 added
    assert job.params == {"rows": "schools", "format": "csv"}
    # Another district's reviewer neither sees the job page nor exports from T1.
    client.force_login(users.rob)
    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.get(RATE_URL, {"unit": "T1", "_export": "csv"}).status_code == 404


def test_a_finished_drilldown_job_tells_its_requester(client, report, users, tree, django_capture_on_commit_callbacks):
    """The job page says the file is being prepared; when the job is done the requester gets "导出已完成" with a
    link to it (the same notification as the progress workbook's), once."""
    add_kindergartens(tree.t1, 4, report)
    client.force_login(users.ivan)
    params = {"period": "2023Q4", "rows": "schools", "_export": "csv"}
    with override_settings(DRILLDOWN_EXPORT_ASYNC_ROWS=3, CELERY_TASK_ALWAYS_EAGER=False):
        with django_capture_on_commit_callbacks(execute=False):
            queued = client.get(RATE_URL, params)
    job = ExportJob.objects.get()
    assert queued.status_code == 302
    assert job.status == ExportStatus.PENDING
    assert not Notification.objects.filter(user=users.ivan).exists()
    assert "正在后台生成" in client.get(job.get_absolute_url()).content.decode()

    exports.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    (note,) = Notification.objects.filter(user=users.ivan)
    assert note.kind == Kind.EXPORT_DONE
    assert note.url == job.get_absolute_url()
    assert "导出已完成" in note.title
