"""The malicious-file corpus: each file is built here and must be refused, bounded, nothing stored.

Every case goes through ``import_template`` (what the web page and the API call) under
tracemalloc; the memory bound (50 MB) is a generous sanity limit that does not depend on the
machine's load. How fast each file is refused is measured by ``bench/bench_upload_refusals.py``
(BENCHMARKS.md), not here. Messages must be Chinese and say what is wrong.
"""

from __future__ import annotations

import io
import os
import re
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
from django.core import signing
from openpyxl import load_workbook

from portal.errors import ServiceError
from portal.xlsx import ImportErrors
from submissions.models import Submission, SubmissionHistory, Value
from submissions.upload_safety import UploadRejected
from submissions.xlsx import DATA_SHEET, KEY_SHEET, TemplateKey, import_template
from tests.submissions.test_xlsx_support import download, fill, upload

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
SHEET = "xl/worksheets/sheet1.xml"
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
</Types>"""


def rejected(content: bytes, user, period=None, unit=None, expect: str = "") -> str:
    """Upload ``content``; assert it is refused within the bounds and return the message(s)."""
    stream = io.BytesIO(content)
    tracemalloc.start()
    try:
        with pytest.raises(ServiceError) as caught:
            import_template(stream, user=user, period=period, unit=unit)
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert isinstance(caught.value, UploadRejected | ImportErrors)
    message = " ".join(m for messages in caught.value.errors.values() for m in messages)
    assert CJK.search(message), message
    assert expect in message, message
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1048576:.1f} MB"
    assert Value.objects.count() == 0
    assert Submission.objects.count() == 0
    assert SubmissionHistory.objects.count() == 0
    return message


def replace_part(content: bytes, name: str, data: bytes | Callable[[bytes], bytes], extra: dict | None = None) -> bytes:
    """A copy of the zip with one part replaced (``data`` may transform the old bytes) and parts added."""
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


@pytest.fixture
def template(client, users, setup) -> bytes:
    """alice's (principal of S1) template for 2023Q1, with one valid value filled in."""
    client.force_login(users.alice)
    return fill(download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): 100})


def test_the_clean_template_itself_is_accepted(template, users, setup):
    # The control case: without it every "rejected" below could pass for a wrong reason.
    result = import_template(io.BytesIO(template), user=users.alice, period=setup.q1)
    assert result.values_changed == 1


def test_a_zip_bomb_by_ratio_is_refused_from_the_directory(template, users):
    # 30 MB of one byte deflates to ~30 KB: ratio ~1000:1 on a part over 1 MB.
    bomb = replace_part(template, SHEET, b"<" + b"0" * (30 * 1024 * 1024))
    assert len(bomb) < 200_000
    rejected(bomb, users.alice, expect="压缩炸弹")


def test_too_much_uncompressed_data_is_refused(template, users):
    # Many 1 MB parts of random-ish text: each ratio is fine, the total (80 MB) is not.
    parts = {f"xl/media/pad{i}.xml": (b"<a>%d</a>" % i) * 120_000 for i in range(80)}
    big = replace_part(template, "", b"", extra=parts)
    rejected(big, users.alice, expect="压缩炸弹")


