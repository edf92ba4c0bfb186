"""The Excel progress workbook of a plan for one scope, written with openpyxl's write-only mode.

Sheets: 概览 (plan, scope, as-of, counts by status, a native line chart of quarterly progress for
rate targets), one sheet per section (the dashboard rows), one drill-down sheet per unit-level
target (one row per school), and 指标数据 (the indicator values of every unit in scope).

The numbers come from the same functions as the pages (``reports.queries``), so they agree to the
digit. Big sheets are read with one query each through a server-side cursor, ``BATCH_SIZE`` rows at a
time, and their rows written as XML text straight into the zip (``reports.xlsx_stream``): memory
stays flat at 20,000 schools and no per-cell objects are built.

Safety: every text cell goes through ``portal.xlsx`` (unit names and target sentences are user input):
text beginning like a formula is a string cell with Excel's quote prefix, never a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any, TypeVar

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from indicators.models import Aggregation, Indicator, IndicatorValue
from indicators.unit_filter import UnitFilter
from plans.models import Plan
from portal.i18n import localized
from portal.xlsx import fit_width, safe_value, setup_sheet, text_cell, wrapped_row_height
from reports.queries import Dashboard, covering_targets, is_percent, plan_dashboard
from reports.xlsx_stream import RowWriter, StreamedBook
from schools.models import Level, OrgUnit
from submissions.models import Period
from targets.models import Comparator, Target
from targets.queries import STATUS_LABELS, TargetRow, drilldown_queryset, is_unit_level

BATCH_SIZE = 1000
# Excel opens at most 1,048,576 rows per sheet (a longer sheet is truncated or refused by Excel, with no
# word from us); a streamed sheet that would pass it continues on "指标数据 (2)", "(3)"…  Tests lower it.
MAX_SHEET_ROWS = 1_048_576
HEADER_ROWS = 3
# Red/amber/green fills; the status word is always written too (colour is never the only signal).
RAG_FILLS = {
    "met": PatternFill("solid", fgColor="C6EFCE"),
    "on_track": PatternFill("solid", fgColor="E2EFDA"),
    "at_risk": PatternFill("solid", fgColor="FFEB9C"),
    "off_track": PatternFill("solid", fgColor="FFC7CE"),
    "no_data": PatternFill("solid", fgColor="EDEDED"),
    "not_assessed": PatternFill("solid", fgColor="DDEBF7"),
    "below": PatternFill("solid", fgColor="FFC7CE"),  # a unit's value short of the target (targets.queries)
}
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")

ProgressCallback = Callable[[int], None]
T = TypeVar("T")


# --- Cells ---


def number_cell(ws: WriteOnlyWorksheet, value: Decimal | None, indicator: Indicator | None) -> Any:
    """A value in the indicator's format: percent indicators become Excel percentages (99.5 → 0.995)."""
    if value is None:
        return None
    decimals = indicator.decimals if indicator is not None else 1
    zeros = "." + "0" * decimals if decimals else ""
    if is_percent(indicator):
        cell = WriteOnlyCell(ws, value=value / 100)
        cell.number_format = f"0{zeros}%"
    else:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = f"#,##0{zeros}"
    return cell


def share_cell(ws: WriteOnlyWorksheet, value: Decimal | None) -> Any:
    """A share of units in % (70 → 70%), as an Excel percentage."""
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value / 100)
    cell.number_format = "0%"
    return cell


def status_cell(ws: WriteOnlyWorksheet, status: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=str(STATUS_LABELS.get(status, status)))
    cell.fill = RAG_FILLS.get(status, RAG_FILLS["no_data"])
    return cell


