"""Proposed targets: every clause of a block that states something measurable, dated or committed.

A block (a section's intro or a work item's text) is split into sentences, sentences into clauses at commas, and
clauses again where one holds several measured values ("创建省优质园20所、市优质园10所"). Each clause is then read
for a value with its unit and comparator, a rhythm (每学期…), a due month, a zero-tolerance rule (严禁…), an
improvement (有一定提高), or a committing verb (建立…, 制定…) that makes it a milestone or a qualitative item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .indicators import suggest_indicator
from .model import DraftTarget
from .numbers import (
    INSTITUTION_UNITS,
    MEASURE_LEVEL_UNITS,
    PERCENT_UNITS,
    QUALIFIER_UNITS,
    Value,
    cn_to_decimal,
    find_values,
)
from .textnorm import normalize

_OPEN = "(《“[<"
_CLOSE = ")》”]>"
_SENTENCE_ENDS = set("。;!?\n")
_MASK = "\u25a1"  # same length as the character it hides
MAX_NESTING = 2  # parentheses read as sentences of their own, at most this deep

_ADVERBS = (
    r"(?:进一步|积极|认真|全面|深入|大力|继续|持续|切实|着力|不断|努力|扎实|严格|加快|逐步|坚决|务必|主动|有效"
    r"|依法依规|依法|及时|统筹|科学|精准|重点|全力|稳步|力争|争取|确保|要|应|将|并|同时|还要|必须|须|坚持|共同"
    r"|充分|广泛|有序|规范地|真正|每年|定期|按时|原则上|顺利|圆满|按期|如期)"
)
_ADVERB_PREFIX = re.compile(rf"^(?:{_ADVERBS}\s*)+")
_SUBJECT_MODAL = re.compile(r"^[^,]{1,14}?(?:将|要|应|须|必须|坚持|负责|继续|不得|严禁)")
_MILESTONE_VERBS = re.compile(
    r"^(?:制定|建立|出台|设立|启动|完成|建成|交付|通过|成立|召开|举办|印发|创建|探索建立|组建|开通|编制|修订|颁布"
    r"|发布|开工|竣工|投入使用|做好.{0,16}对接|实施.{0,14}(?:计划|方案|工程))"
)
_EVENT = re.compile(
    r"(?:开展|举办|组织|举行).{0,30}(?:比赛|大赛|竞赛|评选|展演|运动会|艺术节|读书节|论坛|现场会|推进会)"
)
_NARRATIVE_VERBS = re.compile(
    r"^(?:落实|推进|推动|开展|加强|提高|提升|完善|健全|实施|深化|做好|组织|强化|探索|规范|加快|加大|实行|开齐|配齐"
    r"|参与|贯彻|构建|优化|扩大|表彰|鼓励|引导|培养|发挥|增强|营造|打造|支持|依托|重视|注重|保障|保持|巩固|促进"
    r"|抓好|抓住|执行|严控|减轻|确认|扶持|培育|指导|督促|整合|关爱|办好|开设|申报|争创|夯实|改善|筹建|改造|新建"
    r"|扩建|推广|总结|评选|举行|实现|做实|做到|形成|提供|解决|加快|坚持|进行|落细|建立|制定|完成|启动|创建|设立|上|参加"
    r"|推行|开足|配备|建好|用好|管好)"
)
# Establishing something through something else ("依托…建立…中心"), or a named building project ("推进…学校建设").
_BUILDS = re.compile(
    r"^(?:依托|通过|利用|借助|结合)[^,]{0,30}?(?:建立|设立|建成|成立|组建)"
    r"|^(?:推动|推进|加快推进|加快|启动|完成)[^,]{2,40}建设$"
)
# Done once: "顺利通过…", "圆满完成…", an inspection to pass (迎检, 验收), a standard to reach.
_MILESTONE_MARKS = re.compile(r"^(?:顺利|圆满|按期|如期)|迎检|验收|督导评估|达到[^,]{0,30}标准$")
_VERB_INSIDE = re.compile(
    r"落实|推进|推动|开展|加强|提高|提升|完善|健全|实施|深化|做好|强化|巩固|保持|完成|建立|实现|确保"
)
_LIMIT_VERBS = re.compile(
    r"^(?:严禁|禁止|杜绝|不得|不准|不许|严防|纠正|制止|消除|根除|查处|严肃查处|严厉查处|坚决纠正|坚决杜绝|坚决制止)"
)
_IMPROVE = re.compile(
    r"(?:有一定提高|有一定提升|有所提高|有所提升|有较大提高|明显提高|显著提高|取得新突破|实现新突破|稳中有升"
    r"|(?:进一步|逐步|稳步|持续|不断|努力|积极)?(?:提高|提升|增长|增加|降低|减少|巩固提高))"
)
_MEASURE_OBJECT = re.compile(r"(?<![效频])率|比例|人数|数量|占比")
_COMPARATOR_WORDS = re.compile(
    r"不超过|不高于|不多于|不大于|控制在|控制到|压缩到|压减到|降至|降到|降低到|不少于|不低于|不小于|至少|达到|超过"
    r"|高于|多于|提高到|提升到|增加到|保持在|稳定在|低于|少于|小于|达"
)
_LTE_WORDS = {"不超过", "不高于", "不多于", "不大于", "控制在", "控制到", "压缩到", "压减到", "降至", "降到", "降低到"}
_LTE_WORDS |= {"低于", "少于", "小于"}
_GTE_WORDS = {"不少于", "不低于", "不小于", "至少", "达到", "超过", "高于", "多于", "提高到", "提升到", "增加到", "达"}
_QUANTITY_VERBS = re.compile(
    r"(?:招收|招生|新建|创建|建成|培训|新增|改造|评选|认定|打造|培育|建设|开设|组织|举办|召开|开展|进行|检查|督查"
    r"|巡查|听课|达到|达|至少|不少于|不低于|超过|完成|举行)$"
)
_RHYTHM = re.compile(r"每(?:个|一)?(天|日|周|星期|学月|月|季度|学期|学年|年度|年)(?!级)")
_RHYTHM_NAMES = {
    "天": "day",
    "日": "day",
    "周": "week",
    "星期": "week",
    "学月": "month",
    "月": "month",
    "季度": "quarter",
    "学期": "semester",
    "学年": "year",
    "年度": "year",
    "年": "year",
}
_EACH = re.compile(
    r"(?:各|每个|每一个|每所|每一所|每校|每园|所有|全部)(?:县区|县|区|乡镇|镇|街道|中心小学|中心校|小学|中学|学校|幼儿园"
    r"|园|校|学区|片区|单位|班级|班)|均(?:须|要|应|需|达到|不低于|不少于)|校校|班班"
)
_FREQUENCY_ACTS = re.compile(r"制度|召开|开展|组织|检查|督查|巡查|考核|评价|评估|视导|听课|培训|例会|会议|活动")
_DEADLINE = re.compile(r"(?:于|在).{0,24}?(?:前|之前|以前)|前(?:报送|上报|送|完成|提交|交)")
_CN_MONTH = r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])"
_MONTH_RANGE = re.compile(rf"({_CN_MONTH})\s*[-~至到]\s*({_CN_MONTH})\s*月")
_MONTH = re.compile(rf"(?<![\d个])({_CN_MONTH})\s*月(?!\s*[-~至到]\s*\d)")
_SEASONS = (
    (re.compile(r"秋季|秋学期|秋季学期"), 9),
    (re.compile(r"春季|春学期|春季学期"), 3),
    (re.compile(r"暑期|暑假"), 8),
    (re.compile(r"寒假"), 1),
    (re.compile(r"上半年"), 6),
    (re.compile(r"下半年|年底|年末|年内"), 12),
)
_QUARTER = re.compile(r"第([一二三四1-4])季度")
_TIME_ONLY = re.compile(
    r"^(?:到|至|截至|截止|在|于|力争)?(?:\d{4}年)?(?:年?底|年?末|上半年|下半年|秋季|春季|\d{1,2}月(?:份|底|末)?)?"
    r"(?:前|之前|以前)?$"
)
# "2025年秋季学期起": when something starts, not when it is due.
_STARTING = re.compile(r"(?:\d{4}\s*年)?[^,;。]{0,8}?(?:学期|月份?|季度|年|季)(?:起|开始)")
_PER_HEAD = re.compile(r"生均|人均|每生|每名学生|师均")
_RANK = re.compile(r"保(\d+|[一二三四五六七八九十])争(\d+|[一二三四五六七八九十])")
_BIG_CLASS = re.compile(r"^\s*的?[^,。;]{0,5}?(班额|校额)")
_ZERO = re.compile(r"(?:实现|确保|保持|做到|力争)零[\u4e00-\u9fff]{1,6}|为零$|零发生|零容忍")
_LIMIT_UNIT_PEOPLE = re.compile(r"招收|招生|转学|录取|辍学|流失|学生$")
_LIMIT_UNIT_CLASS = re.compile(r"班$|班、|开设|办班")
_SPLIT_WORDS = re.compile(r"、|和|及|以及|与")
_POINT_PREFIX = re.compile(r"^\s*(?:[(（]\d{1,2}[)）]|[一二三四五六七八九十]是|\d{1,2}[.、．](?!\d))\s*")


@dataclass
class Clause:
    """A span of the block that may become one target."""

    start: int
    end: int
    sentence: tuple[int, int]
    masked: str  # the clause's normalised text with bracket contents hidden from value search
    child_of_previous: bool = False


def tidy(text: str) -> str:
    """Verbatim text without the spaces PDF/web extraction leaves between Chinese characters and numbers."""
    text = re.sub(r"[ \t\u3000]+(?=[\u3400-\u9fff，。、；：（）《》“”%％])", "", text)
    text = re.sub(r"(?<=[\u3400-\u9fff，。、；：（）《》“”])[ \t\u3000]+", "", text)
    return text.strip(" \t\n，,；;、。")


def tidy_block(text: str) -> str:
    """A paragraph verbatim without extraction spaces, keeping its final full stop."""
    text = re.sub(r"[ \t\u3000]+(?=[\u3400-\u9fff，。、；：（）《》“”%％])", "", text)
    text = re.sub(r"(?<=[\u3400-\u9fff，。、；：（）《》“”])[ \t\u3000]+", "", text)
    return text.strip(" \t\n，,；;、")


def _bracket_pairs(norm: str, start: int, end: int) -> dict[int, int]:
    """Matching open → close bracket indexes in [start, end); an unclosed or stray bracket is ignored.

    A bracket left open (a typo, or a line lost in extraction) must not swallow the rest of the document.
    A bracket pair spanning a sentence end is ignored too.
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index in range(start, end):
        char = norm[index]
        if char in _OPEN:
            stack.append(index)
        elif char in _CLOSE and stack:
            pairs[stack.pop()] = index
        elif char in "。\n" and stack:
            stack.clear()
    return pairs


def _bracket_spans(norm: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Top-level bracketed spans (open index, close index inclusive, opening char) within [start, end)."""
    spans = []
    reach = -1
    for opened, closed in sorted(_bracket_pairs(norm, start, end).items()):
        if opened > reach:
            spans.append((opened, closed, norm[opened]))
            reach = closed
    return spans


def _split_top(norm: str, start: int, end: int, separators: set[str]) -> list[tuple[int, int]]:
    """Split [start, end) at separators outside (matched) brackets."""
    inside = [False] * (end - start)
    for opened, closed, _kind in _bracket_spans(norm, start, end):
        for index in range(opened, closed + 1):
            inside[index - start] = True
    parts = []
    position = start
    for index in range(start, end):
        if norm[index] in separators and not inside[index - start]:
            parts.append((position, index))
            position = index + 1
    parts.append((position, end))
    return [(a, b) for a, b in parts if norm[a:b].strip()]


def _strip_prefix(text: str) -> str:
    """A clause without point markers and leading adverbs, for reading its verb."""
    text = _POINT_PREFIX.sub("", text.strip())
    return _ADVERB_PREFIX.sub("", text)


def _verb_part(text: str) -> str:
    """The clause from its main verb on: adverbs dropped, a leading subject with a modal verb skipped."""
    stripped = _strip_prefix(text)
    if _NARRATIVE_VERBS.match(stripped) or _LIMIT_VERBS.match(stripped) or _MILESTONE_VERBS.match(stripped):
        return stripped
    subject = _SUBJECT_MODAL.match(stripped)
    if subject:
        rest = stripped[subject.end() :]
        modal = subject.group(0)
        if modal.endswith(("不得", "严禁")):
            return modal[-2:] + rest
        return _ADVERB_PREFIX.sub("", rest)
    return stripped


def _accept_value(value: Value, masked: str) -> bool:
    """Whether a number found in a clause is a target value (not a year, age, ordinal, name or list count)."""
    if value.is_qualifier:
        return False
    before = masked[max(0, value.start - 24) : value.start]  # the words right before are all that matter
    after = masked[value.end : value.end + 1]
    if before.endswith(("第", "等", "每", "前", "近")) or after == "性":
        return False
    if _MASK in masked[value.start : value.end]:
        return False
    if not value.unit and not value.post and value.is_scaled and not value.chinese:
        return True
    if not value.unit and not value.post:
        # A bare number counts only after a comparator word: "达到95".
        return bool(re.search(r"(?:不低于|不少于|达到|达|不超过|控制在)\s*$", before)) and value.value < 10_000
    if value.chinese:
        if value.value == 1 and value.unit != "次" and not value.post and not _COMPARATOR_WORDS.search(before[-4:]):
            # "打造一支队伍", "建设一所学校": 一 is an article here, not a count to reach.
            return False
        near = before[-8:]
        return bool(
            value.post in ("以上", "及以上", "以内", "以下")
            or value.unit == "次"
            and (_RHYTHM.search(near) or _QUANTITY_VERBS.search(before.rstrip()))
            or _QUANTITY_VERBS.search(before.rstrip())
            or re.search(r"(?:不少于|不低于|至少|达到|不超过)\s*$", before)
        )
    return not (value.value >= 1900 and value.value <= 2100 and value.unit is None)


def _comparator(value: Value, before: str) -> str | None:
    """gte / lte / range from the words around a value, or None when the text does not say."""
    if value.value_max is not None:
        return "range"
    if value.post in ("以内", "以下", "之内"):
        return "lte"
    words = _COMPARATOR_WORDS.findall(before[-12:])
    if words:
        last = words[-1]
        if last in _LTE_WORDS:
            return "lte"
        if last in _GTE_WORDS:
            return "gte"
    if value.post in ("以上", "及以上"):
        return "gte"
    return None


def _kind_for(unit: str | None, comparator: str | None) -> tuple[str, str]:
    """Target kind and default comparator for a measured value's unit."""
    if unit in PERCENT_UNITS:
        return "threshold", comparator or "gte"
    if unit == "次":
        return "frequency", comparator or "gte"
    if unit in INSTITUTION_UNITS:
        return ("limit", "lte") if comparator == "lte" else ("count_units", comparator or "gte")
    if unit in MEASURE_LEVEL_UNITS:
        return ("limit", "lte") if comparator == "lte" else ("threshold", comparator or "gte")
    if comparator == "lte":
        return "limit", "lte"
    return "quantity", comparator or "eq"


def due_of(norm: str, plan_year: int | None) -> tuple[int | None, int | None, int | None]:
    """(year, month, start month) a clause is due by, from "(3月份)", "2-7月份", "秋季交付", "年底前"…"""
    norm = _STARTING.sub(lambda match: " " * len(match.group(0)), norm)
    year_match = re.search(r"((?:19|20)\d{2})\s*年", norm)
    year = int(year_match.group(1)) if year_match else plan_year
    ranged = _MONTH_RANGE.search(norm)
    if ranged:
        first, last = (int(cn_to_decimal(g) or 0) if not g.isdigit() else int(g) for g in ranged.groups())
        if 1 <= first <= 12 and 1 <= last <= 12:
            return year, last, first
    for match in _MONTH.finditer(norm):
        raw = match.group(1)
        month = int(raw) if raw.isdigit() else int(cn_to_decimal(raw) or 0)
        if 1 <= month <= 12:
            return year, month, None
    quarter = _QUARTER.search(norm)
    if quarter:
        raw = quarter.group(1)
        number = int(raw) if raw.isdigit() else int(cn_to_decimal(raw) or 0)
        return year, number * 3, None
    for pattern, month in _SEASONS:
        if pattern.search(norm):
            return year, month, None
    return None, None, None


class BlockReader:
    """Reads one block of text (a section intro or a work item) into clauses."""

    def __init__(self, text: str, norm: str) -> None:
        self.text = text
        self.norm = norm

    def masked_slice(self, start: int, end: int) -> str:
        """norm[start:end] with the content of top-level brackets (quotes, titles, parentheses) hidden."""
        chars = list(self.norm[start:end])
        for open_index, close_index, _kind in _bracket_spans(self.norm, start, end):
            for index in range(open_index + 1, close_index):
                chars[index - start] = _MASK
        return "".join(chars)

    def clauses(self, start: int, end: int, depth: int = 0) -> list[Clause]:
        """Clauses of [start, end): sentences, then commas, then splits between several measured values."""
        out: list[Clause] = []
        for sentence in _split_top(self.norm, start, end, _SENTENCE_ENDS):
            out.extend(self._sentence_clauses(sentence, depth))
        return out

    def _sentence_clauses(self, sentence: tuple[int, int], depth: int = 0) -> list[Clause]:
        """Clauses of one sentence; long parentheses are read as sentences of their own."""
        start, end = sentence
        nested: list[tuple[int, int]] = []
        children: list[tuple[int, int]] = []
        for open_index, close_index, kind in _bracket_spans(self.norm, start, end):
            if kind != "(":
                continue
            inner = self.norm[open_index + 1 : close_index]
            if inner.startswith("其中"):
                children.append((open_index, close_index))
            elif depth < MAX_NESTING and len(inner) >= 12 and re.search(r"[,;]|每|不少于|以上|严禁|不得|前", inner):
                nested.append((open_index, close_index))
        masked = self.masked_slice(start, end)
        out: list[Clause] = []
        for part_start, part_end in _split_top(self.norm, start, end, {","}):
            of_whole = _strip_prefix(self.norm[part_start:part_end]).startswith("其中")
            for piece_start, piece_end in _split_values(masked[part_start - start : part_end - start], part_start):
                own_end = piece_end
                for open_index, close_index in children + nested:
                    # A parenthesis read on its own is not part of its host clause's text.
                    if piece_start < open_index < own_end and not self.norm[close_index + 1 : piece_end].strip():
                        own_end = open_index
                out.append(
                    Clause(
                        piece_start,
                        own_end,
                        sentence,
                        masked[piece_start - start : own_end - start],
                        child_of_previous=of_whole,
                    )
                )
                for open_index, close_index in children:
                    if piece_start <= open_index < piece_end:
                        inner_masked = self.masked_slice(open_index + 1, close_index)
                        out.append(Clause(open_index + 1, close_index, sentence, inner_masked, child_of_previous=True))
        for open_index, close_index in nested:
            out.extend(self.clauses(open_index + 1, close_index, depth + 1))
        return out


def _split_values(masked: str, offset: int) -> list[tuple[int, int]]:
    """Split a clause at 、/和/及 lying between two accepted measured values (offsets in the block)."""
    values = [v for v in find_values(masked) if (v.unit or v.post or v.is_scaled) and _accept_value(v, masked)]
    if len(values) < 2:
        return [(offset, offset + len(masked))]
    pieces = []
    position = 0
    for previous, current in zip(values, values[1:], strict=False):
        cut = None
        for match in _SPLIT_WORDS.finditer(masked, previous.end, current.start):
            cut = match
        if cut is None:
            continue
        pieces.append((offset + position, offset + cut.start()))
        position = cut.end()
    pieces.append((offset + position, offset + len(masked)))
    return pieces


def _limit_unit(text: str) -> str | None:
    """The unit a zero-tolerance rule counts: pupils (人) or classes (班) when the object says so."""
    if _LIMIT_UNIT_CLASS.search(text):
        return "班"
    if _LIMIT_UNIT_PEOPLE.search(text):
        return "人"
    return None


def propose_targets(text: str, plan_year: int | None = None) -> list[DraftTarget]:
    """Proposed targets of a whole text read as one block (no headings): the rules without the structure."""
    return read_block(text, normalize(text), 0, len(text), None, None, plan_year, 0)


def read_block(
    text: str,
    norm: str,
    start: int,
    end: int,
    section: str | None,
    work_item: int | None,
    plan_year: int | None,
    first_index: int,
) -> list[DraftTarget]:
    """Proposed targets of text[start:end]; ``first_index`` is the index the first one will have in the draft."""
    reader = BlockReader(text, norm)
    clauses = reader.clauses(start, end)
    targets: list[DraftTarget] = []
    last_measured: int | None = None
    last_sentence: tuple[int, int] | None = None
    previous_qualitative: DraftTarget | None = None
    sentence_due: tuple[int | None, int | None, int | None] = (None, None, None)
    for clause in clauses:
        if clause.sentence != last_sentence:
            previous_qualitative = None
            last_sentence = clause.sentence
            sentence_due = (None, None, None)
        clause_norm = compact_norm(norm[clause.start : clause.end])
        if _TIME_ONLY.match(clause_norm) and any(char.isdigit() or char in "底末季" for char in clause_norm):
            # "到2024年底，…": a time phrase heading the sentence dates the clauses after it.
            sentence_due = due_of(clause_norm, plan_year)
            continue
        target = _read_clause(reader, clause, section, work_item, plan_year)
        if target is None:
            previous_qualitative = None
            continue
        if target.due_month is None and sentence_due[1] is not None and target.kind != "_continuation":
            target.due_year, target.due_month, target.due_start_month = sentence_due
        if target.kind == "_continuation":
            if previous_qualitative is not None:
                previous_qualitative.end = target.end
                previous_qualitative.text = tidy(text[previous_qualitative.start : target.end])
            continue
        if clause.child_of_previous or _strip_prefix(norm[clause.start : clause.end]).startswith("其中"):
            if last_measured is not None and target.kind not in ("milestone", "narrative"):
                parent = targets[last_measured]
                target.parent = first_index + last_measured
                if target.unit is None:
                    target.unit = parent.unit
                    target.kind = parent.kind
                    target.comparator = parent.comparator
                context = compact_norm(parent.text)
                code, confidence = suggest_indicator(compact_norm(target.text), context)
                target.indicator, target.indicator_confidence = code, confidence
        targets.append(target)
        if target.kind in ("milestone", "narrative"):
            previous_qualitative = target
        else:
            previous_qualitative = None
            if target.parent is None:
                last_measured = len(targets) - 1
    return targets


def compact_norm(text: str) -> str:
    """Normalised text without spaces, for keyword matching."""
    return re.sub(r"\s+", "", normalize(text))


def _read_clause(
    reader: BlockReader, clause: Clause, section: str | None, work_item: int | None, plan_year: int | None
) -> DraftTarget | None:
    """One clause as a proposed target, a continuation of the previous one, or None."""
    norm = reader.norm
    masked = clause.masked
    raw = reader.text[clause.start : clause.end]
    verbatim = tidy(_POINT_PREFIX.sub("", raw))
    if len(re.sub(r"\W", "", verbatim)) < 2:
        return None
    clause_norm = compact_norm(verbatim)
    sentence_norm = norm[clause.sentence[0] : clause.sentence[1]]
    target = DraftTarget(
        section=section, work_item=work_item, text=verbatim, kind="narrative", start=clause.start, end=clause.end
    )
    due_year, due_month, due_start = due_of(norm[clause.start : clause.end], plan_year)
    verb_part = _verb_part(clause_norm)
    rhythm = _RHYTHM.search(clause_norm)
    target.per = _RHYTHM_NAMES[rhythm.group(1)] if rhythm else None
    target.applies_to_each_unit = bool(_EACH.search(clause_norm))

    # 1. A measured value.
    values = [v for v in find_values(masked) if _accept_value(v, masked)]
    rank = _RANK.search(norm[clause.start : clause.end])
    if rank:
        first = rank.group(1)
        target.kind, target.comparator = "threshold", "lte"
        target.target_value = Decimal(first) if first.isdigit() else cn_to_decimal(first)
        target.confidence = 0.6
        _finish(target, clause_norm, "")
        return target
    if values:
        primary = next((v for v in values if v.is_percent), None) or values[0]
        after = masked[primary.end :]
        if primary.post in ("以上", "及以上") and not primary.is_percent and _BIG_CLASS.match(after):
            # "55人以上的大班额": the number defines what is counted; the rule is that there are none.
            target.kind, target.comparator, target.target_value = "limit", "lte", Decimal(0)
            big_class = _BIG_CLASS.match(after)
            target.unit = "班" if big_class is not None and "班" in big_class.group(0) else "所"
            target.confidence = 0.75
            _finish(target, clause_norm, "")
            return target
        before = masked[: primary.start]
        comparator = _comparator(primary, before)
        target.kind, target.comparator = _kind_for(primary.unit, comparator)
        if target.kind == "quantity" and _PER_HEAD.search(clause_norm):
            # 生均/人均 values are levels each unit reaches, not amounts to add up.
            target.kind = "threshold"
            target.comparator = comparator or "gte"
        target.target_value = primary.value
        target.target_value_max = primary.value_max
        target.unit = primary.unit
        if target.kind == "frequency" and target.per is None:
            sentence_rhythm = _RHYTHM.search(sentence_norm)
            target.per = _RHYTHM_NAMES[sentence_rhythm.group(1)] if sentence_rhythm else None
        if target.kind == "frequency" and re.match(r"^(?:学校|中心小学|中心校|幼儿园|各)", clause_norm):
            target.applies_to_each_unit = True
        target.confidence = 0.9 if comparator or primary.unit else 0.7
        if due_month:
            target.due_year, target.due_month, target.due_start_month = due_year, due_month, due_start
        _finish(target, clause_norm, "")
        return target

    # 2. No value: a rule of zero tolerance, an improvement, a rhythm, a date, a commitment.
    if _LIMIT_VERBS.match(verb_part) or _ZERO.search(clause_norm):
        target.kind, target.comparator, target.target_value = "limit", "lte", Decimal(0)
        target.unit = _limit_unit(clause_norm)
        target.confidence = 0.7
        _finish(target, clause_norm, "")
        return target
    improve = _IMPROVE.search(clause_norm)
    if improve and _MEASURE_OBJECT.search(clause_norm[improve.start() :] + clause_norm[: improve.start()]):
        if re.search(r"(?<![效频])率|比例|占比", clause_norm):
            target.kind, target.unit = "threshold", "%"
        else:
            target.kind, target.unit = "quantity", "人" if "人数" in clause_norm else None
        target.comparator = "improves"
        target.confidence = 0.6
        _finish(target, clause_norm, "")
        return target
    if due_month and not rhythm:
        target.kind = "milestone"
        target.due_year, target.due_month, target.due_start_month = due_year, due_month, due_start
        target.confidence = 0.75
        return target
    if _DEADLINE.search(clause_norm):
        target.kind = "milestone"
        target.confidence = 0.6
        return target
    if rhythm and _FREQUENCY_ACTS.search(clause_norm):
        target.kind, target.comparator, target.target_value, target.unit = "frequency", "gte", Decimal(1), "次"
        target.confidence = 0.55
        _finish(target, clause_norm, "")
        return target
    ongoing = re.match(r"^(?:坚持|持续|继续|长期|常态化)", clause_norm)
    if not ongoing and (
        _MILESTONE_VERBS.match(verb_part)
        or _EVENT.search(clause_norm)
        or _BUILDS.search(verb_part)
        or _MILESTONE_MARKS.search(clause_norm)
    ):
        target.kind = "milestone"
        target.confidence = 0.45
        return target
    if ongoing or _NARRATIVE_VERBS.match(verb_part):
        target.kind = "narrative"
        target.confidence = 0.3
        return target
    if len(clause_norm) >= 6 and _VERB_INSIDE.search(clause_norm[:16]):
        # A subject first ("学前教育和义务教育质量巩固并保持…"): still a commitment, less surely one.
        target.kind = "narrative"
        target.confidence = 0.25
        return target
    target.kind = "_continuation"
    return target


def _finish(target: DraftTarget, clause_norm: str, context: str) -> None:
    """Attach the suggested indicator to a measured target."""
    code, confidence = suggest_indicator(clause_norm, context)
    target.indicator, target.indicator_confidence = code, confidence
    if target.unit in QUALIFIER_UNITS:
        target.unit = None
