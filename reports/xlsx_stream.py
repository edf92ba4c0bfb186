"""Big worksheets written as SpreadsheetML text straight into the .xlsx package.

openpyxl spends ~15 µs per cell (a cell object, a style lookup, an lxml element), which made the
20,000-school workbook as slow as django-import-export. The styled, small sheets (overview with its
chart, one sheet per section) stay with openpyxl; the long drill-down and data sheets are set up
with openpyxl too — column widths, frozen panes, print setup, print titles, title and header rows,
auto-filter — but their data rows are produced here as plain strings:

1. ``StreamedBook.stream(ws, …, fill)`` registers a sheet whose rows ``fill(writer)`` will write;
2. ``StreamedBook.save(out)`` lets openpyxl save the package (those sheets hold only their header
   rows), then copies it entry by entry into ``out``; for a streamed sheet it writes the openpyxl
   XML up to ``</sheetData>``, calls ``fill`` — rows are compressed into the zip as they come, never
   held in memory or in a temporary file — and then the rest of the XML with the final auto-filter.

Cells are written exactly as openpyxl writes them (``t="inlineStr"`` strings, numbers as
``"%.16g"``), so openpyxl reads back the same values and number formats. Strings are always inline
strings — never formulas — and text beginning like a formula (``portal.xlsx.FORMULA_PREFIXES``)
also gets Excel's quote prefix, so editing the cell in Excel does not turn it into a formula
either. Styles are registered through openpyxl before saving (the stylesheet is written by
openpyxl) and referenced by index.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from portal.xlsx import FORMULA_PREFIXES

# Characters XML 1.0 cannot carry (openpyxl refuses them); dropped rather than failing an export.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FLUSH_ROWS = 500  # rows joined into one string before they go to the compressor
TEXT_CACHE_LIMIT = 20_000  # repeated strings (parent names, labels, indicator names) are escaped once

Cell = Any  # None (no cell), str, int/float/Decimal, or (value, style id)


class RowWriter:
    """Appends rows to one streamed sheet; created by ``StreamedBook.save`` and given to ``fill``."""

    def __init__(self, stream: IO[bytes], first_row: int, ncols: int, quoted: dict[int, int]) -> None:
        self._stream = stream
        self._row = first_row - 1
        self._columns = [get_column_letter(i) for i in range(1, ncols + 1)]
        self._quoted = quoted
        self._text: dict[str, tuple[str, bool]] = {}
        self._parts: list[str] = []
        self._pending = 0
        self.rows = 0

    @property
    def last_row(self) -> int:
        return self._row

    def _escape(self, value: str) -> tuple[str, bool]:
        """The ``<t>`` element of ``value`` and whether it looks like a formula (cached)."""
        cached = self._text.get(value)
        if cached is not None:
            return cached
        text = ILLEGAL_XML.sub("", value)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if "\r" in text:  # as openpyxl does: a raw CR would be read back as a line feed
            text = text.replace("\r", "&#13;")
        # Like openpyxl: keep leading/trailing blanks, which XML readers may otherwise drop.
        element = f'<t xml:space="preserve">{text}</t>' if value != value.strip() else f"<t>{text}</t>"
        result = (element, value.startswith(FORMULA_PREFIXES))
        if len(self._text) >= TEXT_CACHE_LIMIT:
            self._text.clear()
        self._text[value] = result
        return result

    def append(self, cells: Sequence[Cell]) -> None:
        """One row; ``None`` leaves the cell out, a ``(value, style)`` pair styles it."""
        self._row += 1
        row = str(self._row)
        parts = self._parts
        parts.append(f'<row r="{row}">')
        for column, cell in zip(self._columns, cells, strict=False):
            if cell is None:
                continue
            style = 0
            if type(cell) is tuple:
                cell, style = cell
                if cell is None:
                    continue
            if isinstance(cell, str):
                element, hostile = self._escape(cell)
                if hostile:
                    style = self._quoted[style]
                attrs = f' s="{style}"' if style else ""
                parts.append(f'<c r="{column}{row}"{attrs} t="inlineStr"><is>{element}</is></c>')
            elif isinstance(cell, bool):
                attrs = f' s="{style}"' if style else ""
                parts.append(f'<c r="{column}{row}"{attrs} t="b"><v>{int(cell)}</v></c>')
            elif isinstance(cell, int | float | Decimal):
                attrs = f' s="{style}"' if style else ""
                # openpyxl's own number text (safe_string: via float, 16 digits), so a value reads back
                # identically; format(Decimal, ".16g") would keep trailing zeros ("1000.000000" → a float).
                number = "%.16g" % cell  # noqa: UP031
                parts.append(f'<c r="{column}{row}"{attrs} t="n"><v>{number}</v></c>')
            else:
                raise TypeError(f"cannot write {type(cell).__name__} to a streamed sheet")
        parts.append("</row>")
        self.rows += 1
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._stream.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
        self._pending = 0


Fill = Callable[[RowWriter], None]


@dataclass
class _Streamed:
    ws: WriteOnlyWorksheet
    header_rows: int
    ncols: int
    fill: Fill


@dataclass
class StreamedBook:
    """An openpyxl write-only workbook plus the sheets whose rows are streamed at save time."""

    wb: Workbook
    compresslevel: int = 1  # deflate level 1: a third of level 6's time, ~20 % bigger file
    _sheets: list[_Streamed] = field(default_factory=list)
    _quoted: dict[int, int] = field(default_factory=dict)

    def style(self, ws: WriteOnlyWorksheet, **attributes: Any) -> int:
        """Index of the cell style with ``attributes`` (number_format, font, fill, alignment).

        Also registers its quote-prefixed twin, used for text that starts like a formula (the
        stylesheet is written by openpyxl at save time, so every style must exist before that).
        """
        cell = WriteOnlyCell(ws)
        for key, value in attributes.items():
            setattr(cell, key, value)
        style_id = cell.style_id
        if style_id not in self._quoted:
            cell.quotePrefix = True
            self._quoted[style_id] = cell.style_id
        return style_id

    def stream(self, ws: WriteOnlyWorksheet, header_rows: int, ncols: int, fill: Fill) -> None:
        """Rows after the ``header_rows`` openpyxl wrote to ``ws`` come from ``fill`` when saving.

        ``ws`` gets an auto-filter over the header row and all streamed rows.
        """
        if 0 not in self._quoted:
            self.style(ws)
        last = get_column_letter(ncols)
        # A placeholder range; the real last row replaces it in the sheet XML once the rows are written.
        ws.auto_filter.ref = f"A{header_rows}:{last}{header_rows}"
        self._sheets.append(_Streamed(ws, header_rows, ncols, fill))

    def save(self, out: IO[bytes]) -> None:
        # openpyxl's package with the streamed sheets' header rows only: small, spooled in memory.
        with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as package:
            self.wb.save(package)
            package.seek(0)
            streamed = {sheet.ws.path.lstrip("/"): sheet for sheet in self._sheets}
            with (
                zipfile.ZipFile(package) as source,
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel) as target,
            ):
                for info in source.infolist():
                    sheet = streamed.get(info.filename)
                    if sheet is None:
                        with source.open(info) as src, target.open(info.filename, "w") as dst:
                            shutil.copyfileobj(src, dst)
                        continue
                    self._write_sheet(source.read(info).decode("utf-8"), sheet, target, info)

    def _write_sheet(self, xml: str, sheet: _Streamed, target: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """The openpyxl sheet XML with the streamed rows inserted before ``</sheetData>``."""
        if "</sheetData>" in xml:
            head, tail = xml.split("</sheetData>", 1)
        else:  # no header rows at all: openpyxl wrote an empty element
            head, tail = xml.split("<sheetData/>", 1)
            head += "<sheetData>"
        with target.open(info.filename, "w") as dst:
            dst.write(head.encode("utf-8"))
            writer = RowWriter(dst, sheet.header_rows + 1, sheet.ncols, self._quoted)
            sheet.fill(writer)
            writer.flush()
            last = get_column_letter(sheet.ncols)
            placeholder = f'<autoFilter ref="A{sheet.header_rows}:{last}{sheet.header_rows}"'
            final = f'<autoFilter ref="A{sheet.header_rows}:{last}{max(writer.last_row, sheet.header_rows)}"'
            dst.write(("</sheetData>" + tail.replace(placeholder, final, 1)).encode("utf-8"))
