"""The malicious-file corpus end to end: through the web upload page and the API upload endpoint.

tests/submissions/test_xlsx_malicious.py covers each file against the import service in depth; here the
same kinds of file (built by the tests, small and cheap: the 3M-row sheet is sparse) go through the real
HTTP entry points, as alice uploading for her school. Each must be refused with a Chinese message, with
bounded memory (tracemalloc peak < 50 MB for the whole request), and nothing stored. How fast each is refused
is measured by bench/bench_upload_refusals.py (BENCHMARKS.md), not by a timed test.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse
from openpyxl import load_workbook

from submissions import xlsx
from tests.security.conftest import World
from tests.security.test_permission_matrix import digest

SHEET = "xl/worksheets/sheet1.xml"
CJK = re.compile(r"[\u4e00-\u9fff]")
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="3"><c r="A3" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>"""


def replace_part(content: bytes, name: str, data: bytes | Callable[[bytes], bytes], extra: dict | None = None) -> bytes:
    """A copy of the workbook zip with one part replaced (``data`` may transform it) and parts added."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == name:
                body = data(body) if callable(data) else data
            target.writestr(info.filename, body)
        for extra_name, extra_body in (extra or {}).items():
            target.writestr(extra_name, extra_body)
    return out.getvalue()


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


def _with_formula(template: bytes) -> bytes:
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook[xlsx.DATA_SHEET]
    column = {cell.value: cell.column for cell in sheet[xlsx.CODE_ROW] if cell.value}["pri_new_entrants"]
    sheet.cell(row=xlsx.FIRST_DATA_ROW, column=column, value='=cmd|" /C calc"!A0')  # a DDE payload as a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sparse_rows(xml: bytes) -> bytes:
    # A "3,000,000-row" sheet: the dimension says so and the last row is number 3,000,000, yet the part is
    # a few hundred bytes. The reader must stop at the first row past the template, not walk 3M rows.
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:Z3000000"/>', xml)
    return xml.replace(b"</sheetData>", b'<row r="3000000"><c r="D3000000"><v>1</v></c></row></sheetData>')


def _macro_type(xml: bytes) -> bytes:
    # What Excel writes for an .xlsm: the workbook part declared macro-enabled.
    return xml.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )


@dataclass(frozen=True)
class Case:
    build: Callable[[World], bytes]
    expect: str  # a piece of the Chinese message
    period: str = "2023Q2"


CORPUS: dict[str, Case] = {
    # a 4 MB part of zeros deflates ~1000:1; refused from the zip directory, before inflating anything
    "zip bomb by ratio": Case(lambda w: replace_part(w.a.template, "", b"", {"xl/media/z.xml": b"\0" * 4_000_000}),
                              "压缩炸弹"),
    "3M-row sheet (sparse)": Case(lambda w: replace_part(w.a.template, SHEET, _sparse_rows), "行数超过模板中的单位数"),
    "entity expansion in the sheet": Case(lambda w: replace_part(w.a.template, SHEET, BILLION_LAUGHS), "DTD"),
    "external entity in shared strings": Case(
        lambda w: replace_part(w.a.template, "", b"", {"xl/sharedStrings.xml": XXE}), "DTD"),
    ".xls renamed to .xlsx": Case(lambda w: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096, ".xls"),
    ".csv renamed to .xlsx": Case(lambda w: "单位代码,小学新生数\nS1,100\n".encode(), "不是 Excel 工作簿"),
    ".zip renamed to .xlsx": Case(lambda w: _zip({"readme.txt": b"hello"}), "[Content_Types].xml"),
    "macros (vbaProject.bin)": Case(
        lambda w: replace_part(w.a.template, "", b"", {"xl/vbaProject.bin": b"\0VBA" * 100}), "宏"),
    "macro-enabled content type": Case(
        lambda w: replace_part(w.a.template, "[Content_Types].xml",
                               _macro_type), "宏"),
    "formula in a cell": Case(lambda w: _with_formula(w.a.template), "公式"),
    "template of another period": Case(lambda w: w.a.template, "不能作为 2023Q4 的数据上传", period="2023Q4"),
    "template of another school": Case(lambda w: w.b.template, "没有以下单位的填报权限"),
}  # fmt: skip


def _upload_urls() -> dict[str, str]:
    urls = {"web": reverse("submissions:template_upload")}
    try:
        urls["api"] = reverse("api_submission_upload")
    except NoReverseMatch:  # the API upload endpoint is being added by the submissions app
        pass
    return urls


def _messages(channel: str, response: object) -> str:
    if channel == "api":
        errors = response.json()["errors"]  # type: ignore[attr-defined]
        return " ".join(m for messages in errors.values() for m in messages)
    return response.content.decode()  # type: ignore[attr-defined]


def test_the_clean_template_is_stored_through_both_channels(world: World, db: None) -> None:
    # The control case: without it every refusal below could pass for a wrong reason.
    for channel, url in _upload_urls().items():
        client = Client()
        client.force_login(world.users.alice)
        with transaction.atomic():
            before = digest()
            response = client.post(url, {"period": "2023Q2", "file": _named(world.a.template)})
            assert response.status_code == 200, (channel, response.content[:500])
            assert digest() != before
            transaction.set_rollback(True)  # the next channel stores the same file again


def _named(content: bytes) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = "填报模板.xlsx"
    return stream


@pytest.mark.parametrize("channel", ["web", "api"])
@pytest.mark.parametrize("name", list(CORPUS))
def test_a_malicious_file_is_refused_bounded_and_nothing_stored(
    world: World, db: None, channel: str, name: str
) -> None:
    urls = _upload_urls()
    if channel not in urls:
        pytest.skip("POST /api/v1/submissions/upload/ is not there yet")
    case = CORPUS[name]
    content = case.build(world)
    client = Client()
    client.force_login(world.users.alice)
    before = digest()
    tracemalloc.start()
    try:
        response = client.post(urls[channel], {"period": case.period, "file": _named(content)})
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert response.status_code in (400, 403), (response.status_code, response.content[:300])
    message = _messages(channel, response)
    assert case.expect in message, message[:2000]
    assert CJK.search(message)
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1048576:.1f} MB"
    assert digest() == before, "something was stored"