def test_a_sheet_with_more_rows_than_units_is_refused_without_reading_it_all(template, users, setup):
    # S1's template has one unit row (row 3); this sheet has 200,000 rows of numbers after it.
    rows = "".join(f'<row r="{r}"><c r="D{r}"><v>{r}</v></c></row>' for r in range(4, 200_004))

    def grow(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", rows.encode() + b"</sheetData>")

    huge = replace_part(template, SHEET, grow)
    message = rejected(huge, users.alice, period=setup.q1)
    assert "第 4 行超出模板范围" in message


def test_a_three_million_row_sheet_is_refused_by_size_before_parsing(template, users):
    # 3M rows of ~40 bytes = ~120 MB of XML: refused from the zip directory (total uncompressed).
    row = b'<row r="9"><c r="D9"><v>1</v></c></row>'
    rows = row * 3_000_000
    huge = replace_part(template, SHEET, lambda xml: xml.replace(b"</sheetData>", rows + b"</sheetData>"))
    rejected(huge, users.alice, expect="压缩炸弹")


def test_an_oversized_shared_strings_part_is_refused_before_openpyxl_loads_it(template, users):
    # openpyxl loads shared strings whole even in read-only mode: 6 MB of incompressible text is refused.
    strings = b"<sst>" + os.urandom(3 * 1024 * 1024).hex().encode() + b"</sst>"
    rejected(replace_part(template, "", b"", extra={"xl/sharedStrings.xml": strings}), users.alice, expect="部件过大")


def test_one_giant_cell_in_the_sheet_stays_within_the_memory_bound(template, users, setup):
    # A single 16 MB inline string (incompressible, so no ratio alarm) in S1's first figure cell.
    giant = os.urandom(8 * 1024 * 1024).hex()

    def stuff(xml: bytes) -> bytes:
        return re.sub(
            rb'<c r="D3"[^>]*>.*?</c>',
            b'<c r="D3" t="inlineStr"><is><t>' + giant.encode() + b"</t></is></c>",
            xml,
            count=1,
        )

    rejected(replace_part(template, SHEET, stuff), users.alice, period=setup.q1, expect="请输入数字")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="3"><c r="A3" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def test_xml_entity_expansion_in_a_sheet_is_refused(template, users):
    rejected(replace_part(template, SHEET, BILLION_LAUGHS), users.alice, expect="DTD")


def _sheet_renamed(content: bytes, new_name: str, body: bytes) -> bytes:
    """The sheet part moved to ``new_name`` (rels and content types follow) with a new body."""
    short = SHEET.removeprefix("xl/").encode()
    renamed = replace_part(content, "xl/_rels/workbook.xml.rels", lambda x: x.replace(short, new_name.encode()))
    renamed = replace_part(
        renamed, "[Content_Types].xml", lambda x: x.replace(b"/" + SHEET.encode(), b"/xl/" + new_name.encode())
    )
    source = zipfile.ZipFile(io.BytesIO(renamed))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == SHEET:
                target.writestr("xl/" + new_name, body)
            else:
                target.writestr(info.filename, source.read(info))
    return out.getvalue()


def test_a_dtd_in_a_sheet_part_not_named_xml_is_refused(template, users):
    rejected(_sheet_renamed(template, "worksheets/data.bin", BILLION_LAUGHS), users.alice, expect="DTD")


def test_defusedxml_still_refuses_an_entity_the_byte_scan_missed(template, users, setup, monkeypatch):
    # Switch the byte scan off: openpyxl parses through defusedxml, which raises; the user gets the
    # same clear message instead of a server error.
    from portal import upload_safety

    monkeypatch.setattr(upload_safety, "DTD_MARKERS", ())
    rejected(replace_part(template, SHEET, BILLION_LAUGHS), users.alice, period=setup.q1, expect="DTD")


def test_an_unparseable_sheet_gets_a_message_not_a_server_error(template, users, setup):
    rejected(replace_part(template, SHEET, b"<worksheet><sheetData><row"), users.alice, period=setup.q1, expect="解析")


def test_an_external_entity_in_the_content_types_is_refused(template, users):
    xxe = b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + CONTENT_TYPES.encode()[38:]
    rejected(replace_part(template, "[Content_Types].xml", xxe), users.alice, expect="DTD")


def test_a_utf16_part_hiding_a_dtd_from_the_byte_scan_is_refused(template, users):
    # UTF-16 parts are decoded before the scan (OOXML allows UTF-16), so the DTD itself is what is named;
    # UTF-32 and other encodings are refused as such (tests/submissions/test_xlsx_part_roles.py).
    rejected(replace_part(template, SHEET, BILLION_LAUGHS.decode().encode("utf-16")), users.alice, expect="DTD")


def test_a_real_xls_renamed_to_xlsx_is_refused(users, setup):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096
    rejected(ole, users.alice, expect=".xls")


def test_a_csv_renamed_to_xlsx_is_refused(users, setup):
    rejected("单位代码,小学新生数\nS1,100\n".encode(), users.alice, expect="不是 Excel 工作簿")


def test_a_zip_renamed_to_xlsx_is_refused(users, setup):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    rejected(out.getvalue(), users.alice, expect="[Content_Types].xml")


def test_a_truncated_zip_is_refused(template, users):
    rejected(template[: len(template) // 2], users.alice, expect="损坏")


def test_a_macro_enabled_workbook_is_refused(template, users):
    xlsm = replace_part(template, "", b"", extra={"xl/vbaProject.bin": b"\x00VBA" * 100})
    rejected(xlsm, users.alice, expect="宏")


def test_a_workbook_declaring_the_macro_content_type_is_refused(template, users):
    def macro_type(xml: bytes) -> bytes:
        return xml.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml").replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.macroEnabled",
            b"application/vnd.ms-excel.sheet.macroEnabled",
        )

    rejected(replace_part(template, "[Content_Types].xml", macro_type), users.alice, expect="宏")


def test_a_formula_in_a_cell_is_refused_and_named(client, users, setup):
    client.force_login(users.alice)
    content = fill(
        download(client, "2023Q1", "S1"),
        {("S1", "pri_new_entrants"): 100, ("S1", "pri_new_entrants_migrant"): "=D3/10"},
    )
    message = rejected(content, users.alice, period=setup.q1, expect="公式")
    # then: the error is located at the migrants column (E) of S1's row (3)
    with pytest.raises(ImportErrors) as caught:
        import_template(io.BytesIO(content), user=users.alice, period=setup.q1)
    assert [e.ref for e in caught.value.cell_errors] == ["填报!E3"]
    assert message


def test_a_template_for_another_period_is_refused(template, users, setup):
    message = rejected(template, users.alice, period=setup.q4)
    assert "该模板属于 2023Q1 周期，不能作为 2022Q4 的数据上传" in message


def test_a_template_of_another_school_is_refused(template, users, setup):
    # bob (principal of S3) uploads alice's S1 template
    rejected(template, users.bob, period=setup.q1, expect="没有以下单位的填报权限")


def test_a_district_template_uploaded_for_another_district_is_refused(client, users, setup, tree):
    client.force_login(users.bea)
    content = fill(download(client, "2023Q1", "D2"), {("S3", "pri_new_entrants"): 5})
    rejected(content, users.bea, period=setup.q1, unit=tree.d1, expect="不属于 东区")


def test_a_tampered_key_is_refused(template, users, setup):
    workbook = load_workbook(io.BytesIO(template))
    token = workbook[KEY_SHEET]["A1"].value
    key = TemplateKey.unsign(token)
    # Claim S3 instead of S1 but keep the old signature: the payload no longer matches it.
    forged_payload = signing.dumps(
        {"k": 1, "p": key.period, "u": ["S3"], "f": key.figures, "v": key.versions}, salt="x", compress=True
    )
    workbook[KEY_SHEET]["A1"] = forged_payload.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]
    buffer = io.BytesIO()
    workbook.save(buffer)
    rejected(buffer.getvalue(), users.alice, period=setup.q1, expect="模板校验码无效")


def test_a_key_signed_with_another_salt_is_refused(template, users, setup):
    workbook = load_workbook(io.BytesIO(template))
    key = TemplateKey.unsign(workbook[KEY_SHEET]["A1"].value)
    payload = {"k": 1, "p": key.period, "u": key.units, "f": key.figures, "v": key.versions}
    workbook[KEY_SHEET]["A1"] = signing.dumps(payload, salt="some.other.purpose", compress=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    rejected(buffer.getvalue(), users.alice, period=setup.q1, expect="模板校验码无效")


def test_a_workbook_without_the_key_sheet_is_refused(template, users, setup):
    workbook = load_workbook(io.BytesIO(template))
    del workbook[KEY_SHEET]
    buffer = io.BytesIO()
    workbook.save(buffer)
    rejected(buffer.getvalue(), users.alice, period=setup.q1, expect="不是本系统下载的填报模板")


def test_an_inserted_column_is_refused(template, users, setup):
    workbook = load_workbook(io.BytesIO(template))
    workbook[DATA_SHEET].insert_cols(4)
    buffer = io.BytesIO()
    workbook.save(buffer)
    rejected(buffer.getvalue(), users.alice, period=setup.q1, expect="表头")


def test_a_changed_unit_code_is_refused(template, users, setup):
    workbook = load_workbook(io.BytesIO(template))
    workbook[DATA_SHEET]["A3"] = "S3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    rejected(buffer.getvalue(), users.alice, period=setup.q1, expect="单位代码应为 S1")


def test_an_oversized_file_is_refused_before_it_is_opened(users, setup):
    # 10 MB + 1 byte of zeros, past settings.MAX_UPLOAD_BYTES (10 MB).
    rejected(b"PK\x03\x04" + b"\x00" * (10 * 1024 * 1024 - 3), users.alice, expect="文件过大")


def test_the_upload_page_stops_storing_an_oversized_file(client, users, setup, settings):
    # The upload handler cuts the file off at the limit (here 64 KB) instead of spooling it to disk.
    settings.MAX_UPLOAD_BYTES = 64 * 1024
    client.force_login(users.alice)
    response = upload(client, b"PK\x03\x04" + b"\x00" * (200 * 1024), "2023Q1")
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()
    assert Value.objects.count() == 0


def test_the_upload_page_lists_a_rejection_in_chinese(client, users, setup):
    client.force_login(users.alice)
    response = upload(client, b"a,b\n1,2\n", "2023Q1", name="data.xlsx")
    assert response.status_code == 400
    body = response.content.decode()
    assert "未保存任何数据" in body
    assert "不是 Excel 工作簿" in body
