"""The project's base table, and the one export of every table (XLSX or CSV, text kept as text)."""

from __future__ import annotations

from collections.abc import Iterable

import django_tables2 as tables
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _

from portal import xlsx

EXPORT_FORMATS = ("csv", "xlsx")


class BaseTable(tables.Table):
    class Meta:
        attrs = {"class": "table"}
        template_name = "includes/table.html"
        empty_text = _("暂无数据")
        per_page = 50


def export_table(
    table: tables.Table, export_format: str, filename: str, exclude_columns: Iterable[str] = ()
) -> HttpResponse:
    """``table``'s export values (django-tables2 ``as_values``) as an .xlsx or CSV download.

    Every list page exports through here (not tablib, which writes "=…" as a live formula): text
    that begins like a formula stays text (``portal.xlsx``), numbers stay numbers, and the CSV is
    UTF-8 with a BOM. Any other format is not offered: 404.
    """
    rows = table.as_values(exclude_columns=tuple(exclude_columns))
    if export_format == "xlsx":
        response = HttpResponse(xlsx.table_workbook(rows, _sheet_title(table)), content_type=xlsx.XLSX_CONTENT_TYPE)
    elif export_format == "csv":
        response = HttpResponse(xlsx.csv_bytes(rows), content_type=xlsx.CSV_CONTENT_TYPE)
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _sheet_title(table: tables.Table) -> str:
    """The sheet's name: the model's plural name (as the tablib export had it), else "Sheet1"."""
    model = getattr(table.Meta, "model", None)
    name = str(model._meta.verbose_name_plural) if model is not None else ""
    return "".join(ch for ch in name if ch not in "[]:*?/\\")[:31].strip() or "Sheet1"
