"""Plan-document uploads: bad files get a clear translated error, good ones their text."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.utils import translation
from docx import Document

from plans.docparse import parse_text
from plans.document_upload import check_has_plan, decode_text, read_plan_document
from portal.upload_safety import UploadRejected

PLAN = "某县2024年教育工作要点\n一、主要目标\n学前三年毛入园率达到92%以上。\n"


def docx_bytes(*paragraphs: str) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The same zip with some parts replaced or added (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = (replace or {}).get(info.filename, source.read(info.filename))
            target.writestr(info.filename, body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def rejected(data: bytes, filename: str, **kwargs: Any) -> str:
    with pytest.raises(UploadRejected) as caught:
        read_plan_document(io.BytesIO(data), filename, **kwargs)
    return caught.value.message


def test_a_word_document_is_read() -> None:
    text = read_plan_document(io.BytesIO(docx_bytes("某县2024年教育工作要点", "一、主要目标")), "要点.docx")
    assert text == "某县2024年教育工作要点\n一、主要目标"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_files_in_the_encodings_bureaus_use(encoding: str) -> None:
    text = read_plan_document(io.BytesIO(PLAN.encode(encoding)), "要点.TXT")
    assert text == PLAN


def test_empty_file() -> None:
    assert rejected(b"", "plan.docx") == "文件为空。"


def test_a_fifty_megabyte_document_is_refused_before_it_is_opened() -> None:
    message = rejected(b"PK\x03\x04" + b"\x00" * (50 * 1024 * 1024), "plan.docx")
    assert message.startswith("文件过大（50.0 MB）")


def test_a_large_text_file_is_refused() -> None:
    assert rejected(("一" * 1_000_000).encode(), "plan.txt").startswith("文件过大")


@pytest.mark.parametrize("filename", ["plan.docx", "plan.txt"])
def test_a_pdf_renamed_is_refused(filename: str) -> None:
    assert rejected(b"%PDF-1.7\n%...", filename).startswith("这是 PDF 文件")


def test_a_legacy_doc_renamed_docx_is_refused() -> None:
    assert "旧版 Word" in rejected(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "plan.docx")


def test_legacy_extension_and_other_types() -> None:
    assert "旧版 Word" in rejected(b"x", "plan.doc")
    assert rejected(b"x", "plan.pdf").startswith("只能上传 Word 文档")
    assert rejected(b"{\\rtf1 hello}", "plan.docx").startswith("文件不是 Word 文档")


def test_a_zip_bomb_is_refused_from_the_directory() -> None:
    bomb = rezip(docx_bytes("x"), add={"word/media/zeros.bin": b"\x00" * (30 * 1024 * 1024)})
    assert rejected(bomb, "plan.docx") == "文件压缩比异常，疑似压缩炸弹，已拒绝。"


def test_too_many_parts_are_refused() -> None:
    crowded = rezip(docx_bytes("x"), add={f"word/p{index}.xml": b"<a/>" for index in range(600)})
    assert rejected(crowded, "plan.docx") == "文件内部结构异常（部件过多），已拒绝。"


def test_macros_are_refused() -> None:
    with_vba = rezip(docx_bytes("x"), add={"word/vbaProject.bin": b"\x00vba"})
    assert rejected(with_vba, "plan.docx").startswith("文档包含宏")
    assert rejected(docx_bytes("x"), "plan.docm").startswith("文档包含宏")


def test_the_macro_content_type_is_refused() -> None:
    original = docx_bytes("x")
    types = zipfile.ZipFile(io.BytesIO(original)).read("[Content_Types].xml")
    macro = types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    assert rejected(rezip(original, replace={"[Content_Types].xml": macro}), "plan.docx").startswith("文档包含宏")


def test_an_entity_declaration_in_a_part_is_refused() -> None:
    original = docx_bytes("x")
    document = zipfile.ZipFile(io.BytesIO(original)).read("word/document.xml")
    evil = document.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>', 1)
    message = rejected(rezip(original, replace={"word/document.xml": evil}), "plan.docx")
    assert message == "文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。"


def test_a_workbook_renamed_docx_is_refused() -> None:
    original = docx_bytes("x")
    types = zipfile.ZipFile(io.BytesIO(original)).read("[Content_Types].xml")
    sheet = types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    )
    message = rejected(rezip(original, replace={"[Content_Types].xml": sheet}), "plan.docx")
    assert message.startswith("文件不是 Word 文档")


def test_a_plain_zip_renamed_docx_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert rejected(out.getvalue(), "plan.docx").startswith("压缩包不是 Word 文档")


def test_a_truncated_docx_is_refused() -> None:
    data = docx_bytes("某县2024年教育工作要点")
    assert rejected(data[: len(data) // 2], "plan.docx") == "文件已损坏，无法作为 Word 文档（.docx）打开。"


def test_binary_or_zip_text_files_are_refused() -> None:
    assert rejected(b"abc\x00def", "plan.txt") == "文件不是纯文本（.txt）。"
    assert rejected(docx_bytes("x"), "plan.txt").startswith("文件不是纯文本")


def test_undecodable_text() -> None:
    with pytest.raises(UploadRejected) as caught:
        decode_text(b"\x81\x30\xff\xff")
    assert caught.value.message.startswith("无法识别文本文件的编码")


def test_text_with_no_plan_is_refused() -> None:
    with pytest.raises(UploadRejected) as caught:
        check_has_plan(parse_text("今天天气很好。我们去公园散步。"))
    assert caught.value.message.startswith("没有识别出工作要点")
    check_has_plan(parse_text(PLAN))  # a real plan passes


def test_messages_are_translated() -> None:
    with translation.override("en"):
        assert rejected(b"%PDF-1.7", "plan.docx").startswith("This is a PDF")
        assert rejected(docx_bytes("x"), "plan.docm").startswith("The document contains macros")
