"""Journey: an inspector asks for the quarterly bulletin (进展通报) of the demo plan from the city dashboard, watches
its progress (queued, then the steps 收集数据 / 绘制图表 / 生成 Word / 转换 PDF as the worker runs them) and downloads
the Word document and the PDF.

The journeys run Celery eagerly, so the job would be finished before the redirect; here the enqueue is held back
(the job stays queued, as behind a busy worker) and the test runs the worker's function itself in a thread once the
queued page has been seen, while the page polls the job's status.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404
import threading
from pathlib import Path
from typing import Any

import docx
import pytest
from browser_support import django_side, log_in

pytestmark = pytest.mark.browser


@django_side
def _latest_job_id() -> int:
    from reports.models import ExportJob, ExportKind

    return ExportJob.objects.filter(kind=ExportKind.BULLETIN).latest("pk").pk


def _run_worker(job_id: int) -> threading.Thread:
    """The worker's function in a thread with its own database connection, as a Celery worker would run it."""

    def work() -> None:
        from django.db import connection

        from reports import exports

        try:
            exports.run_export_job(job_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_inspector_downloads_the_bulletin(
    site: Any, new_page: Any, journey: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import dispatch

    held: list[int] = []
    monkeypatch.setattr(dispatch, "_enqueue", held.append)
    steps = journey("bulletin")
    page = new_page()
    log_in(page, site, "inspector")

    # when: the city dashboard of the demo plan, and its "生成进展通报" button
    page.get_by_role("link", name="进展看板").first.click()
    assert "范围：市教育局" in page.locator("p.meta").inner_text()
    steps.step(page, "dashboard")
    page.get_by_role("button", name="生成进展通报").click()

    # then: the job's page, queued, with the steps it will go through
    page.wait_for_url("**/reports/exports/*/")
    assert page.locator("h1").inner_text() == "进展通报"
    assert page.locator(".js-status").inner_text() == "排队中"
    assert page.locator("ol.bulletin-steps").inner_text().split() == [
        "收集数据",
        "绘制图表",
        "生成",
        "Word",
        "转换",
        "PDF",
    ]
    steps.step(page, "queued")
    job_id = _latest_job_id()
    assert held == [job_id]

    # when: a worker takes the job; the page follows it by polling and shows the download links when done
    worker = _run_worker(job_id)
    page.locator(".js-status").filter(has_text="生成中").or_(page.get_by_role("link", name="下载 Word")).wait_for()
    if page.locator(".js-status").inner_text() == "生成中":
        steps.step(page, "running", a11y=False)
    worker.join(timeout=180)
    assert not worker.is_alive()
    word_link = page.get_by_role("link", name="下载 Word")
    word_link.wait_for(timeout=30_000)
    assert page.locator(".js-status").inner_text() == "已完成"
    steps.step(page, "done")

    # then: the Word document is the bulletin of the demo plan for the city in 2023Q4
    with page.expect_download() as word_info:
        word_link.click()
    assert word_info.value.suggested_filename.endswith("-CITY-2023Q4-bulletin.docx")
    word_path = tmp_path / "bulletin.docx"
    word_info.value.save_as(word_path)
    document = docx.Document(str(word_path))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "进展通报" in text
    assert "2023年第4季度" in text
    assert "范围：市教育局" in text
    assert len(document.inline_shapes) >= 2  # the summary chart and the league tables' charts

    # and the PDF (LibreOffice is installed where the journeys run; without it the page says why there is none)
    pdf_link = page.get_by_role("link", name="下载 PDF")
    if pdf_link.count() == 0:
        note = page.locator("main").inner_text()
        assert "PDF 未生成：" in note
        pytest.skip(f"no PDF on this machine: {note}")
    with page.expect_download() as pdf_info:
        pdf_link.click()
    pdf_path = tmp_path / "bulletin.pdf"
    pdf_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    steps.step(page, "downloaded")
    # Kept beside the screenshots: the PDF's pages as images (what the inspector downloaded, looked at).
    if shutil.which("pdftoppm"):
        subprocess.run(  # nosec B603 B607
            ["pdftoppm", "-r", "50", "-png", str(pdf_path), str(steps.folder / f"{steps.count + 1:02d}-pdf-page")],
            check=True,
            timeout=60,
        )
        assert list(steps.folder.glob("*-pdf-page-*.png"))
