"""Benchmark: time to refuse each malicious Excel upload (issue 16), and what it would cost if let through.

A plain workbook is built with openpyxl (no database needed), then altered the way the malicious-file
tests alter a real template: shared strings moved under ``xl/worksheets/`` (300,000 short strings,
~7 MB of XML, loaded whole by openpyxl), a sheet whose DTD hides in UTF-32 or behind a declared UTF-7, a UTF-16
sheet with a DTD, a billion-laughs sheet, a zip bomb by ratio. Each is given to the safety check that
every upload path runs first (``portal.upload_safety.check_xlsx_upload``); the median of 3 runs is
reported. A file the check lets through is then opened as the import would (openpyxl read-only, every
cell read) and that time is reported instead, so running this on older code shows what a refusal saves.

    .venv/bin/python bench/bench_upload_refusals.py
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHEET = "xl/worksheets/sheet1.xml"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def _workbook() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in range(1, 50):
        sheet.append([f"S{row}", row, row * 2])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rewrite(content: bytes, change: Callable[[str, bytes], bytes], extra: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
        for name, body in (extra or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def _part(name: str, body: bytes) -> Callable[[str, bytes], bytes]:
    return lambda filename, data: body if filename == name else data


def _moved_shared_strings(content: bytes) -> bytes:
    moved = "xl/worksheets/strings.xml"
    items = b"".join(b"<si><t>%s</t></si>" % os.urandom(4).hex().encode() for _ in range(300_000))
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + items + b"</sst>"
    override = f'<Override PartName="/{moved}" ContentType="{STRINGS_TYPE}"/></Types>'.encode()

    def change(filename: str, data: bytes) -> bytes:
        if filename == "[Content_Types].xml":
            return data.replace(b"</Types>", override)
        if filename == "xl/_rels/workbook.xml.rels":
            rel = f'<Relationship Id="rIdS" Type="{STRINGS_REL}" Target="/{moved}"/></Relationships>'
            return data.replace(b"</Relationships>", rel.encode())
        return data

    return _rewrite(content, change, {moved: strings})


def cases() -> dict[str, bytes]:
    base = _workbook()
    utf7 = LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-7"').replace("<!", "+ADw-!").encode("ascii")
    return {
        "shared strings moved under xl/worksheets/ (300,000 strings)": _moved_shared_strings(base),
        "UTF-32 sheet hiding a DTD": _rewrite(base, _part(SHEET, LAUGHS.encode("utf-32-be"))),
        "UTF-7 declared sheet hiding a DTD": _rewrite(base, _part(SHEET, utf7)),
        "UTF-16 sheet with a DTD": _rewrite(base, _part(SHEET, LAUGHS.encode("utf-16"))),
        "billion laughs (UTF-8)": _rewrite(base, _part(SHEET, LAUGHS.encode())),
        "zip bomb (one 30 MB part of one byte)": _rewrite(base, _part(SHEET, b"<" + b"0" * (30 * 1024 * 1024))),
    }


def _open_like_the_import(content: bytes) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False, keep_links=False)
    for sheet in workbook.worksheets:
        for _row in sheet.iter_rows(values_only=True):
            pass


def run() -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    import django

    django.setup()
    from portal.errors import ServiceError
    from portal.upload_safety import UploadRejected, check_xlsx_upload

    rows: list[dict[str, object]] = []
    for label, content in cases().items():
        times, message = [], ""
        for _ in range(3):
            started = time.perf_counter()
            try:
                check_xlsx_upload(io.BytesIO(content))
            except UploadRejected as exc:
                message = exc.message
            times.append(time.perf_counter() - started)
        size = f"{len(content) / 1024:,.0f} KB file"
        if message:
            rows.append({"name": f"refuse: {label}", "value": round(statistics.median(times) * 1000, 1),
                         "unit": "ms", "note": f"{size}; {message}"})  # fmt: skip
            continue
        started = time.perf_counter()
        try:
            _open_like_the_import(content)
            outcome = "opened"
        except (ServiceError, ValueError, OSError, SyntaxError) as exc:
            outcome = f"failed in openpyxl ({type(exc).__name__})"
        elapsed = time.perf_counter() - started
        rows.append({"name": f"NOT refused: {label} (check, then openpyxl)", "value": round(elapsed * 1000, 1),
                     "unit": "ms", "note": f"{size}; {outcome}"})  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(f"{row['name']}: {row['value']} {row['unit']} ({row['note']})\n")
