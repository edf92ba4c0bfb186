"""A target page's drill-down table as CSV or .xlsx, the same bytes whether written in the request or by an
export job: rows read as tuples (``DrilldownTable.export_rows``), never through django-tables2's per-cell
path; text made formula-safe by ``portal.xlsx`` (CSV) and ``reports.xlsx_stream`` (.xlsx inline strings with
Excel's quote prefix).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal import scope
from portal.xlsx import HEADER_FILL, HEADER_FONT, fit_width, setup_sheet, text_cell, write_csv
from reports.xlsx_stream import RowWriter, StreamedBook
from schools.models import OrgUnit
from submissions.models import Period
from targets.filters import DrilldownFilterSet
from targets.models import Target
from targets.queries import drilldown_queryset
from targets.tables import DrilldownTable, table_kwargs

FORMATS = ("csv", "xlsx")
# What of the page's query string the export keeps: rows mode, the filters and the sort order.
KEPT_PARAMS = ("rows", "school_type", "ownership", "sort")


def kept_params(query: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(query[name]) for name in KEPT_PARAMS if query.get(name)}


def drilldown_table(
    user: Any, target: Target, unit: OrgUnit, period: Period | None, params: Mapping[str, str]
) -> DrilldownTable:
    """The page's table for these parameters: the user's scope, the filters, the sort (default: by gap)."""
    rows_mode = "schools" if params.get("rows") == "schools" else "children"
    queryset = scope.filter_by_scope(user, drilldown_queryset(target, unit, period, rows_mode))
    queryset = DrilldownFilterSet(dict(params), queryset=queryset).qs
    return DrilldownTable(queryset, **table_kwargs(target, rows_mode), order_by=params.get("sort") or None)


def filename(target: Target, unit: OrgUnit, export_format: str) -> str:
    return f"{target.plan.code}-{target.code}-{unit.code}.{export_format}"


def write(table: DrilldownTable, export_format: str, out: IO[bytes]) -> int:
    """Write the table to ``out`` as CSV or .xlsx; returns the number of data rows."""
    header = table.export_header()
    rows = table.export_rows()
    if export_format == "csv":
        return write_csv(header, rows, out)
    book = StreamedBook(Workbook(write_only=True))
    ws = book.wb.create_sheet(_("明细"))
    setup_sheet(ws, [fit_width([name], 8, 40) + 4 for name in header], header_rows=1)
    ws.append([text_cell(ws, name, font=HEADER_FONT, fill=HEADER_FILL) for name in header])
    count = 0

    def fill(writer: RowWriter) -> None:
        nonlocal count
        for row in rows:
            writer.append(row)
            count += 1

    book.stream(ws, header_rows=1, ncols=len(header), fill=fill)
    book.save(out)
    return count
