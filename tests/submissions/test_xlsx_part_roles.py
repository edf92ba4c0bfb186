"""Issue 16: part limits follow a part's real role, and the DTD check reads every encoding a parser would.

A workbook can move its shared strings under ``xl/worksheets/`` (the folder whose parts are streamed)
and keep them loaded whole by openpyxl; and a part in UTF-32, or declaring UTF-7, spells ``<!DOCTYPE``
in bytes a plain byte scan does not recognise. Each must be refused before openpyxl parses anything,
within the corpus bounds (``rejected``: 2 s, 50 MB, nothing stored). Times: bench/bench_upload_refusals.py.
"""

from __future__ import annotations

import io
import os

import pytest

from portal.upload_safety import UploadRejected, check_xlsx_upload
from tests.submissions.test_xlsx_malicious import BILLION_LAUGHS, SHEET, rejected, replace_part
from tests.submissions.test_xlsx_support import download, fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(client, users, setup) -> bytes:
    """alice's (principal of S1) template for 2023Q1, with one valid value filled in."""
    client.force_login(users.alice)
    return fill(download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): 100})


STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
MOVED = "xl/worksheets/strings.xml"


def _with_shared_strings(content: bytes, name: str, body: bytes) -> bytes:
    """The workbook with a shared-strings part at ``name``, declared in the content types and linked."""
    override = f'<Override PartName="/{name}" ContentType="{STRINGS_TYPE}"/></Types>'.encode()
    rel = f'<Relationship Id="rIdS" Type="{STRINGS_REL}" Target="/{name}"/></Relationships>'.encode()
    content = replace_part(content, "[Content_Types].xml", lambda x: x.replace(b"</Types>", override))
    content = replace_part(content, "xl/_rels/workbook.xml.rels", lambda x: x.replace(b"</Relationships>", rel))
    return replace_part(content, "", b"", extra={name: body})


def _refused_before_parsing(content: bytes, expect: str) -> None:
    """The safety check alone (no openpyxl) refuses ``content`` with a message containing ``expect``."""
    with pytest.raises(UploadRejected) as caught:
        check_xlsx_upload(io.BytesIO(content))
    assert expect in caught.value.message, caught.value.message


def test_a_small_shared_strings_part_under_worksheets_passes_the_checks(template):
    # The control case: the same construction with a small part is a workbook the checks accept.
    small = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x</t></si></sst>'
    check_xlsx_upload(io.BytesIO(_with_shared_strings(template, MOVED, small)))


def test_shared_strings_moved_under_worksheets_are_held_to_the_loaded_part_limit(template, users):
    # 6 MB of incompressible text as the shared strings, under xl/worksheets/ (openpyxl finds them by
    # content type and loads them whole, even in read-only mode).
    strings = b"<sst>" + os.urandom(3 * 1024 * 1024).hex().encode() + b"</sst>"
    content = _with_shared_strings(template, MOVED, strings)
    _refused_before_parsing(content, "部件过大")
    rejected(content, users.alice, expect="部件过大")


def test_a_big_part_declared_a_worksheet_but_not_linked_as_one_is_refused(template, users):
    # The content type alone does not make a part streamed: the workbook must link it as a worksheet.
    big = b"<worksheet>" + os.urandom(3 * 1024 * 1024).hex().encode() + b"</worksheet>"
    extra_type = (
        b'<Override PartName="/xl/worksheets/extra.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    content = replace_part(template, "[Content_Types].xml", lambda x: x.replace(b"</Types>", extra_type))
    content = replace_part(content, "", b"", extra={"xl/worksheets/extra.xml": big})
    rejected(content, users.alice, expect="部件过大")


@pytest.mark.parametrize(
    ("label", "encode"),
    [
        ("UTF-32 big-endian with BOM", lambda text: text.encode("utf-32-be").join([b"\x00\x00\xfe\xff", b""])),
        ("UTF-32 big-endian, no BOM", lambda text: text.encode("utf-32-be")),
        ("UTF-32 little-endian, no BOM", lambda text: text.encode("utf-32-le")),
        ("UTF-32 with BOM", lambda text: text.encode("utf-32")),
        ("UTF-7 declared", lambda text: text.replace('version="1.0"', 'version="1.0" encoding="UTF-7"')
         .replace("<!", "+ADw-!").encode("ascii")),
    ],
)  # fmt: skip
def test_a_dtd_in_an_encoding_the_byte_scan_cannot_read_is_refused(template, users, label, encode):
    content = replace_part(template, SHEET, encode(BILLION_LAUGHS.decode()))
    _refused_before_parsing(content, "编码")
    rejected(content, users.alice, expect="编码")


def test_a_utf16_part_is_decoded_and_its_dtd_found(template, users):
    # UTF-16 is a legal OOXML encoding: the part is read as text, and the DTD in it is what gets refused.
    for encoding in ("utf-16", "utf-16-be", "utf-16-le"):
        content = replace_part(template, SHEET, BILLION_LAUGHS.decode().encode(encoding))
        _refused_before_parsing(content, "DTD")


def test_a_clean_utf16_sheet_is_not_refused_for_its_encoding(template):
    def to_utf16(xml: bytes) -> bytes:
        return xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")

    check_xlsx_upload(io.BytesIO(replace_part(template, SHEET, to_utf16)))
