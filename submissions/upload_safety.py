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
- XML entity attacks: any part carrying a DTD (``<!DOCTYPE``/``<!ENTITY``) or not in UTF-8
  (where the scan could be dodged) is refused; ``[Content_Types].xml`` is parsed with defusedxml
  and DTDs forbidden; openpyxl itself also parses through defusedxml once it is installed;
- macro-enabled workbooks (``vbaProject.bin`` or the macro-enabled content type).

Formula cells are refused later, by the template reader (``submissions/xlsx.py``), cell by cell.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

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
SCAN_CHUNK_BYTES = 64 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and password-protected .xlsx
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
MACRO_TYPES = {
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.ms-office.vbaProject",
}
DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
UTF16_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


class UploadRejected(ImportErrors):
    """The uploaded file is not a safe .xlsx workbook; nothing was read from it (a file-level import error)."""

    def __init__(self, message: str) -> None:
        super().__init__([CellError("file", None, "", message)])
        self.message = message


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
        _check_content_types(archive)
        # Every part, not only *.xml: a workbook may point its sheet at any part name.
        for info in infos:
            _scan_part(archive, info)
    fileobj.seek(0)


def _check_directory(infos: list[zipfile.ZipInfo]) -> None:
    """Zip-bomb and macro checks from the central directory alone (nothing inflated yet)."""
    if len(infos) > MAX_MEMBERS:
        raise UploadRejected(_("文件内部结构异常（部件过多），已拒绝。"))
    total = 0
    for info in infos:
        name = info.filename.lower()
        if name.endswith("vbaproject.bin"):
            raise UploadRejected(_("工作簿包含宏（VBA），出于安全原因不能上传。请另存为不含宏的 .xlsx 文件。"))
        if info.flag_bits & 0x1:
            raise UploadRejected(_("工作簿已加密，请取消密码后再上传。"))
        total += info.file_size
        if info.file_size > MAX_LOADED_PART_BYTES and not (name.startswith(STREAMED_PREFIX) and name.count("/") == 2):
            raise UploadRejected(_("文件内部部件过大（%(name)s），已拒绝。") % {"name": info.filename[:80]})
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UploadRejected(_("文件解压后过大，疑似压缩炸弹，已拒绝。"))
        if info.file_size > RATIO_MIN_PART_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise UploadRejected(_("文件压缩比异常，疑似压缩炸弹，已拒绝。"))


def _check_content_types(archive: zipfile.ZipFile) -> None:
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise UploadRejected(_("压缩包不是 Excel 工作簿（缺少 [Content_Types].xml），请使用下载的模板。")) from None
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise UploadRejected(_("文件内部结构异常，已拒绝。"))
    data = _read_bounded(archive, info, MAX_CONTENT_TYPES_BYTES)
    try:
        root = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。")) from None
    except Exception:  # noqa: BLE001 - any parse error means "not a workbook"
        raise UploadRejected(_("文件内部结构损坏，无法作为 Excel 工作簿打开。")) from None
    types = {element.get("ContentType", "") for element in root.iter() if element.tag in _CT_TAGS}
    if types & MACRO_TYPES:
        raise UploadRejected(_("工作簿包含宏（VBA），出于安全原因不能上传。请另存为不含宏的 .xlsx 文件。"))
    if not types & WORKBOOK_TYPES:
        raise UploadRejected(_("文件不是普通的 Excel 工作簿（.xlsx），请使用下载的模板。"))


_CT_TAGS = {f"{CT_NS}Override", f"{CT_NS}Default"}


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise UploadRejected(_("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开。")) from None
    if len(data) > limit:
        raise UploadRejected(_("文件内部结构异常，已拒绝。"))
    return data


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream one part looking for a DTD; refuse UTF-16 text, where a byte scan could be dodged.

    (expat reads only UTF-8/UTF-16 and 8-bit ASCII-compatible encodings, in which ``<!DOCTYPE``
    keeps its ASCII bytes.)
    """
    tail = b""
    first = True
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(SCAN_CHUNK_BYTES)
                if not chunk:
                    break
                if first:
                    first = False
                    if chunk.startswith(UTF16_STARTS):
                        raise UploadRejected(_("文件内部使用了不支持的编码，已拒绝。"))
                window = tail + chunk
                if any(marker in window for marker in DTD_MARKERS):
                    raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。"))
                tail = window[-16:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        # Includes a part inflating past its declared size (CRC/length mismatch) — a lying bomb.
        raise UploadRejected(_("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开。")) from None


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
