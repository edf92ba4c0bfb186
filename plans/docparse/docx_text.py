"""The text of a ``.docx`` plan document, paragraphs and tables in document order (python-docx).

Word's automatic numbering ("一、", "（一）", "1.") is not part of a paragraph's text; it is rebuilt here from the
numbering definitions so the heading levels survive. Check an upload with the upload-safety rules before calling
this: it trusts the file to be a reasonable size.
"""

from __future__ import annotations

import io
import zipfile

_CN = "零一二三四五六七八九"
_CHINESE_FORMATS = {
    "chineseCounting",
    "chineseCountingThousand",
    "chineseLegalSimplified",
    "ideographTraditional",
    "japaneseCounting",
    "taiwaneseCounting",
    "taiwaneseCountingThousand",
}


class DocxTextError(ValueError):
    """The file is not a readable Word document."""


def chinese_number(value: int) -> str:
    """1..999 in Chinese numerals as headings write them: 一, 十, 十一, 二十, 一百零五."""
    if value <= 0 or value >= 1000:
        return str(value)
    hundreds, rest = divmod(value, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _CN[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _CN[tens]) + "十"
    if ones:
        out += _CN[ones]
    return out


def _roman(value: int) -> str:
    numerals: tuple[tuple[int, str], ...] = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"))
    numerals += ((50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for number, letters in numerals:
        while value >= number:
            out += letters
            value -= number
    return out


def format_counter(value: int, fmt: str) -> str:
    """A list counter in Word's number format."""
    if fmt in _CHINESE_FORMATS:
        return chinese_number(value)
    if fmt == "upperRoman":
        return _roman(value)
    if fmt == "lowerRoman":
        return _roman(value).lower()
    if fmt in ("upperLetter", "lowerLetter"):
        letter = chr(ord("A") + (value - 1) % 26)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("bullet", "none"):
        return ""
    return str(value)


class _Numbering:
    """Word list numbering: the marker each numbered paragraph shows."""

    def __init__(self, document: object) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.abstract_of: dict[str, str] = {}
        try:
            root = document.part.numbering_part.element  # type: ignore[attr-defined]
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract_levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        for abstract in _x(root, "./w:abstractNum"):
            levels = {}
            for lvl in _x(abstract, "./w:lvl"):
                ilvl = int(lvl.get(_w("ilvl"), "0"))
                fmt = (_x(lvl, "./w:numFmt/@w:val") or ["decimal"])[0]
                text = (_x(lvl, "./w:lvlText/@w:val") or [""])[0]
                start = int((_x(lvl, "./w:start/@w:val") or ["1"])[0])
                levels[ilvl] = (fmt, text, start)
            abstract_levels[abstract.get(_w("abstractNumId"))] = levels
        for num in _x(root, "./w:num"):
            num_id = num.get(_w("numId"))
            abstract_id = (_x(num, "./w:abstractNumId/@w:val") or [""])[0]
            self.abstract_of[num_id] = abstract_id
            for ilvl, spec in abstract_levels.get(abstract_id, {}).items():
                self.levels[(num_id, ilvl)] = spec

    def marker(self, num_id: str, ilvl: int) -> str:
        """The next marker of list ``num_id`` at level ``ilvl`` ("一、", "（二）", "3."), counting as Word does."""
        if (num_id, ilvl) not in self.levels or num_id == "0":
            return ""
        key = self.abstract_of.get(num_id, num_id)
        counters = self.counters.setdefault(key, {})
        fmt, text, start = self.levels[(num_id, ilvl)]
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [level for level in counters if level > ilvl]:
            del counters[deeper]
        if fmt in ("bullet", "none"):
            return ""
        out = text
        for level in range(ilvl, -1, -1):
            spec = self.levels.get((num_id, level))
            value = counters.get(level, spec[2] if spec else 1)
            out = out.replace(f"%{level + 1}", format_counter(value, spec[0] if spec else "decimal"))
        return out


_NS = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}


def _x(element: object, path: str) -> list:
    """XPath with the WordprocessingML prefix bound (works on plain lxml elements too)."""
    from lxml import etree  # python-docx reads with lxml; loaded only when a .docx is read

    return etree.ElementBase.xpath(element, path, namespaces=_NS)


def _w(name: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + name


def _num_pr(paragraph: object) -> tuple[str, int] | None:
    """(numId, ilvl) of a numbered paragraph, from the paragraph or its style."""
    for owner in (paragraph, getattr(paragraph, "style", None)):
        element = getattr(owner, "_element", None) if owner is paragraph else getattr(owner, "element", None)
        if element is None:
            continue
        ids = _x(element, "./w:pPr/w:numPr/w:numId/@w:val")
        if ids:
            levels = _x(element, "./w:pPr/w:numPr/w:ilvl/@w:val")
            return ids[0], int(levels[0]) if levels else 0
    return None


def docx_to_text(data: bytes) -> str:
    """The document's text: one line per paragraph, table rows as lines of cells; list numbers restored."""
    from docx import Document  # python-docx; imported here so the parser itself needs nothing installed
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DocxTextError(str(error)) from error
    numbering = _Numbering(document)
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == _w("p"):
            paragraph = Paragraph(child, document)
            text = paragraph.text
            numbered = _num_pr(paragraph)
            if numbered and text.strip():
                text = numbering.marker(*numbered) + text
            lines.append(text)
        elif child.tag == _w("tbl"):
            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    cell_text = cell.text.strip()
                    if cell_text and (not cells or cells[-1] != cell_text):  # merged cells repeat
                        cells.append(cell_text)
                lines.append("\t".join(cells))
    return "\n".join(lines)
