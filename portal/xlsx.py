"""Spreadsheet rules shared by every export and import of the portal, kept in one place.

- **Formula-safe text.** Text a user typed is data, never code. A spreadsheet evaluates a cell that
  begins with ``= + - @`` (and, after trimming, one that begins with a tab or a carriage return), so
  a principal's explanation ``=HYPERLINK(…)`` would become a working link in a reviewer's export. In a
  workbook such text is written as a *string* cell (openpyxl would otherwise store ``=…`` as a
  formula) carrying Excel's quote prefix (``quotePrefix``): Excel and LibreOffice show exactly the
  typed text, and editing the cell does not turn it into a formula either. Nothing is added to the
  text, so re-importing a workbook gives back what was typed. A CSV has no cell types: there the text
  gets one leading ``'`` (the usual defence; spreadsheets then show it as text). Real numbers stay
  numbers in both.
- **Widths** of CJK text (two units per character) and **plain numbers** (``1200.0000`` → ``1200``).
- The **content types** of .xlsx and CSV responses; **CSV** is UTF-8 with a BOM, so Excel on Windows
  opens Chinese text right.
- **One error type for every importer** (``ImportErrors``): each problem located by sheet, row and
  column, with a translated message; nothing is stored when it is raised.

This module sits in ``portal`` (the bottom layer) and imports no other app of the project.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, TypeVar

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from portal.errors import ServiceError

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# What a spreadsheet may evaluate when a cell begins with it (OWASP's list for CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")

AnyCell = TypeVar("AnyCell", bound=Cell)


# --- Formula-safe cells ---


def looks_like_formula(value: object) -> bool:
    """Would a spreadsheet evaluate ``value`` if it were written as typed? (Only text can.)"""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def guard(cell: AnyCell) -> AnyCell:
    """``cell`` (whose value is set) as a quote-prefixed string if its text begins like a formula."""
    value = cell.value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        # openpyxl stores "=…" as a formula: force a string, and set Excel's quote prefix so that
        # editing the cell in Excel or LibreOffice does not turn it into one either.
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def text_cell(ws: Any, value: str, **style: Any) -> Cell:
    """A styled cell holding ``value`` for ``ws.append`` (write-only or not), never a formula."""
    cell = guard(WriteOnlyCell(ws, value=value))
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def safe_value(ws: Any, value: Any) -> Any:
    """``value`` ready for ``ws.append``: text that begins like a formula wrapped, the rest as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return text_cell(ws, value)
    return value


def safe_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``ws.append`` with every value made safe by ``safe_value``."""
    return [safe_value(ws, value) for value in values]


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """``ws.cell(row, column, value)`` of a normal (not write-only) sheet, never a formula."""
    return guard(ws.cell(row=row, column=column, value=value))


# --- Widths and numbers ---


def display_width(text: str) -> int:
    """Width of ``text`` in Excel character units: CJK and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit_width(values: Iterable[Any], minimum: float = 6, maximum: float = 60) -> float:
    """A column width fitting the widest of ``values`` (plus a margin), within the bounds."""
    widest = max((display_width(str(v)) for v in values if v is not None), default=minimum)
    return max(minimum, min(maximum, widest + 2))


# Points per line of 11-pt text in a row; rows holding wrapped text get this many points per line they need.
LINE_HEIGHT = 15.0


def wrapped_row_height(cells: Iterable[tuple[Any, float]]) -> float | None:
    """The height (points) a row needs so that each ``(text, column width)`` wrapped in it shows whole; None
    when one line is enough. Set explicitly because LibreOffice (and Excel for some files) does not grow the
    rows of a generated sheet by itself: wrapped text was cut after its first line."""
    lines = 1
    for value, width in cells:
        if value is None or value == "":
            continue
        room = max(1.0, width - 1)  # a character of padding
        needed = sum(max(1, math.ceil(display_width(part) / room)) for part in str(value).split("\n"))
        lines = max(lines, needed)
    return None if lines == 1 else LINE_HEIGHT * lines


def plain_number(value: Decimal | None) -> str:
    """A number as plain text without trailing zeros or exponent: 1200.0000 → "1200", 0.5000 → "0.5"."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- Sheets of tables ---


def setup_sheet(ws: Any, widths: Sequence[float], header_rows: int) -> None:
    """Everything a write-only sheet needs before its first row: widths, frozen header, print setup."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = f"A{header_rows + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{header_rows}"
    # Narrow margins (inches): fitted to the page width, every column of a wide sheet prints larger.
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)


