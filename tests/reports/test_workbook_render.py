"""The inspector's progress workbook rendered as it prints: converted to PDF by LibreOffice (the bulletin's own
converter), its pages turned into images with ``pdftoppm`` and its words measured with ``pdftotext -bbox``.

Checked: every page is A4 landscape and not blank, and a section sheet's text prints at a readable size — the
defect was section sheets squeezed to ~5 pt. Skipped with the reason when LibreOffice (with Calc) or poppler is
missing on a developer's machine; with ``PORTAL_REQUIRE_RENDER`` set (``.ci/run``) a missing program fails the
test instead.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess  # nosec B404
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageStat

from reports.bulletin import pdf as converter
from tests.reports.render_support import require_programs

API_URL = "/api/v1/plans/p2023/export.xlsx"
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def _word_heights(pdf: Path, page: int) -> tuple[list[float], str]:
    """The heights (pt) of the words on ``page`` and the page's text."""
    out = subprocess.run(  # nosec B603 B607
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode("utf-8")
    words = WORD.findall(out)
    return [float(y1) - float(y0) for _x0, y0, _x1, y1, _text in words], "".join(w[4] for w in words)


def test_the_workbook_prints_on_a4_landscape_pages_with_readable_text(client, report, users, tmp_path):
    require_programs(settings.LIBREOFFICE_BIN, "pdftoppm", "pdftotext", apt="libreoffice-calc-nogui poppler-utils")
    client.force_login(users.ivan)
    response = client.get(API_URL, {"scope": "CITY", "period": "2023Q4"})
    assert response.status_code == 200
    try:
        document = converter.convert(response.content, suffix=".xlsx")
    except converter.PdfError as exc:  # Writer alone cannot open a workbook: Calc is needed
        if os.environ.get("PORTAL_REQUIRE_RENDER"):
            raise
        pytest.skip(f"LibreOffice could not convert the workbook ({exc}); apt: libreoffice-calc-nogui")
    pdf = tmp_path / "workbook.pdf"
    pdf.write_bytes(document)
    subprocess.run(  # nosec B603 B607
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    pages = [Image.open(path).convert("L") for path in sorted(tmp_path.glob("page-*.png"))]
    # 概览, two section sheets, a drill-down and the data sheet: one page each at least.
    assert len(pages) >= 5
    for number, page in enumerate(pages, start=1):
        assert page.width > page.height, f"page {number} is not landscape"
        variance = ImageStat.Stat(page).var[0]
        assert variance > 20, f"page {number} looks blank (pixel variance {variance:.1f})"
    # The section sheet "教育公平" (its header names 目标原文): fitted to one page width, its words stay about
    # 8 pt tall; squeezed to ~45 % they were ~5 pt.
    section = None
    for number in range(1, len(pages) + 1):
        heights, text = _word_heights(pdf, number)
        if "目标原文" in text and "学前一年幼儿入园率" in text:
            section = heights
            break
    assert section, "no printed page shows the section sheet"
    assert statistics.median(section) >= 7.0, f"section sheet text prints at {statistics.median(section):.1f} pt"