def header_row(ws: WriteOnlyWorksheet, headers: list[str]) -> list[WriteOnlyCell]:
    return [text_cell(ws, str(h), font=BOLD, fill=HEADER_FILL, alignment=WRAP) for h in headers]


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of []:*?/\\)."""
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in text).strip()[:31] or "Sheet"
    title, n = clean, 2
    while title in used:
        suffix = f"~{n}"
        title, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


# --- Workbook ---


def _periods(plan: Plan) -> list[Period]:
    return list(Period.objects.filter(year=plan.year).order_by("quarter"))


def _unit_level_targets(dash: Dashboard) -> list[Target]:
    return [row.target for row in dash.rows if is_unit_level(row.target) and row.target.indicator_id]


def _schools(target: Target, unit: OrgUnit) -> QuerySet[OrgUnit]:
    schools = OrgUnit.objects.filter(path__startswith=unit.path, level=Level.SCHOOL)
    return schools.filter(UnitFilter.of(target.indicator).covers_q())


def _indicator_ids(dash: Dashboard) -> list[int]:
    return sorted({row.target.indicator_id for row in dash.rows if row.target.indicator_id})


def count_rows(plan: Plan, unit: OrgUnit, period: Period | None) -> int:
    """How many rows the workbook will have: decides between streaming now and a background job.

    Queries: the covering targets, one count per unit-level target, one count of indicator values.
    """
    targets = list(covering_targets(plan, unit))
    total = len(targets)
    for target in targets:
        if is_unit_level(target) and target.indicator_id:
            total += _schools(target, unit).count()
    indicator_ids = {t.indicator_id for t in targets if t.indicator_id}
    if indicator_ids and period is not None:
        total += IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period=period, org_unit__path__startswith=unit.path
        ).count()
    return total


def build_workbook(
    plan: Plan,
    unit: OrgUnit,
    period: Period | None,
    out: IO[bytes],
    *,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Write the progress workbook to ``out``; returns the number of data rows written.

    ``on_progress(rows_done)`` is called after every batch (export jobs store it for the page).
    """
    periods = _periods(plan)
    dash = plan_dashboard(plan, unit, period, periods)
    wb = Workbook(write_only=True)
    book = StreamedBook(wb)
    used: set[str] = set()
    done = 0

    def tick(rows: int) -> None:
        nonlocal done
        done += rows
        if on_progress is not None:
            on_progress(done)

    _overview_sheet(wb, dash, used)
    for block in dash.sections:
        tick(_section_sheet(wb, dash, block.section.title, block.rows, used))
    for target in _unit_level_targets(dash):
        _drilldown_sheet(book, dash, target, used, tick)
    _data_sheet(book, dash, used, tick)
    # The drill-down and data rows are read and written here, straight into the zip (xlsx_stream).
    book.save(out)
    return done


def _scope_line(dash: Dashboard) -> str:
    as_of = timezone.localtime(dash.as_of).strftime("%Y-%m-%d %H:%M") if dash.as_of else _("无数据")
    period = dash.period.code if dash.period else "—"
    return _("范围：{unit}（{code}）  截至：{period}  计算时间：{as_of}").format(
        unit=dash.unit.name, code=dash.unit.code, period=period, as_of=as_of
    )