def table_workbook(rows: Iterable[Sequence[Any]], title: str = "Sheet1") -> bytes:
    """Rows (the first one the header) as a one-sheet .xlsx: bold header, fitted widths, auto-filter."""
    rows = [list(row) for row in rows]
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(title)
    ncols = len(rows[0]) if rows else 0
    setup_sheet(ws, [fit_width([row[i] for row in rows[:200]], 8, 40) for i in range(ncols)], header_rows=1)
    for index, row in enumerate(rows):
        if index == 0:
            ws.append([text_cell(ws, str(value), font=HEADER_FONT, fill=HEADER_FILL) for value in row])
        else:
            ws.append(safe_row(ws, row))
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{len(rows)}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ---


def safe_text(value: Any) -> str:
    """Text for a CSV cell: one that begins like a formula gets a leading quote so it is never run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as UTF-8 CSV with a BOM; text made safe by ``safe_text``, numbers written as numbers."""
    buffer = io.BytesIO()
    iterator = iter(rows)
    write_csv(next(iterator, None), iterator, buffer)
    return buffer.getvalue()


CSV_FLUSH_ROWS = 1000


def write_csv(header: Sequence[Any] | None, rows: Iterable[Sequence[Any]], out: IO[bytes]) -> int:
    """``header`` then ``rows`` as UTF-8 CSV with a BOM into ``out``, a thousand rows at a time (flat memory
    for an export job's file); text made safe by ``safe_text``. Returns the number of rows after the header."""
    out.write(codecs.BOM_UTF8)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    if header is not None:
        writer.writerow([safe_text(value) if isinstance(value, str) else value for value in header])
    count = 0
    for row in rows:
        writer.writerow([safe_text(value) if isinstance(value, str) else value for value in row])
        count += 1
        if count % CSV_FLUSH_ROWS == 0:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return count


# --- Import errors ---


@dataclass(frozen=True)
class CellError:
    """One problem of an uploaded workbook, located as precisely as we can.

    ``ref`` is a cell (``填报!D7``), a sheet name for a sheet-wide problem, or ``"file"``.
    """

    ref: str
    row: int | None
    column: str  # header text of the column, or "" for a row-, sheet- or file-level problem
    message: str


def cell_ref(sheet: str, row: int, column: int) -> str:
    """The reference of a cell as Excel writes it across sheets: ``填报!D7``."""
    return f"{sheet}!{get_column_letter(column)}{row}"


class ImportErrors(ServiceError):
    """An import was refused and nothing was stored; ``cell_errors`` lists every located problem.

    The same type for every importer (the submission template, the plan workbook, the upload
    checks): ``errors`` maps each reference to its translated messages, for the API and the pages
    alike. An importer may collect problems first (``add`` …) and raise once (``raise_if_any``).
    """

    def __init__(self, cell_errors: Iterable[CellError] = (), status_code: int = 400) -> None:
        super().__init__({})
        self.cell_errors: list[CellError] = []
        self.status_code = status_code
        for error in cell_errors:
            self.add(error)

    def add(self, error: CellError) -> None:
        self.cell_errors.append(error)
        self.errors.setdefault(error.ref or "file", []).append(str(error.message))

    def add_file(self, message: str) -> None:
        """A problem of the whole file."""
        self.add(CellError("file", None, "", message))

    def add_sheet(self, sheet: str, message: str) -> None:
        """A problem of a whole sheet (missing, or missing a column)."""
        self.add(CellError(sheet, None, "", message))

    def add_cell(self, sheet: str, row: int, column: int, header: str, message: str) -> None:
        """A problem of one cell, its message naming the sheet, row and column for a reader of the list."""
        located = _("“%(sheet)s”表第 %(row)s 行 %(col)s 列（%(header)s）：%(msg)s") % {
            "sheet": sheet,
            "row": row,
            "col": get_column_letter(column),
            "header": header,
            "msg": message,
        }
        self.add(CellError(cell_ref(sheet, row, column), row, header, located))

    def raise_if_any(self) -> None:
        """Raise this error if any problem was collected."""
        if self.cell_errors:
            raise self
