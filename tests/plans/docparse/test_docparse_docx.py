"""Text of a .docx plan: paragraphs, tables, and Word's automatic heading numbers rebuilt."""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from plans.docparse import parse_text
from plans.docparse.docx_text import DocxTextError, chinese_number, docx_to_text, format_counter

ABSTRACT = f"""
<w:abstractNum {nsdecls("w")} w:abstractNumId="90">
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/></w:lvl>
</w:abstractNum>
"""
NUM = f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'


def numbered(document: Any, text: str, level: int) -> None:
    paragraph = document.add_paragraph(text)
    paragraph._p.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>')
    )


def saved(document: Any) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def plan_document() -> bytes:
    document = Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(ABSTRACT))
    numbering.append(parse_xml(NUM))
    document.add_paragraph("某县2024年教育工作要点")
    numbered(document, "主要目标", 0)
    document.add_paragraph("学前三年毛入园率达到92%以上。")
    numbered(document, "重点工作", 0)
    numbered(document, "推进优质均衡", 1)
    numbered(document, "扩大学位供给。新建幼儿园5所。", 2)
    numbered(document, "强化集团办学。每学期考核一次。", 2)
    numbered(document, "规范办学行为", 1)
    numbered(document, "加强作业管理。严禁布置惩罚性作业。", 2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).text = "目标"
    table.cell(1, 0).text = "巩固率"
    table.cell(1, 1).text = "98%"
    return saved(document)


def test_word_numbering_is_rebuilt_as_heading_markers() -> None:
    lines = docx_to_text(plan_document()).split("\n")
    assert lines[:9] == [
        "某县2024年教育工作要点",
        "一、主要目标",
        "学前三年毛入园率达到92%以上。",
        "二、重点工作",
        "（一）推进优质均衡",
        "1.扩大学位供给。新建幼儿园5所。",
        "2.强化集团办学。每学期考核一次。",
        "（二）规范办学行为",
        "1.加强作业管理。严禁布置惩罚性作业。",
    ]
    assert lines[9:] == ["指标\t目标", "巩固率\t98%"]


def test_docx_text_parses_into_a_draft() -> None:
    draft = parse_text(docx_to_text(plan_document()))
    assert draft.title == "某县2024年教育工作要点"
    assert [s.title for s in draft.sections] == ["主要目标", "重点工作", "推进优质均衡", "规范办学行为"]
    assert [w.title for w in draft.work_items] == ["扩大学位供给", "强化集团办学", "加强作业管理"]
    kinds = {t.text: t.kind for t in draft.targets}
    assert kinds["学前三年毛入园率达到92%以上"] == "threshold"
    assert kinds["新建幼儿园5所"] == "count_units"
    assert kinds["严禁布置惩罚性作业"] == "limit"


def test_not_a_word_document() -> None:
    with pytest.raises(DocxTextError):
        docx_to_text(b"%PDF-1.7 not a zip")


@pytest.mark.parametrize(("value", "text"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (105, "一百零五")])
def test_chinese_counters(value: int, text: str) -> None:
    assert chinese_number(value) == text


def test_other_counter_formats() -> None:
    assert format_counter(4, "upperRoman") == "IV"
    assert format_counter(2, "lowerLetter") == "b"
    assert format_counter(3, "bullet") == ""
    assert format_counter(7, "decimal") == "7"