def _overview_sheet(wb: Workbook, dash: Dashboard, used: set[str]) -> None:
    ws = wb.create_sheet(sheet_title(_("概览"), used))
    setup_sheet(ws, [28, 14, 14, 14, 14, 14, 14, 14], header_rows=2)
    ws.append([text_cell(ws, dash.plan.title, font=TITLE_FONT)])
    ws.append([text_cell(ws, _scope_line(dash))])
    ws.append([])
    ws.append(header_row(ws, [_("状态"), _("目标数")]))
    for status, _label, count in dash.totals:
        ws.append([status_cell(ws, status), count])
    ws.append([text_cell(ws, _("合计"), font=BOLD), sum(c for _s, _n, c in dash.totals)])
    row_no = 5 + len(dash.totals)  # rows written so far

    # Quarterly actuals of the rate targets, and a native line chart drawn from them.
    rate_rows = [r for r in dash.rows if r.target.indicator_id and r.target.indicator.aggregation == Aggregation.RATIO][
        :12
    ]
    if not rate_rows or not dash.periods:
        return
    ws.append([])
    ws.append([text_cell(ws, _("比率类目标季度进展"), font=BOLD)])
    ws.append(header_row(ws, [_("季度"), *[r.target.code for r in rate_rows]]))
    first_data = row_no + 3
    for index, period in enumerate(dash.periods):
        ws.append(
            [
                safe_value(ws, period.code),
                *[number_cell(ws, r.trend[index].actual, r.target.indicator) for r in rate_rows],
            ]
        )
    last_data = first_data + len(dash.periods)
    chart = LineChart()
    chart.title = _("比率类目标季度进展")
    chart.y_axis.title = _("指标值")
    chart.x_axis.title = _("季度")
    chart.height, chart.width = 9, 18
    data = Reference(ws, min_col=2, max_col=1 + len(rate_rows), min_row=first_data, max_row=last_data)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first_data + 1, max_row=last_data))
    # Straight segments between the quarters: a series without <c:smooth val="0"/> is drawn as a smoothed curve,
    # which overshot a 99 % rate to 112 % between two points. Axes are kept (openpyxl would mark them deleted).
    for series in chart.series:
        series.smooth = False
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, f"D{first_data}")


# The section sheets' column widths add up to at most this many characters: printed fitted to one A4 landscape
# page width with narrow margins, that is a scale of about 80 % (a 150-character sheet would print at 100 %).
SECTION_PRINT_WIDTH = 182

SECTION_HEADERS = [
    _l("代码"),
    _l("目标原文"),
    _l("类型"),
    _l("指标"),
    _l("基线"),
    _l("比较"),
    _l("目标值"),
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    _l("当前值"),
    _l("预期值"),
    _l("状态"),
    _l("责任单位"),
    _l("最新进展"),
]


def _section_sheet(wb: Workbook, dash: Dashboard, title: str, rows: list[TargetRow], used: set[str]) -> int:
    ws = wb.create_sheet(sheet_title(title, used))
    # 16 columns on one A4 landscape page width at a legible scale (~80 %, about 9 pt): the sum of the widths
    # is held to SECTION_PRINT_WIDTH; long texts wrap in their cells instead of widening the page.
    widths = [
        fit_width([r.target.code for r in rows], 6, 10),
        34,
        8,
        fit_width([localized(r.target.indicator) for r in rows if r.target.indicator_id], 10, 16),
        8,
        8,
        8,
        *[7.5] * 4,
        8,
        8,
        7,
        fit_width([r.owner for r in rows], 8, 12),
        24,
    ]
    setup_sheet(ws, widths, header_rows=3)
    ws.append([text_cell(ws, f"{dash.plan.title} · {title}", font=TITLE_FONT)])
    ws.append([text_cell(ws, _scope_line(dash))])
    ws.append(header_row(ws, [str(h) for h in SECTION_HEADERS]))
    for row_no, row in enumerate(rows, start=4):
        target, indicator = row.target, row.target.indicator if row.target.indicator_id else None
        # A share target's quarters are shares (% of units meeting the rule), not values in the indicator's unit.
        quarters = [share_cell(ws, p.actual) if row.is_share else number_cell(ws, p.actual, indicator)
                    for p in row.trend[:4]]  # fmt: skip
        quarters += [None] * (4 - len(quarters))
        values = [
            target.code,
            target.text,
            str(target.get_kind_display()),
            localized(indicator) if indicator else None,
            number_cell(ws, target.baseline_value, indicator),
            _comparator_text(row),
            # A per-unit rule is said as a rule and its actual as a share, in the pages' words (targets.display).
            row.target_text if row.is_share else number_cell(ws, target.target_value, indicator),
            *quarters,
            number_cell(ws, row.actual, indicator) if row.actual is not None and not row.is_share else row.actual_text,
            number_cell(ws, row.expected, indicator),
            status_cell(ws, row.summary_status),
            row.owner or None,
            _note_text(row) or None,
        ]
        texts = [v.value if isinstance(v, Cell) else v for v in values]
        height = wrapped_row_height((v, w) for v, w in zip(texts, widths, strict=True) if isinstance(v, str))
        if height is not None:
            ws.row_dimensions[row_no].height = height
        ws.append(top_aligned(ws, values))
    ws.auto_filter.ref = f"A3:{get_column_letter(len(SECTION_HEADERS))}{3 + len(rows)}"
    return len(rows)


def top_aligned(ws: WriteOnlyWorksheet, values: list[Any]) -> list[Any]:
    """A row's cells aligned to the top of a row made taller for wrapped text: text wraps (never a formula),
    styled cells keep their style, numbers stay numbers."""
    cells: list[Any] = []
    for value in values:
        if value is None:
            cells.append(None)
        elif isinstance(value, str):
            cells.append(text_cell(ws, value, alignment=WRAP))
        elif isinstance(value, Cell):  # WriteOnlyCell makes Cells
            wrap = bool(value.alignment.wrap_text) or isinstance(value.value, str)  # a status word wraps too
            value.alignment = Alignment(wrap_text=wrap, vertical="top")
            cells.append(value)
        else:
            cell = WriteOnlyCell(ws, value=value)
            cell.alignment = TOP
            cells.append(cell)
    return cells


def _comparator_text(row: TargetRow) -> str | None:
    """The 比较 cell: the comparator's sign, or an ``improves`` target's words ("较上年同期提高")."""
    target = row.target
    if target.comparator == Comparator.IMPROVES:
        return row.target_text
    return target.get_comparator_display() if target.comparator else None


def _note_text(row: TargetRow) -> str:
    """The notes cell: an ``improves`` target's change ("+1.2 个百分点 较上年同期") or why it has no status,
    then the latest progress note."""
    return " · ".join(text for text in (row.improvement_text, row.reason_text, row.latest_note) if text)


def _batches(rows: Iterable[T]) -> Iterator[list[T]]:
    """``rows`` in lists of ``BATCH_SIZE`` (the export job's progress is saved per batch)."""
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def sheet_parts(total: int) -> list[slice]:
    """Row ranges of one long list split into sheets of at most MAX_SHEET_ROWS rows (headers included)."""
    per_sheet = MAX_SHEET_ROWS - HEADER_ROWS
    if total <= per_sheet:
        return [slice(None)]
    return [slice(start, start + per_sheet) for start in range(0, total, per_sheet)]


def part_title(base: str, number: int, used: set[str]) -> str:
    """The first part keeps ``base``; the next ones are "base (2)", "base (3)"…, cut to fit 31 characters."""
    if number == 1:
        return sheet_title(base, used)
    suffix = f" ({number})"
    return sheet_title(base[: 31 - len(suffix)] + suffix, used)


def part_line(line: str, number: int, parts: int) -> str:
    """The sheet's second line; on a split list it also says which part this is and why."""
    if parts == 1:
        return line
    note = _("第 {number}/{parts} 部分：Excel 每个工作表最多 {limit} 行，其余行在相邻的工作表中。").format(
        number=number, parts=parts, limit=f"{MAX_SHEET_ROWS:,}"
    )
    return f"{line}  {note}"


DRILL_HEADERS = [
    _l("代码"),
    _l("单位"),
    _l("上级单位"),
    _l("学校类型"),
    _l("办学性质"),
    _l("分子"),
    _l("分母"),
    _l("指标值"),
    _l("与目标差距"),
    _l("状态"),
    _l("提示"),
]


def number_style(book: StreamedBook, ws: WriteOnlyWorksheet, indicator: Indicator | None) -> tuple[int, bool]:
    """(style index, is percent) of a value in the indicator's format — the streamed twin of number_cell."""
    decimals = indicator.decimals if indicator is not None else 1
    zeros = "." + "0" * decimals if decimals else ""
    percent = is_percent(indicator)
    return book.style(ws, number_format=f"0{zeros}%" if percent else f"#,##0{zeros}"), percent


def status_styles(book: StreamedBook, ws: WriteOnlyWorksheet) -> dict[str, tuple[str, int]]:
    """Status code → (translated word, RAG fill style index)."""
    result = {}
    for status in dict.fromkeys([*STATUS_LABELS, *RAG_FILLS]):  # a fixed order: the same file every time
        fill = RAG_FILLS.get(status, RAG_FILLS["no_data"])
        result[status] = (str(STATUS_LABELS.get(status, status)), book.style(ws, fill=fill))
    return result


def _status(statuses: dict[str, tuple[str, int]], status: str | None) -> tuple[str, int] | None:
    if not status:
        return None
    return statuses.get(status) or (status, statuses["no_data"][1])


def _labels(field_name: str) -> dict[str, str]:
    """An OrgUnit choice field's labels, translated once (not once per row)."""
    return {key: str(label) for key, label in OrgUnit._meta.get_field(field_name).choices}


def _drilldown_sheet(
    book: StreamedBook, dash: Dashboard, target: Target, used: set[str], tick: Callable[[int], None]
) -> None:
    indicator = target.indicator
    school_types, ownerships = _labels("school_type"), _labels("ownership")
    line = _("{scope}  指标：{indicator}").format(scope=_scope_line(dash), indicator=localized(indicator))
    # One query per sheet read through a server-side cursor (PostgreSQL), BATCH_SIZE rows at a time: flat
    # memory, and no per-batch re-join and re-sort of the whole subtree (keyset batches cost 32 × 75 ms at
    # 20,000 units). Path order is unique, so a split list's parts neither skip nor repeat a row.
    rows = (
        drilldown_queryset(target, dash.unit, dash.period, rows="schools")
        .order_by("path")
        .values_list(
            "code",
            "name",
            "parent__name",
            "school_type",
            "ownership",
            "numerator",
            "denominator",
            "value",
            "gap",
            "status",
            "is_small",
            "carried_units",
        )
    )
    small = _("样本过小")
    parts = sheet_parts(rows.count())
    for number, part in enumerate(parts, start=1):
        ws = book.wb.create_sheet(part_title(f"{_('明细')}-{target.code}", number, used))
        setup_sheet(ws, [14, 30, 24, 14, 12, 12, 12, 12, 12, 10, 14], header_rows=HEADER_ROWS)
        ws.append([text_cell(ws, target.text, font=TITLE_FONT)])
        ws.append([text_cell(ws, part_line(line, number, len(parts)))])
        ws.append(header_row(ws, [str(h) for h in DRILL_HEADERS]))
        number_format, percent = number_style(book, ws, indicator)
        statuses = status_styles(book, ws)
        book.stream(
            ws,
            header_rows=HEADER_ROWS,
            ncols=len(DRILL_HEADERS),
            fill=_drilldown_fill(rows[part], (number_format, percent), statuses, school_types, ownerships, small, tick),
        )


def _drilldown_note(small: str, carried: int | None) -> str | None:
    """The 提示 cell of a unit: a small denominator, a value carried forward from an earlier quarter."""
    notes = [small] if small else []
    if carried:
        notes.append(_("沿用此前季度的数据（{n} 个单位）").format(n=carried))
    return "；".join(notes) or None


def _drilldown_fill(
    rows: QuerySet,
    style: tuple[int, bool],
    statuses: dict[str, tuple[str, int]],
    school_types: dict[str, str],
    ownerships: dict[str, str],
    small: str,
    tick: Callable[[int], None],
) -> Callable[[RowWriter], None]:
    """The row writer of one drill-down sheet (or one part of a split one)."""
    number, percent = style

    def fill(writer: RowWriter) -> None:
        for batch in _batches(rows.iterator(chunk_size=BATCH_SIZE)):
            for code, name, parent, school_type, ownership, num, den, value, gap, status, is_small, carried in batch:
                if percent:
                    value = None if value is None else value / 100
                    gap = None if gap is None else gap / 100
                writer.append(
                    (
                        code,
                        name,
                        parent,
                        school_types.get(school_type, school_type),
                        ownerships.get(ownership, ownership),
                        num,
                        den,
                        (value, number),
                        (gap, number),
                        _status(statuses, status),
                        _drilldown_note(small if is_small else "", carried),
                    )
                )
            tick(len(batch))

    return fill


