"""The matching rule shared by the parser bench and the plan-import journeys (plans.docparse.compare)."""

from __future__ import annotations

from decimal import Decimal

from plans.docparse.compare import compare_targets, match, numbers_match, same_kind_and_numbers, text_score


def target(text: str, kind: str = "narrative", comparator: str | None = None, value: object = None,
           value_max: object = None, code: str = "") -> dict[str, object]:  # fmt: skip
    return {"code": code, "text": text, "kind": kind, "comparator": comparator, "target_value": value,
            "target_value_max": value_max}  # fmt: skip


def test_same_sentence_across_punctuation_and_scripts() -> None:
    assert text_score("推动柳城梅山等两个乡镇街道中心幼儿园建设", "推动柳城梅山等两个乡镇街道中心幼儿园建设") == 1.0
    # Full-width and half-width punctuation, traditional and simplified characters are one sentence.
    assert match(
        [target("制定并实施《三年行动计划（2015-2017年）》")], [target("制定并實施《三年行動計劃(2015-2017年)》")]
    ) == {0: 0}


def test_a_proposal_holding_the_demo_clause_matches_a_short_one_does_not() -> None:
    demo = [target("每天体育活动时间不少于1小时")]
    longer = target("每天体育活动时间不少于1小时（课程表须经校长审核签名后方可实施）")
    assert match(demo, [longer]) == {0: 0}
    # A fragment covering less than half of the demo sentence is another sentence.
    assert (
        match(
            [target("全面完成试点学校第二阶段实验工作，启动实施第三阶段操作系统的实验工作")],
            [target("全面完成试点学校")],
        )
        == {}
    )


def test_each_side_is_matched_once_best_pair_first() -> None:
    demo = [target("创建3所标准化幼儿园"), target("创建3所标准化幼儿园建设")]
    proposals = [target("创建3所标准化幼儿园建设"), target("创建3所标准化幼儿园")]
    assert match(demo, proposals) == {0: 1, 1: 0}


def test_numbers_compare_as_decimals_whatever_their_spelling() -> None:
    demo = target("招收新生23000人", "quantity", "eq", 23000)
    assert numbers_match(demo, target("x", "quantity", "eq", "23000"))
    assert numbers_match(demo, target("x", "quantity", "eq", Decimal("23000.0000")))
    assert not numbers_match(demo, target("x", "quantity", "eq", "2300"))
    assert not numbers_match(demo, target("x", "quantity", "gte", 23000))
    ranged = target("每个县区2-3个", "count_units", "range", 2, 3)
    assert numbers_match(ranged, target("x", "count_units", "range", "2", "3"))
    assert not numbers_match(ranged, target("x", "count_units", "range", "2", None))
    # 有一定提高: an improvement without a number is right for a target without a value only.
    assert numbers_match(target("x", "quantity"), target("x", "quantity", "improves"))
    assert not numbers_match(demo, target("x", "quantity", "improves"))


def test_qualitative_kinds_have_no_numbers_and_a_missing_comparator_is_blank() -> None:
    assert same_kind_and_numbers(target("x", "milestone"), target("x", "milestone", "", "3"))
    assert not same_kind_and_numbers(target("x", "narrative"), target("x", "milestone"))
    assert same_kind_and_numbers(target("x", "limit", "lte", 0), target("x", "limit", "lte", Decimal("0.0000")))
    assert numbers_match(target("x", "narrative", None), target("x", "narrative", ""))


def test_compare_sorts_every_demo_target() -> None:
    demo = [
        target("学前三年入园率达98%以上", "threshold", "gte", 98, code="T1"),
        target("实行校长每天校园巡查制度", "frequency", "gte", 1, code="T2"),
        target("及时完成新生学籍信息录入", "narrative", code="T3"),
        target("全面完成试点学校第二阶段实验工作，启动实施第三阶段操作系统的实验工作", "milestone", code="T4"),
    ]
    proposals = [
        target("学前三年入园率达98%以上", "threshold", "gte", "98"),
        target("与会议无关的一句话", "narrative"),
        target("实行校长每天校园巡查制度", "frequency", "gte", "2"),
        target("及时完成新生学籍信息录入", "milestone"),
    ]
    result = compare_targets(demo, proposals)
    assert result.found == [0]
    assert result.wrong == [1, 2]
    assert result.relaxed == [0, 2]
    assert result.unmatched == [3]
    assert result.extras == [1]
    assert result.misses == 3
    assert (result.measured_total, result.measured_found) == (2, 1)
    assert [line.split(" ")[0] for line in result.missed] == ["T2", "T3", "T4"]
