"""The bulletin rendered: the Celery task run end to end (eagerly) with the real LibreOffice, its PDF turned into
page images with ``pdftoppm -r 50``, and the pages checked — how many, and none blank (pixel variance).

Skipped with the reason when ``soffice`` or ``pdftoppm`` is missing on a developer's machine; with
``PORTAL_REQUIRE_RENDER`` set (``.ci/run``, which installs libreoffice-writer-nogui and poppler-utils) a missing
program fails the test instead.
"""

from __future__ import annotations

import subprocess  # nosec B404
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image, ImageStat

from reports.models import ExportJob, ExportStatus
from tests.reports.render_support import require_programs


def _pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    source = tmp_path / "bulletin.pdf"
    source.write_bytes(pdf)
    subprocess.run(  # nosec B603 B607
        ["pdftoppm", "-r", "50", "-png", str(source), str(tmp_path / "page")], check=True, timeout=60
    )
    return [Image.open(path).convert("L") for path in sorted(tmp_path.glob("page-*.png"))]


def test_the_bulletin_renders_to_pages_that_are_not_blank(
    client, report, users, django_capture_on_commit_callbacks, tmp_path
):
    require_programs(settings.LIBREOFFICE_BIN, "pdftoppm", apt="libreoffice-writer-nogui poppler-utils")
    client.force_login(users.ivan)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/plans/p2023/bulletin/", {"scope": "CITY", "period": "2023Q4"}, content_type="application/json"
        )
    assert response.status_code == 202
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.DONE, job.error
    assert job.note == ""
    assert job.pdf_file
    with default_storage.open(job.pdf_file.name, "rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF")
    pages = _pages(pdf, tmp_path)
    # Cover, summary and lists, league tables: at least three pages, each A4 portrait at 50 dpi.
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert page.width < page.height
        variance = ImageStat.Stat(page).var[0]
        assert variance > 20, f"page {number} looks blank (pixel variance {variance:.1f})"
    # The download offers the PDF too.
    download = client.get(f"/reports/exports/{job.pk}/download/", {"file": "pdf"})
    assert download.status_code == 200
    assert 'filename="p2023-CITY-2023Q4-bulletin.pdf"' in download["Content-Disposition"]
