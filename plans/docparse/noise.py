"""Removing what is not plan from a document's text, before anything is read as plan.

Web-site boilerplate and download prompts, file sizes, page markers ("- 2 -", "第1页 / 共6页"), the "1、2、"
page counters some sites insert at each page break (splitting words in two), phone numbers and e-mail
addresses, and other documents appended after the plan. Each removal is recorded so the review page can show it.
"""

from __future__ import annotations

import re

from .model import NoiseSnippet
from .textnorm import normalize

# A sentence holding one of these is web-site furniture, never plan (matched on normalised text).
_BOILERPLATE_RE = re.compile(
    r"由会员分享|可在线阅读|请在.{0,80}?上搜索|精选文档|为大家整理|供大家参考|仅供参考|来源于网友上传|网友上传"
    r"|不代表本站|本站观点|咨询客服|客服老师|欢迎参考|欢迎下载|免费下载|点击下载|下载全文|文档下载|下载文档"
    r"|页珍藏版|本文档|文档格式|可编辑|版权归|侵权|请联系删除|浏览次数|阅读次数|点击次数|点击数|文件大小"
    r"|www\.|https?://|\.com\b|\.cn\b|\.net\b|返回顶部|打印本页|关闭窗口|分享到|扫一扫|二维码|收藏本|字号"
    r"|责任编辑|文章来源|点击查看|查看更多|浏览量|\[打印\]|\[关闭\]|本文由.{0,20}整理"
    r"|^\s*(?:时间|发布时间|发布日期|来源|作者|导语|摘要|编辑)\s*:",
    re.IGNORECASE,
)
# A line starting with one of these ends the plan: what follows is another document or a site's link list.
_TRAILER_RE = re.compile(
    r"^\s*(?:上一篇|下一篇|相关推荐|相关文章|相关文档|延伸阅读|猜你喜欢|热门文档|推荐阅读|更多相关|附件\s*\d*\s*:)"
)
_FILE_SIZE_RE = re.compile(
    r"(?:文件)?大小\s*:?\s*\d+(?:\.\d+)?\s*(?:KB|MB|K|M|GB|B)\b|\d+(?:\.\d+)?\s*(?:KB|MB|GB)\b", re.I
)
_PAGE_MARKER_RE = re.compile(
    r"[-—]\s+\d{1,3}\s+[-—]"  # - 2 -
    r"|[-—]\s*\d{1,3}\s*[-—](?=\s*$)"  # -2- alone at a line end
    r"|^\s*[-—]\s*\d{1,3}\s*[-—]"  # -2- at a line start
    r"|第\s*\d{1,3}\s*页\s*[/,]?\s*共\s*\d{1,3}\s*页"  # 第1页 / 共6页
    r"|^\s*第\s*\d{1,3}\s*页\s*$"
    r"|^\s*\d{1,3}\s*/\s*\d{1,3}\s*$"  # 1/6 alone on a line
    r"|\bPage\s*\d{1,3}\s*(?:of|/)\s*\d{1,3}",
    re.MULTILINE,
)
_PHONE_RE = re.compile(
    r"(?:联系)?(?:电话|手机|传真|热线|联系方式)\s*:?\s*(?:\(?0\d{2,3}\)?[-\s]?)?\d{7,8}(?:-\d{1,5})?"
    r"|(?<!\d)1[3-9]\d{9}(?!\d)"
    r"|(?<![\d.])\(?0\d{2,3}\)?-\d{7,8}(?!\d)"
)
_EMAIL_RE = re.compile(r"(?:邮箱|电子邮件|E-?mail)?\s*:?\s*[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.I)
# "…报送市教育局初幼教科:cjkhxy。" — an address or account in Latin letters after a colon, at a sentence end.
_LATIN_ACCOUNT_RE = re.compile(r":\s*[A-Za-z][A-Za-z0-9._-]{2,}(?=\s*(?:[。;,]|$))", re.MULTILINE)
_PAGE_COUNTER_RE = re.compile(r"^(\d{1,3})、", re.MULTILINE)
_SENTENCE_END = "。！？!?；;"
_TITLE_LINE_RE = re.compile(r"(?:工作要点|工作计划|工作意见|工作方案|实施方案|工作总结|工作安排|通知|讲话)\s*$")
_L1_AT_LINE_START = re.compile(r"^\s*一、", re.MULTILINE)
_HEADING_START = re.compile(r"^(?:[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]|[一二三四五六七八九十]+、)")


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the given (start, end) spans (may overlap)."""
    if not spans:
        return text
    spans = sorted(spans)
    pieces = []
    position = 0
    for start, end in spans:
        if end <= position:
            continue
        start = max(start, position)
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def join_page_counters(text: str, noise: list[NoiseSnippet]) -> str:
    """Remove "1、2、3、" page counters that start each page and join the words they split.

    A run of line-initial counters 1, 2, 3… (at least three) is taken for page counters when most of them break
    a sentence (the line before does not end a sentence) on lines of page length; numbered list items
    ("1、加强…" after a full stop, however long) are left alone.
    """
    lines = text.split("\n")
    expected = 1
    counter_lines: list[int] = []
    for index, line in enumerate(lines):
        match = _PAGE_COUNTER_RE.match(line)
        if match and int(match.group(1)) == expected:
            counter_lines.append(index)
            expected += 1
    if len(counter_lines) < 3:
        return text
    mid_sentence = 0
    lengths = []
    for index in counter_lines[1:]:
        previous = lines[index - 1].rstrip()
        lengths.append(len(previous))
        if previous and previous[-1] not in _SENTENCE_END:
            mid_sentence += 1
    breaks = len(counter_lines) - 1
    average = sum(lengths) / max(len(lengths), 1)
    if not (mid_sentence * 2 > breaks and average > 40):
        return text
    counter_set = set(counter_lines)
    out: list[str] = []
    for index, line in enumerate(lines):
        if index in counter_set:
            match = _PAGE_COUNTER_RE.match(line)
            assert match is not None  # counter_set holds only lines this pattern matched
            noise.append(NoiseSnippet("page_counter", match.group(0)))
            body = line[match.end() :]
            if index != counter_lines[0] and out:
                out[-1] = out[-1] + body
                continue
            out.append(body)
        else:
            out.append(line)
    return "\n".join(out)


def _cut_appended_documents(text: str, noise: list[NoiseSnippet]) -> str:
    """Drop a site's trailer (related links) and any second document appended after the plan."""
    lines = text.split("\n")
    normalised = [normalize(line) for line in lines]
    seen_heading = False
    for index, line in enumerate(normalised):
        if _TRAILER_RE.match(line) and seen_heading:
            noise.append(NoiseSnippet("appended", "\n".join(lines[index:])[:500]))
            return "\n".join(lines[:index])
        stripped = line.strip()
        if (
            seen_heading
            and 0 < len(stripped) <= 40
            and _TITLE_LINE_RE.search(stripped)
            and "。" not in stripped
            and not _HEADING_START.match(stripped)
        ):
            rest = "\n".join(normalised[index + 1 :])
            if _L1_AT_LINE_START.search(rest) or re.search(r"一、", rest[:400]):
                noise.append(NoiseSnippet("appended", "\n".join(lines[index:])[:500]))
                return "\n".join(lines[:index])
        if re.match(r"^\s*[一二三四五六七八九十]{1,3}、", line) or "一、" in line:
            seen_heading = True
    return text


def _split_sentences_keep(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of sentences: up to and including 。！？ or a line break."""
    spans = []
    start = 0
    for index, char in enumerate(text):
        if char in "。！？!?\n":
            spans.append((start, index + 1))
            start = index + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def clean(text: str) -> tuple[str, list[NoiseSnippet]]:
    """The document's text without noise, and what was removed. Characters kept are kept verbatim."""
    noise: list[NoiseSnippet] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = join_page_counters(text, noise)
    text = _cut_appended_documents(text, noise)

    normalised = normalize(text)
    spans: list[tuple[int, int]] = []
    for pattern, reason in (
        (_PAGE_MARKER_RE, "page_marker"),
        (_PHONE_RE, "phone"),
        (_EMAIL_RE, "email"),
        (_FILE_SIZE_RE, "file_size"),
        (_LATIN_ACCOUNT_RE, "email"),
    ):
        for match in pattern.finditer(normalised):
            if match.group(0).strip():
                spans.append((match.start(), match.end()))
                noise.append(NoiseSnippet(reason, text[match.start() : match.end()]))
    text = _remove_spans(text, spans)
    # Brackets left empty by a removed phone number or address: "（电话：…）" → "".
    text = re.sub(r"[（(]\s*[:：]?\s*[)）]", "", text)

    normalised = normalize(text)
    spans = []
    for start, end in _split_sentences_keep(normalised):
        sentence = normalised[start:end]
        if _BOILERPLATE_RE.search(sentence):
            spans.append((start, end))
            noise.append(NoiseSnippet("boilerplate", text[start:end].strip()))
    text = _remove_spans(text, spans)
    return text, noise