DATA_HEADERS = [
    _l("指标代码"),
    _l("指标"),
    _l("单位代码"),
    _l("单位"),
    _l("层级"),
    _l("周期"),
    _l("分子"),
    _l("分母"),
    _l("指标值"),
    _l("参与单位数"),
]


def _data_sheet(book: StreamedBook, dash: Dashboard, used: set[str], tick: Callable[[int], None]) -> None:
    title = f"{dash.plan.title} · {_('指标数据')}"
    indicator_ids = _indicator_ids(dash)
    period = dash.period
    if not indicator_ids or period is None:
        _data_part(book, used, title, _scope_line(dash), 1)
        return
    indicators = {i.pk: i for i in Indicator.objects.filter(pk__in=indicator_ids)}
    levels = {key: str(label) for key, label in Level.choices}
    # One query per sheet in (unit path, indicator code) order — unique for one period, so a split list's
    # parts neither skip nor repeat a row — through a server-side cursor, like the drill-downs.
    values = (
        IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period=period, org_unit__path__startswith=dash.unit.path
        )
        .order_by("org_unit__path", "indicator__code")
        .values_list(
            "indicator_id",
            "org_unit__code",
            "org_unit__name",
            "org_unit__level",
            "numerator",
            "denominator",
            "value",
            "unit_count",
        )
    )
    parts = sheet_parts(values.count())
    for number, part in enumerate(parts, start=1):
        ws = _data_part(book, used, title, part_line(_scope_line(dash), number, len(parts)), number, start=False)
        # Per indicator: the style of its values (registered on each sheet, as openpyxl needs).
        formats = {pk: number_style(book, ws, indicator) for pk, indicator in indicators.items()}
        book.stream(
            ws,
            header_rows=HEADER_ROWS,
            ncols=len(DATA_HEADERS),
            fill=_data_fill(values[part], indicators, formats, levels, period.code, tick),
        )


def _data_part(
    book: StreamedBook, used: set[str], title: str, line: str, number: int, *, start: bool = True
) -> WriteOnlyWorksheet:
    """A 指标数据 sheet with its title, scope line and header row; ``start``: also stream it, empty."""
    ws = book.wb.create_sheet(part_title(_("指标数据"), number, used))
    setup_sheet(ws, [22, 30, 14, 30, 12, 10, 14, 14, 12, 10], header_rows=HEADER_ROWS)
    ws.append([text_cell(ws, title, font=TITLE_FONT)])
    ws.append([text_cell(ws, line)])
    ws.append(header_row(ws, [str(h) for h in DATA_HEADERS]))
    if start:
        book.stream(ws, header_rows=HEADER_ROWS, ncols=len(DATA_HEADERS), fill=lambda writer: None)
    return ws


def _data_fill(
    values: QuerySet,
    indicators: dict[int, Indicator],
    formats: dict[int, tuple[int, bool]],
    levels: dict[str, str],
    period_code: str,
    tick: Callable[[int], None],
) -> Callable[[RowWriter], None]:
    """The row writer of one 指标数据 sheet (or one part of a split one)."""

    def fill(writer: RowWriter) -> None:
        for batch in _batches(values.iterator(chunk_size=BATCH_SIZE)):
            for ind_id, code, name, level, numerator, denominator, value, unit_count in batch:
                indicator = indicators[ind_id]
                style, percent = formats[ind_id]
                if percent and value is not None:
                    value = value / 100
                writer.append(
                    (
                        indicator.code,
                        localized(indicator),
                        code,
                        name,
                        levels.get(level, level),
                        period_code,
                        numerator,
                        denominator,
                        (value, style),
                        unit_count,
                    )
                )
            tick(len(batch))

    return fill
