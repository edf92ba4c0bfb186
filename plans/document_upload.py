"""An uploaded plan document (.docx or .txt) checked and read to text, before the parser sees it.

The same rules as the Excel upload (``portal.upload_safety``), for Word documents: size limit, an empty
file, the real type behind the extension (a PDF, a legacy .doc or an encrypted document renamed .docx), zip
bombs (part count, declared size, compression ratio — from the central directory, nothing inflated), XML
DTDs/entities in any part, macro-enabled documents (.docm, ``vbaProject.bin``, the macro content type). A .txt
must be text: UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030 (which covers GBK/GB2312), no NUL bytes.

Every refusal is an ``UploadRejected`` with a translated message; nothing is stored.
"""

from __future__ import annotations

import zipfile
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.utils.translation import gettext as _

from plans.docparse import PlanDraft
from plans.docparse.docx_text import DocxTextError, docx_to_text
from portal.upload_safety import (
    CT_NS,
    OLE_MAGIC,
    ZIP_MAGIC,
    UploadRejected,
    check_size_and_read_head,
    check_zip_bomb,
    read_bounded,
    scan_part,
)

# A 20-page plan is ~50 KB as .docx and ~60 KB as text; images may make a .docx a few MB.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_DOCX_MEMBERS = 500
MAX_DOCX_UNCOMPRESSED_BYTES = 40 * 1024 * 1024
MAX_CONTENT_TYPES_BYTES = 256 * 1024
PDF_MAGIC = b"%PDF"
RTF_MAGIC = b"{\\rtf"
DOCUMENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
}
MACRO_TYPES = {
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    "application/vnd.ms-office.vbaProject",
}
ALLOWED_EXTENSIONS = (".docx", ".txt")


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


def _macro_message() -> str:
    return _("文档包含宏，出于安全原因不能上传。请在 Word 中另存为不含宏的 .docx 文件。")


def _damaged_message() -> str:
    return _("文件已损坏，无法作为 Word 文档（.docx）打开。")


def read_plan_document(fileobj: IO[bytes], filename: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of an uploaded plan document, or ``UploadRejected`` with the reason.

    ``filename`` is only used for its extension; the content decides what the file really is.
    """
    extension = _extension(filename)
    if extension in (".docm", ".dotm"):
        raise UploadRejected(_macro_message())
    if extension == ".doc":
        raise UploadRejected(_("这是旧版 Word（.doc）文件，请在 Word 中“另存为 .docx”后再上传。"))
    if extension not in ALLOWED_EXTENSIONS:
        raise UploadRejected(_("只能上传 Word 文档（.docx）或纯文本（.txt），也可以直接粘贴文字。"))
    limit = max_bytes if extension == ".docx" else min(max_bytes, MAX_TEXT_BYTES)
    head = check_size_and_read_head(fileobj, limit)
    if head.startswith(PDF_MAGIC):
        raise UploadRejected(_("这是 PDF 文件（只是扩展名被改了），不能读取。请上传 Word 文档（.docx）或粘贴文字。"))
    if head.startswith(OLE_MAGIC):
        raise UploadRejected(
            _("这是旧版 Word（.doc）文件或加密的文档，请在 Word 中“另存为 .docx”（不设密码）后再上传。")
        )
    if extension == ".txt":
        if head.startswith(ZIP_MAGIC):
            raise UploadRejected(_("文件不是纯文本（.txt）。Word 文档请以 .docx 上传。"))
        return decode_text(fileobj.read(limit + 1))
    if head.startswith(RTF_MAGIC) or not head.startswith(ZIP_MAGIC):
        raise UploadRejected(_("文件不是 Word 文档（.docx）。改了扩展名的文件不能上传，请另存为 .docx 或粘贴文字。"))
    data = fileobj.read(limit + 1)
    fileobj.seek(0)
    check_docx(fileobj)
    try:
        return docx_to_text(data)
    except DocxTextError:
        raise UploadRejected(_damaged_message()) from None


def check_docx(fileobj: IO[bytes]) -> None:
    """Refuse a .docx that is a zip bomb, carries macros or a DTD, is encrypted, or is not a Word document."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadRejected(_damaged_message()) from None
    with archive:
        infos = archive.infolist()
        check_zip_bomb(infos, max_members=MAX_DOCX_MEMBERS, max_total=MAX_DOCX_UNCOMPRESSED_BYTES)
        for info in infos:
            if info.filename.lower().endswith("vbaproject.bin"):
                raise UploadRejected(_macro_message())
            if info.flag_bits & 0x1:
                raise UploadRejected(_("文档已加密，请取消密码后再上传。"))
        _check_content_types(archive)
        for info in infos:
            scan_part(archive, info, damaged=_damaged_message())
    fileobj.seek(0)


def _check_content_types(archive: zipfile.ZipFile) -> None:
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise UploadRejected(_("压缩包不是 Word 文档（缺少 [Content_Types].xml）。")) from None
    data = read_bounded(archive, info, MAX_CONTENT_TYPES_BYTES, damaged=_damaged_message())
    try:
        root = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UploadRejected(_("文件包含 XML 实体或 DTD 声明，出于安全原因已拒绝。")) from None
    except Exception:  # noqa: BLE001 - any parse error means "not a document"
        raise UploadRejected(_damaged_message()) from None
    tags = {f"{CT_NS}Override", f"{CT_NS}Default"}
    types = {element.get("ContentType", "") for element in root.iter() if element.tag in tags}
    if types & MACRO_TYPES:
        raise UploadRejected(_macro_message())
    if not types & DOCUMENT_TYPES:
        raise UploadRejected(_("文件不是 Word 文档（.docx）。Excel、PowerPoint 等文件不能作为工作要点上传。"))


def decode_text(data: bytes) -> str:
    """A .txt upload's text: UTF-8 (BOM optional), UTF-16 with BOM, or GB18030; refused when binary."""
    if len(data) > MAX_TEXT_BYTES:
        raise UploadRejected(
            _("文件过大（%(size).1f MB），上传上限为 %(limit).1f MB。")
            % {"size": len(data) / 1048576, "limit": MAX_TEXT_BYTES / 1048576}
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UploadRejected(_("无法识别文本文件的编码，请另存为 UTF-8 编码后再上传。")) from None
    elif b"\x00" in data:
        raise UploadRejected(_("文件不是纯文本（.txt）。"))
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UploadRejected(_("无法识别文本文件的编码，请另存为 UTF-8 编码后再上传。"))
    if "\x00" in text:
        raise UploadRejected(_("文件不是纯文本（.txt）。"))
    return text


def check_has_plan(draft: PlanDraft) -> None:
    """Refuse a text in which no plan was recognised: no headings and no measurable or dated sentence."""
    measured = [target for target in draft.targets if target.kind != "narrative"]
    if not draft.sections and not draft.work_items and not measured:
        raise UploadRejected(
            _("没有识别出工作要点：文中没有“一、”“（一）”“1.”等标题，也没有可量化或有时间要求的目标。")
        )
