"""Any text parses without an error, every proposal points into the cleaned text, hostile nesting stays fast."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plans.docparse import parse_text

ALPHABET = (
    "一二三四五六七八九十两半百千万0123456789.-%、，。；：（）()《》“”每学期年月日次个所人以上以内不超过严禁其中建立\n "
)
PIECES = ["一、", "（一）", "1.", "(1)", "一是", "- 2 -", "2、", "达到", "不少于", "控制在", "55人以上的大班额", "秋季"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(alphabet=ALPHABET, max_size=30), st.sampled_from(PIECES)), max_size=40))
def test_any_text_parses_and_spans_point_into_it(parts: list[str]) -> None:
    draft = parse_text("".join(parts))
    data = draft.to_dict()
    assert set(data) >= {"title", "sections", "work_items", "targets"}
    for target in draft.targets:
        assert 0 <= target.start <= target.end <= len(draft.text)
        assert 0 <= target.confidence <= 1
        if target.parent is not None:
            assert 0 <= target.parent < len(draft.targets)


def test_deeply_nested_brackets_are_parsed_safely() -> None:
    # 3,000 levels of brackets: no recursion limit, no catastrophic backtracking (how fast the parser is, is
    # measured by bench/bench_docparse.py, not here).
    text = "一、主要目标\n" + "（" * 3000 + "各校每学期组织活动三次以上，严禁有偿补课" + "）" * 3000
    draft = parse_text(text)
    assert draft.sections[0].title == "主要目标"
