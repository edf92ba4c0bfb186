"""The bulletin as a Word document (python-docx): cover, summary by section, the achieved / at-risk / off-track
lists with the owners' words, league tables and their charts.

Every piece of user-typed text (target texts, owners' notes, unit names) is written as a text run, which
python-docx escapes; ``content.clean`` has already dropped the characters XML forbids. No template is filled in.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any

from django.utils.translation import gettext as _

from reports.bulletin import charts
from reports.bulletin.content import BulletinContent, LeagueTable, ListedTarget

CJK_FONT_NAME = "Noto Sans CJK SC"


def no_data_text() -> str:
    """What every part of a bulletin without data says."""
    return _("本季度暂无数据")


def _set_fonts(document: Any) -> None:
    """Latin and East Asian fonts on the styles the bulletin uses (LibreOffice renders with these)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption"):
        style = document.styles[name]
        style.font.name = CJK_FONT_NAME
        rpr = style.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FONT_NAME)
    document.styles["Normal"].font.size = Pt(10.5)


def _no_data(document: Any, content: BulletinContent, empty_text: str) -> None:
    document.add_paragraph(no_data_text() if not content.has_data else empty_text)


def _table(document: Any, header: list[str], rows: list[list[str]], widths: list[float] | None = None) -> Any:
    from docx.shared import Cm

    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text  # a text run: escaped by python-docx
    if widths:
        # Both the grid (LibreOffice reads it) and each cell (Word reads those).
        table.autofit = False
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = Cm(width)
    return table


def _picture(document: Any, chart: charts.Chart, caption: str, width_cm: float = 15.5) -> None:
    from docx.shared import Cm

    document.add_paragraph()
    document.add_picture(io.BytesIO(chart.png), width=Cm(width_cm))
    text = caption if not chart.legend else f"{caption}（{'；'.join(chart.legend)}）"
    document.add_paragraph(text, style="Caption")


def _cover(document: Any, content: BulletinContent) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    for _i in range(4):
        document.add_paragraph()
    bureau = document.add_paragraph()
    bureau.alignment = WD_ALIGN_PARAGRAPH.CENTER
    bureau.add_run(content.bureau).bold = True
    title = document.add_heading(_("进展通报"), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in (
        content.plan_title,
        content.period_label,
        _("范围：%(scope)s") % {"scope": content.scope},
        _("生成日期：%(date)s") % {"date": content.generated_on.isoformat()},
    ):
        paragraph = document.add_paragraph(line)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _summary(document: Any, content: BulletinContent, chart: charts.Chart | None) -> None:
    document.add_heading(_("一、总体情况"), level=1)
    if not content.has_data:
        document.add_paragraph(no_data_text())
        return
    total = sum(n for _s, _l, n in content.totals)
    parts = "，".join(_("%(label)s %(n)s 项") % {"label": label, "n": n} for _s, label, n in content.totals if n)
    document.add_paragraph(
        _("本季度共跟踪目标 %(total)s 项：%(parts)s。") % {"total": total, "parts": parts or _("无")}
    )
    _table(document, [_("状态"), _("目标数")], [[label, str(n)] for _s, label, n in content.totals])
    if chart is not None:
        _picture(document, chart, _("图 1　各状态目标数"))
    document.add_heading(_("二、分项进展"), level=1)
    if not content.sections:
        document.add_paragraph(no_data_text())
        return
    labels = [label for _s, label, _n in content.totals]
    rows = []
    for section in content.sections:
        counts = {label: n for _s, label, n in section.counts}
        rows.append([section.title, *[str(counts.get(label, 0)) for label in labels]])
    other = (16.6 - 4.6) / max(1, len(labels))
    _table(document, [_("部分"), *labels], rows, widths=[4.6, *[other] * len(labels)])


def _listing(document: Any, content: BulletinContent, heading: str, items: list[ListedTarget], empty: str) -> None:
    document.add_heading(heading, level=1)
    if not items:
        _no_data(document, content, empty)
        return
    _table(
        document,
        [_("编号"), _("目标"), _("当前值"), _("目标值"), _("责任单位"), _("情况说明")],
        [[t.code, t.text, t.actual, t.goal, t.owner, t.reason or "—"] for t in items],
        widths=[1.3, 5.3, 2.2, 2.4, 2.2, 3.2],
    )


def _leagues(document: Any, content: BulletinContent, league_charts: list[charts.Chart]) -> None:
    document.add_heading(_("六、排行榜"), level=1)
    if not content.leagues:
        _no_data(document, content, _("本季度下级单位数据不足，暂无排行。"))
        return
    for number, (league, chart) in enumerate(zip(content.leagues, league_charts, strict=True), start=2):
        _league(document, league, chart, number)


def _league(document: Any, league: LeagueTable, chart: charts.Chart, number: int) -> None:
    document.add_heading(league.title, level=2)
    rows = [[str(r.rank), r.name, r.value_text] for r in league.top]
    if league.bottom:
        if len(league.top) + len(league.bottom) < league.ranked:
            rows.append(["…", "", ""])
        rows.extend([str(r.rank), r.name, r.value_text] for r in league.bottom)
    _table(document, [_("名次"), _("单位"), _("数值")], rows, widths=[2.0, 9.6, 5.0])
    _picture(document, chart, _("图 %(n)s　%(title)s") % {"n": number, "title": league.title})


def draw_charts(content: BulletinContent) -> tuple[charts.Chart | None, list[charts.Chart]]:
    """The summary chart (None without data) and one chart per league table."""
    summary = charts.status_chart([c for c in content.totals if c[2]]) if content.has_data else None
    leagues = [
        charts.league_chart([(r.name, r.value, r.value_text) for r in league.top + league.bottom], league.goal)
        for league in content.leagues
    ]
    return summary, leagues


def write_docx(
    content: BulletinContent,
    handle: IO[bytes],
    drawn: tuple[charts.Chart | None, list[charts.Chart]] | None = None,
    on_step: Callable[[], None] | None = None,
) -> None:
    """Write the bulletin's .docx into ``handle`` (charts drawn here unless given)."""
    from docx import Document
    from docx.shared import Cm

    summary_chart, league_charts = drawn if drawn is not None else draw_charts(content)
    if on_step is not None:
        on_step()
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2.2)
    _set_fonts(document)
    document.core_properties.title = f"{content.plan_title} · {_('进展通报')} · {content.period_label}"
    _cover(document, content)
    _summary(document, content, summary_chart)
    none = _("本季度无此类目标。")
    _listing(document, content, _("三、已达成目标"), content.achieved, none)
    _listing(document, content, _("四、有风险目标"), content.at_risk, none)
    _listing(document, content, _("五、滞后目标"), content.off_track, none)
    _leagues(document, content, league_charts)
    document.save(handle)
