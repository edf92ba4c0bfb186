"""Helpers shared by the Excel round-trip tests (no tests here): download, fill and upload a template.

Uses the ``setup`` fixture of tests/submissions/conftest.py (2023Q1 open, frozen clock, figures
for primary schools, kindergartens and districts, the migrants ≤ entrants error rule).
"""

from __future__ import annotations

import io
from typing import Any

from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from submissions.xlsx import CODE_ROW, DATA_SHEET, FIRST_DATA_ROW


def download(client: Client, period: str, unit: str) -> bytes:
    response = client.get(reverse("submissions:template_download"), {"period": period, "unit": unit})
    assert response.status_code == 200, response.content[:300]
    return response.content


def columns(content: bytes) -> dict[str, int]:
    """figure/fixed code -> column number, read from the hidden code row."""
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[DATA_SHEET]
    return {cell.value: cell.column for cell in sheet[CODE_ROW] if cell.value}


def rows(content: bytes) -> dict[str, int]:
    """unit code -> row number."""
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[DATA_SHEET]
    return {sheet.cell(row=r, column=1).value: r for r in range(FIRST_DATA_ROW, sheet.max_row + 1)}


def fill(content: bytes, cells: dict[tuple[str, str], Any]) -> bytes:
    """Write {(unit code, figure code): value} into a downloaded template, as a user in Excel would."""
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[DATA_SHEET]
    col = {cell.value: cell.column for cell in sheet[CODE_ROW] if cell.value}
    row = {sheet.cell(row=r, column=1).value: r for r in range(FIRST_DATA_ROW, sheet.max_row + 1)}
    for (unit, code), value in cells.items():
        sheet.cell(row=row[unit], column=col[code], value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client: Client, content: bytes, period: str, unit: str | None = None, name: str = "t.xlsx") -> Any:
    url = reverse("submissions:template_upload") + (f"?unit={unit}" if unit else "")
    return client.post(url, {"period": period, "file": _named(content, name)})


def _named(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream
