"""Headings of a plan document at every level it uses: 一、 / （一） / 1. / （1） / 一是…二是….

Headings are found in sequence (一 then 二, 1 then 2 …), which is what tells a heading from the same characters
used in a sentence ("小学一、二年级", "4.2万"). Documents copied from web pages often lose their line breaks, so
a heading is also found inside a line when its number is the next one expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .numbers import cn_to_decimal

_L1_RE = re.compile(r"([一二三四五六七八九十]{1,3})、")
_L2_RE = re.compile(r"\(([一二三四五六七八九十]{1,3})\)")
_L3_RE = re.compile(r"(?<![\d.])(\d{1,2})\s?[.、](?![\d.])")
_L4_RE = re.compile(r"\((\d{1,2})\)")
_L5_RE = re.compile(r"([一二三四五六七八九十])是")
_BOUNDARY = set("\n 。；;:!?！？\t")
_KNOWN_L1_TITLES = re.compile(
    r"(指导思想|总体要求|总体思路|工作思路|基本原则|指导原则|工作目标|主要目标|目标任务|总体目标|发展目标"
    r"|主要工作和任务|主要工作任务|主要工作|主要任务|重点工作|重点任务|工作重点|工作任务|具体措施|工作措施"
    r"|保障措施|组织保障|工作要求|有关要求|实施步骤|工作步骤)"
)
GUIDING_TITLES = re.compile(r"^(指导思想|总体要求|总体思路|工作思路|指导原则)")
_TITLE_WORDS = re.compile(
    r"(工作要点|工作计划|工作意见|工作方案|实施方案|行动方案|工作安排|工作思路|实施意见|要点|计划|意见)"
)


@dataclass
class Heading:
    """One heading found in the text."""

    level: int
    number: int
    start: int  # the marker's first character
    body: int  # first character after the marker
    title_end: int = 0  # end of the heading's title
    text_start: int = 0  # first character of the text under the heading
    end: int = 0  # start of the next heading (or end of text)
    children: list[Heading] = field(default_factory=list)
    parent: Heading | None = None


def _is_boundary(text: str, index: int) -> bool:
    """True at the start of the text or after a space, line break or sentence end."""
    return index == 0 or text[index - 1] in _BOUNDARY


def _starts_text(text: str, index: int) -> bool:
    """True when the heading's title starts at ``index``: a character that is not a digit or numeral."""
    while index < len(text) and text[index] in " \t":
        index += 1
    if index >= len(text):
        return False
    char = text[index]
    return not (char.isdigit() or char in "一二三四五六七八九十%.)、" or text.startswith("年级", index))


def _glued_first(start: int, boundary_ones: list[int], boundary_twos: list[int]) -> bool:
    """A 一、 not at a line start is the first heading only if a 二、 at a line start follows, with no 一、 at a
    line start in between (which would be the real one)."""
    following_two = next((two for two in boundary_twos if two > start), None)
    if following_two is None:
        return False
    return not any(start < one < following_two for one in boundary_ones)


def find_headings(norm: str) -> list[Heading]:
    """Every heading in the normalised text, in order, each level numbered in sequence."""
    candidates: list[tuple[int, int, int, int]] = []  # (start, level, number, body)
    for level, pattern in ((1, _L1_RE), (2, _L2_RE), (3, _L3_RE), (4, _L4_RE), (5, _L5_RE)):
        for match in pattern.finditer(norm):
            raw = match.group(1)
            number = int(raw) if raw.isdigit() else int(cn_to_decimal(raw) or 0)
            if number <= 0:
                continue
            candidates.append((match.start(), level, number, match.end()))
    candidates.sort()
    first_level_one = [
        start for start, level, number, _body in candidates if level == 1 and number == 1 and _is_boundary(norm, start)
    ]
    second_level_one = [
        start for start, level, number, _body in candidates if level == 1 and number == 2 and _is_boundary(norm, start)
    ]

    accepted: list[Heading] = []
    last = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    fresh = {3: True, 4: True, 5: True}  # a deeper count may restart at 1 after a new parent heading
    covered_until = -1
    for start, level, number, body in candidates:
        if start < covered_until:
            continue
        if not _starts_text(norm, body):
            continue
        ok = False
        if level == 1:
            # A first 一、 glued to the title (web copies lose line breaks) counts only when a 二、 follows
            # at a line or sentence start: "统一、规范管理" in a preamble is not a heading.
            ok = number == last[1] + 1 and (
                _is_boundary(norm, start) or (number == 1 and _glued_first(start, first_level_one, second_level_one))
            )
        elif level == 2:
            ok = number == last[2] + 1
        elif level == 3:
            ok = _is_boundary(norm, start) and (number == last[3] + 1 or (number == 1 and fresh[3]))
        elif level == 4:
            ok = number == last[4] + 1 or (number == 1 and fresh[4])
        elif level == 5:
            ok = (number == last[5] + 1 or (number == 1 and fresh[5])) and (
                start == 0 or norm[start - 1] in "，,。;；:：\n "
            )
        if not ok:
            continue
        accepted.append(Heading(level, number, start, body))
        covered_until = body
        last[level] = number
        for deeper in range(level + 1, 6):
            last[deeper] = 0 if deeper != 3 else last[3]
            fresh[deeper] = True
        if level >= 3:
            fresh[level] = False
        if level in (1, 2):
            fresh[3] = True
    return accepted


def _title_end(norm: str, heading: Heading, limit: int) -> int:
    """Where a heading's title ends: at 。/！/？/line break, the next heading, or a known heading phrase."""
    index = heading.body
    stop = limit
    for position in range(index, limit):
        if norm[position] in "。！？!?\n":
            stop = position
            break
    if heading.level == 1:
        known = _KNOWN_L1_TITLES.match(norm, index)
        if known:
            following = norm[known.end() : known.end() + 1]
            if stop - index > len(known.group(0)) + 1 and following not in "，,、":
                return known.end()
    if heading.level in (4, 5):
        # A point's "title" is its first clause only when it is short; otherwise the point is all text.
        return index
    if stop - index > 60:
        comma = norm.find("，", index, stop)
        if comma == -1:
            comma = norm.find(",", index, stop)
        return comma if 0 < comma - index <= 40 else index
    return stop


def build_tree(norm: str, headings: list[Heading]) -> list[Heading]:
    """Nest headings by level, fill in title and text boundaries; returns the top-level headings."""
    for index, heading in enumerate(headings):
        heading.end = headings[index + 1].start if index + 1 < len(headings) else len(norm)
    for heading in headings:
        heading.title_end = _title_end(norm, heading, heading.end)
        text_start = heading.title_end
        while text_start < heading.end and norm[text_start] in "。！？!?\n \t":
            text_start += 1
        heading.text_start = text_start
    roots: list[Heading] = []
    stack: list[Heading] = []
    for heading in headings:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        if stack:
            heading.parent = stack[-1]
            stack[-1].children.append(heading)
        else:
            roots.append(heading)
        stack.append(heading)
    # Extend each heading's end to cover its children (end = start of the next heading at the same or higher level).
    for heading in headings:
        last = heading
        while last.children:
            last = last.children[-1]
        heading_end = last.end
        heading.end = max(heading.end, heading_end)
    return roots


def find_title(original: str, norm: str, limit: int) -> tuple[str, int]:
    """The document title in the text before the first heading, and where the title segment ends."""
    best: tuple[str, int] | None = None
    position = 0
    for segment in re.split(r"([。！？!?\n])", norm[:limit]):
        start = position
        position += len(segment)
        stripped = segment.strip()
        if not stripped or len(stripped) > 60 or len(stripped) < 4:
            continue
        if _TITLE_WORDS.search(stripped) and "，" not in stripped and "," not in stripped:
            best = (original[start:position].strip(), position)
    if best:
        return best
    # No title-like segment: the first non-empty line, if short.
    for line in original[:limit].split("\n"):
        if 0 < len(line.strip()) <= 40:
            return line.strip(), original.find(line) + len(line)
    return "", 0


def find_year(*texts: str) -> int | None:
    """The first plausible plan year (19xx/20xx followed by 年) in the given texts."""
    for text in texts:
        match = re.search(r"((?:19|20)\d{2})\s*年", text)
        if match:
            return int(match.group(1))
    return None
