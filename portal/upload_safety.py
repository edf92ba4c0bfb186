"""Checks an uploaded file is a plain, bounded .xlsx workbook BEFORE any XML is parsed.

An .xlsx is a zip of XML parts. Everything here works from the zip's central directory and
from a bounded streaming scan, so a hostile file is refused quickly and without ever holding
much in memory:

- size over ``settings.MAX_UPLOAD_BYTES``;
- not a zip (``.xls``/``.csv``/anything renamed to ``.xlsx``), a zip that is not a workbook
  (no ``[Content_Types].xml`` naming the spreadsheet main part), an encrypted workbook;
- zip bombs: too many parts, too much declared uncompressed data, a part whose declared
  compression ratio is absurd. Python's ``zipfile`` never inflates a part past the size its
  central directory declares (it stops and fails the CRC), so checking the declared sizes bounds
  what openpyxl can ever inflate;
- parts by their real role: only a part that ``[Content_Types].xml`` declares a worksheet AND that
  the workbook's relationships name as a worksheet (and as nothing else) may be large, because only
  worksheets are streamed; every other part (shared strings, styles, …) is loaded whole by openpyxl
  and is held to ``MAX_LOADED_PART_BYTES`` whatever its name or folder;
- XML entity attacks: any part carrying a DTD (``<!DOCTYPE``/``<!ENTITY``) is refused. Each part's
  encoding is detected as an XML parser would (byte-order mark, the first bytes, the XML
  declaration): UTF-16 parts are decoded and the text is checked; UTF-32 and any other declared
  encoding (UTF-7, …, where a byte scan could be dodged) are refused — OOXML allows UTF-8 and
  UTF-16 only. ``[Content_Types].xml`` and the workbook's relationships are parsed with defusedxml
  and DTDs forbidden; openpyxl itself also parses through defusedxml once it is installed;
- macro-enabled workbooks (``vbaProject.bin`` or the macro-enabled content type).

Evidence files (a progress note's, a designation's grant or revocation) are checked by ``check_evidence``:
size, and a type accepted by its leading bytes, not by its name.

Formula cells are refused later, by each reader (``submissions/xlsx.py``, ``schools/user_import.py``,
``schools/designations.py``), cell by cell.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from portal.errors import ServiceError
from portal.xlsx import CellError, ImportErrors

# Limits. A real 2,000-unit × 30-figure template is 0.36 MB zipped, its sheet 2.8 MB of XML (ratio 8);
# the largest template we hand out (5,000 units × ~60 figures) stays under 15 MB of XML.
MAX_MEMBERS = 300
MAX_UNCOMPRESSED_BYTES = 24 * 1024 * 1024
# openpyxl streams worksheets in read-only mode but loads every other part (shared strings,
# styles, workbook) whole: those must stay small. A 2,000-unit template's shared strings: ~0.1 MB.
MAX_LOADED_PART_BYTES = 4 * 1024 * 1024
STREAMED_PREFIX = "xl/worksheets/"
# Ratio is only judged on parts big enough to matter: tiny XML parts compress very well.
RATIO_MIN_PART_BYTES = 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_CONTENT_TYPES_BYTES = 256 * 1024
MAX_RELATIONSHIPS_BYTES = 256 * 1024
SCAN_CHUNK_BYTES = 64 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and password-protected .xlsx
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
WORKSHEET_REL_SUFFIX = "/worksheet"
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
MACRO_TYPES = {
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.ms-office.vbaProject",
}
DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
# How an XML parser tells the encoding from the first bytes (XML 1.0, appendix F). UTF-32 first:
# its little-endian mark begins with UTF-16's.
UTF32_STARTS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\x00\x00\xff\xfe", b"\xfe\xff\x00\x00",
                b"<\x00\x00\x00", b"\x00\x00\x00<", b"\x00\x00<\x00", b"\x00<\x00\x00")  # fmt: skip
# With a byte-order mark "utf-16" reads (and drops) it; without one the pattern gives the byte order.
UTF16_STARTS = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16", b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}
UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
UTF16_NAMES = {"utf-16", "utf-16le", "utf-16be", "utf16"}
XML_DECLARATION = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']{0,40})[\"']")


class UploadRejected(ImportErrors):
    """The uploaded file is not a safe .xlsx workbook; nothing was read from it (a file-level import error)."""

    def __init__(self, message: str) -> None:
        super().__init__([CellError("file", None, "", message)])
        self.message = message


def check_size_and_read_head(fileobj: IO[bytes], limit: int) -> bytes:
    """Refuse an empty file or one over ``limit`` bytes (without reading it); the first 8 bytes, for the type
    check. Leaves the file at 0. Shared by every upload (.xlsx, .docx, .txt)."""
    size = file_size(fileobj)
    if size > limit:
        raise UploadRejected(
            _("文件过大（%(size).1f MB），上传上限为 %(limit).1f MB。")
            % {"size": size / 1048576, "limit": limit / 1048576}
        )
    if size == 0:
        raise UploadRejected(_("文件为空。"))
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    return head


def file_size(fileobj: IO[bytes]) -> int:
    """Size of a seekable upload without reading it (Django's UploadedFile also has ``.size``)."""
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    position = fileobj.tell()
    fileobj.seek(0, io.SEEK_END)
    end = fileobj.tell()
    fileobj.seek(position)
    return end


def check_xlsx_upload(fileobj: IO[bytes], *, max_bytes: int | None = None) -> None:
    """Raise UploadRejected unless ``fileobj`` is a bounded, macro-free, DTD-free .xlsx zip.

    Leaves the file positioned at 0 for the parser. Cost: the central directory plus one streamed
    pass over the XML parts, each bounded by the limits above.
    """
    limit = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    head = check_size_and_read_head(fileobj, limit)
    if head.startswith(OLE_MAGIC):
        raise UploadRejected(
            _("这是旧版 Excel（.xls）文件或加密的工作簿，请在 Excel 中“另存为 .xlsx”（不设密码）后再上传。")
        )
    if not head.startswith(ZIP_MAGIC):
        raise UploadRejected(
            _("文件不是 Excel 工作簿（.xlsx）。CSV、文本或改了扩展名的文件不能上传，请使用下载的模板。")
        )
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadRejected(_("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开。")) from None
    with archive:
        infos = archive.infolist()
        _check_directory(infos)
        content_types = _check_content_types(archive)
        streamed = _streamed_parts(archive, content_types)
        for info in infos:
            if info.file_size > MAX_LOADED_PART_BYTES and info.filename not in streamed:
                raise UploadRejected(_("文件内部部件过大（%(name)s），已拒绝。") % {"name": info.filename[:80]})
        # Every part, not only *.xml: a workbook may point its sheet at any part name.
        for info in infos:
            scan_part(archive, info)
    fileobj.seek(0)


def check_zip_bomb(
    infos: list[zipfile.ZipInfo], *, max_members: int = MAX_MEMBERS, max_total: int = MAX_UNCOMPRESSED_BYTES
) -> None:
    """Refuse a zip with too many parts, too much declared data, or an absurd compression ratio.

    Works from the central directory alone; shared by every zip-based upload (.xlsx, .docx).
    """
    if len(infos) > max_members:
        raise UploadRejected(_("文件内部结构异常（部件过多），已拒绝。"))
    total = 0
    for info in infos:
        total += info.file_size
        if total > max_total:
            raise UploadRejected(_("文件解压后过大，疑似压缩炸弹，已拒绝。"))
        if info.file_size > RATIO_MIN_PART_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise UploadRejected(_("文件压缩比异常，疑似压缩炸弹，已拒绝。"))


def _check_directory(infos: list[zipfile.ZipInfo]) -> None:
    """Zip-bomb and macro checks from the central directory alone (nothing inflated yet)."""
    check_zip_bomb(infos)
    for info in infos:
        name = info.filename.lower()
        if name.endswith("vbaproject.bin"):
            raise UploadRejected(_("工作簿包含宏（VBA），出于安全原因不能上传。请另存为不含宏的 .xlsx 文件。"))
        if info.flag_bits & 0x1:
            raise UploadRejected(_("工作簿已加密，请取消密码后再上传。"))


@dataclass(frozen=True)
class ContentTypes:
    """What ``[Content_Types].xml`` declares: content type by part name and by extension (lower case)."""

    overrides: dict[str, str]
    defaults: dict[str, str]

    def of(self, part_name: str) -> str:
        """The declared content type of a zip member (OPC part names are case-insensitive)."""
        name = "/" + part_name.lstrip("/").lower()
        if name in self.overrides:
            return self.overrides[name]
        return self.defaults.get(posixpath.splitext(name)[1].lstrip("."), "")

    def parts_of_type(self, content_type: str) -> list[str]:
        return [name for name, declared in self.overrides.items() if declared == content_type]


def _parse_package_xml(data: bytes) -> Any:
    try:
        return safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。")) from None
    except Exception:  # noqa: BLE001 - any parse error means "not a workbook"
        raise UploadRejected(_("文件内部结构损坏，无法作为 Excel 工作簿打开。")) from None


def _check_content_types(archive: zipfile.ZipFile) -> ContentTypes:
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise UploadRejected(_("压缩包不是 Excel 工作簿（缺少 [Content_Types].xml），请使用下载的模板。")) from None
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise UploadRejected(_("文件内部结构异常，已拒绝。"))
    root = _parse_package_xml(read_bounded(archive, info, MAX_CONTENT_TYPES_BYTES))
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for element in root.iter():
        if element.tag == f"{CT_NS}Override":
            overrides["/" + element.get("PartName", "").lstrip("/").lower()] = element.get("ContentType", "")
        elif element.tag == f"{CT_NS}Default":
            defaults[element.get("Extension", "").lower()] = element.get("ContentType", "")
    types = set(overrides.values()) | set(defaults.values())
    if types & MACRO_TYPES:
        raise UploadRejected(_("工作簿包含宏（VBA），出于安全原因不能上传。请另存为不含宏的 .xlsx 文件。"))
    if not types & WORKBOOK_TYPES:
        raise UploadRejected(_("文件不是普通的 Excel 工作簿（.xlsx），请使用下载的模板。"))
    return ContentTypes(overrides, defaults)


def _streamed_parts(archive: zipfile.ZipFile, content_types: ContentTypes) -> set[str]:
    """Zip members openpyxl streams (read-only mode): the only parts allowed past MAX_LOADED_PART_BYTES.

    A part qualifies when the workbook's relationships name it as a worksheet, by no other
    relationship, and ``[Content_Types].xml`` declares it a worksheet — so a shared-strings or styles
    part cannot pass as a sheet by its folder or name, and a sheet part cannot also be loaded whole
    in another role (e.g. as a chartsheet).
    """
    members = {info.filename.lower(): info.filename for info in archive.infolist()}
    worksheets: set[str] = set()
    other_roles: set[str] = set()
    for workbook_part in (name for t in WORKBOOK_TYPES for name in content_types.parts_of_type(t)):
        folder, base = posixpath.split(workbook_part.lstrip("/"))
        rels_name = members.get(posixpath.join(folder, "_rels", f"{base}.rels"))
        if rels_name is None:
            continue
        info = archive.getinfo(rels_name)
        if info.file_size > MAX_RELATIONSHIPS_BYTES:
            raise UploadRejected(_("文件内部结构异常，已拒绝。"))
        scan_part(archive, info)
        root = _parse_package_xml(read_bounded(archive, info, MAX_RELATIONSHIPS_BYTES))
        for rel in root.iter(f"{REL_NS}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            member = posixpath.normpath(path).lower()
            (worksheets if rel.get("Type", "").endswith(WORKSHEET_REL_SUFFIX) else other_roles).add(member)
    return {
        members[name]
        for name in worksheets - other_roles
        if name in members
        and content_types.of(name) == WORKSHEET_TYPE
        # and where sheets live: openpyxl reads a few parts by fixed name (xl/styles.xml, the theme, …)
        and name.startswith(STREAMED_PREFIX)
        and name.count("/") == 2
    }


def read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, *, damaged: str | None = None) -> bytes:
    """One part of the zip, refused past ``limit`` bytes; ``damaged`` is the message for a broken part."""
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise UploadRejected(damaged or _("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开。")) from None
    if len(data) > limit:
        raise UploadRejected(_("文件内部结构异常，已拒绝。"))
    return data


def part_encoding(head: bytes) -> str | None:
    """The encoding an XML parser would read a part in, from its first bytes; None if not UTF-8 or UTF-16.

    Byte-order marks and the first bytes' pattern (XML 1.0, appendix F) decide UTF-32/UTF-16; an
    ASCII-compatible start is UTF-8 unless its XML declaration names another encoding. Only UTF-8
    (or its ASCII subset) and UTF-16 are accepted, as in OOXML: any other (UTF-32, UTF-7, EBCDIC, …)
    could spell ``<!DOCTYPE`` in bytes a scan does not recognise.
    """
    if head.startswith(UTF32_STARTS):
        return None
    for start, encoding in UTF16_STARTS.items():
        if head.startswith(start):
            return encoding
    match = XML_DECLARATION.match(head)
    if match is None:
        return "utf-8"
    declared = match.group(1).decode("ascii", "replace").strip().lower()
    return "utf-8" if declared in UTF8_NAMES else None


def scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, damaged: str | None = None) -> None:
    """Stream one part looking for a DTD in the text the XML parser would see (decoded if UTF-16);
    ``damaged`` is the message for a broken part (shared by every zip-based upload)."""
    markers = [marker.decode("ascii") for marker in DTD_MARKERS]
    tail = ""
    try:
        with archive.open(info) as stream:
            chunk = stream.read(SCAN_CHUNK_BYTES)
            encoding = part_encoding(chunk[:256])
            if encoding is None:
                raise UploadRejected(_("文件内部使用了不支持的编码，已拒绝。"))
            # UTF-8 (or a part that is not XML at all) is scanned byte for byte, mapped 1:1 to text.
            codec = encoding if encoding.startswith("utf-16") else "latin-1"
            decoder = codecs.getincrementaldecoder(codec)(errors="replace")
            while True:
                window = tail + decoder.decode(chunk, final=not chunk)
                if any(marker in window for marker in markers):
                    raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。"))
                if not chunk:
                    break
                tail = window[-16:]
                chunk = stream.read(SCAN_CHUNK_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        # Includes a part inflating past its declared size (CRC/length mismatch) — a lying bomb.
        raise UploadRejected(damaged or _("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开。")) from None


class UploadLimitHandler(FileUploadHandler):
    """First upload handler of the Excel upload view: stops storing a file past MAX_UPLOAD_BYTES.

    Django otherwise spools the whole body to a temporary file before the view can look at its
    size. The rest of the body is drained (not stored) so proxies see a normal response; the view
    finds ``request.upload_too_large`` set and shows the size message.
    """

    def __init__(self, request: object = None) -> None:
        super().__init__(request)
        self.limit = settings.MAX_UPLOAD_BYTES

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# --- Evidence files (progress notes, designations) ---

EVIDENCE_TYPES = {
    # extension: accepted leading bytes (checked, not trusted from the name or the browser)
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
}


def check_evidence(upload: UploadedFile) -> None:
    """Size cap and type check by content (an evidence file is a PDF, image, Word or Excel file)."""
    name = (upload.name or "").lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if upload.size is not None and upload.size > settings.MAX_UPLOAD_BYTES:
        raise ServiceError(
            {"evidence": [_("文件过大（上限 %(mb)s MB）。") % {"mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024)}]}
        )
    if extension not in EVIDENCE_TYPES:
        raise ServiceError({"evidence": [_("只接受 PDF、图片（PNG/JPG）、Word（docx）或 Excel（xlsx）文件。")]})
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in EVIDENCE_TYPES[extension]):
        raise ServiceError({"evidence": [_("文件内容与扩展名不符。")]})
