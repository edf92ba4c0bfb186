"""Proposed targets, rule by rule, on sentences written for each rule (not taken from the seed documents)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plans.docparse.model import DraftTarget
from plans.docparse.targets import propose_targets


def measured(text: str, year: int | None = 2024) -> list[DraftTarget]:
    """The proposals of ``text`` that are not qualitative."""
    return [t for t in propose_targets(text, year) if t.kind not in ("narrative", "milestone")]


def only(text: str, year: int | None = 2024) -> DraftTarget:
    found = measured(text, year)
    assert len(found) == 1, [t.text for t in found]
    return found[0]


def test_one_sentence_with_three_counts_becomes_three_targets() -> None:
    found = measured("创建省优质园20所、市优质园10所，新建幼儿园20所。")
    assert [t.text for t in found] == ["创建省优质园20所", "市优质园10所", "新建幼儿园20所"]
    assert [(t.kind, t.comparator, t.target_value, t.unit) for t in found] == [
        ("count_units", "gte", Decimal(20), "所"),
        ("count_units", "gte", Decimal(10), "所"),
        ("count_units", "gte", Decimal(20), "所"),
    ]


def test_sub_quantities_are_linked_to_their_parent() -> None:
    found = measured("改造校舍22万平方米，其中新建14.1万平方米、维修7.9万。")
    assert [t.target_value for t in found] == [Decimal(220000), Decimal(141000), Decimal(79000)]
    assert found[0].parent is None
    assert found[1].parent == 0
    assert found[2].parent == 0
    assert found[2].unit == "平方米"  # inherited from the parent


def test_parenthesised_of_whom_is_a_child_and_leaves_the_parent_text() -> None:
    found = measured("高中计划招收新生5000人（其中随迁子女800人）。")
    assert found[0].text == "高中计划招收新生5000人"
    assert (found[0].kind, found[0].comparator, found[0].target_value) == ("quantity", "eq", Decimal(5000))
    assert found[1].text == "其中随迁子女800人"
    assert found[1].parent == 0


def test_thousands_of_person_times() -> None:
    target = only("全年培训教师4.2万人次。")
    assert (target.kind, target.target_value, target.unit) == ("quantity", Decimal(42000), "人次")


@pytest.mark.parametrize(
    ("text", "comparator", "value"),
    [
        ("小学巩固率达到百分之九十五。", "gte", 95),
        ("学前一年入园率达99%以上。", "gte", 99),
        ("特殊教育入学率不低于95%。", "gte", 95),
        ("辍学率控制在1%以内。", "lte", 1),
        ("近视率不超过百分之五十。", "lte", 50),
    ],
)
def test_rates_are_thresholds(text: str, comparator: str, value: int) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value, target.unit) == (
        "threshold",
        comparator,
        Decimal(value),
        "%",
    )


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("班额不超过45人。", 45, "人"),
        ("新一年级班额原则上控制在40人以内。", 40, "人"),
        ("学生每天书面作业时间不超过60分钟。", 60, "分钟"),
    ],
)
def test_upper_limits(text: str, value: int, unit: str) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value, target.unit) == ("limit", "lte", Decimal(value), unit)


def test_big_classes_are_a_limit_of_zero() -> None:
    found = measured("严格控制3000人以上大校额和66人以上的超大班额。")
    assert [(t.kind, t.comparator, t.target_value, t.unit) for t in found] == [
        ("limit", "lte", Decimal(0), "所"),
        ("limit", "lte", Decimal(0), "班"),
    ]
    assert found[1].text == "66人以上的超大班额"


@pytest.mark.parametrize(
    "text",
    [
        "严禁有偿补课。",
        "杜绝体罚学生现象。",
        "不得以考试成绩排名。",
        "学校不得布置惩罚性作业。",
        "坚决纠正择校乱收费行为。",
    ],
)
def test_zero_tolerance_rules(text: str) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value) == ("limit", "lte", Decimal(0))


def test_zero_tolerance_counts_classes_or_pupils_when_the_object_says_so() -> None:
    assert only("严禁开设快慢班。").unit == "班"
    assert only("严禁招收借读学生。").unit == "人"


def test_ranges() -> None:
    target = only("每个县区建设2-3个示范点。")
    assert (target.comparator, target.target_value, target.target_value_max, target.unit) == (
        "range",
        Decimal(2),
        Decimal(3),
        "个",
    )
    assert target.applies_to_each_unit
    distance = only("小学服务半径控制在600—1200米。")
    assert (distance.kind, distance.comparator, distance.target_value, distance.target_value_max) == (
        "threshold",
        "range",
        Decimal(600),
        Decimal(1200),
    )


@pytest.mark.parametrize(
    ("text", "value", "per"),
    [
        ("各学区每学期组织联片教研活动三次以上。", 3, "semester"),
        ("实行每个季度召开一次安全工作会议制度。", 1, "quarter"),
        ("学校至少每学月两次检查教师作业批改。", 2, "month"),
        ("每周开展一次升旗仪式。", 1, "week"),
    ],
)
def test_frequencies_with_rhythm(text: str, value: int, per: str) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value, target.unit, target.per) == (
        "frequency",
        "gte",
        Decimal(value),
        "次",
        per,
    )


def test_each_unit_rule() -> None:
    assert only("各学区每学期组织联片教研活动三次以上。").applies_to_each_unit
    assert not only("全市每年举办科技节2次。").applies_to_each_unit


def test_a_rhythm_without_a_count_is_once_per_period() -> None:
    target = only("实行教研员每周下校视导制度。")
    assert (target.kind, target.target_value, target.per) == ("frequency", Decimal(1), "week")
    yearly = only("坚持每年对学校安全工作考核。")
    assert (yearly.kind, yearly.per) == ("frequency", "year")


def test_daily_minimum_duration() -> None:
    target = only("保证学生每天校园体育活动时间不少于1小时。")
    assert (target.kind, target.comparator, target.target_value, target.unit, target.per) == (
        "threshold",
        "gte",
        Decimal(1),
        "小时",
        "day",
    )
    half = only("每天阅读至少半小时。")
    assert half.target_value == Decimal("0.5")


@pytest.mark.parametrize(
    ("text", "month", "start_month"),
    [
        ("完成全市中小学校舍安全排查(3月份)。", 3, None),
        ("2-7月份开展送教下乡活动。", 7, 2),
        ("新校区2024年秋季交付使用。", 9, None),
        ("年底前出台课后服务实施方案。", 12, None),
        ("五月底前完成招生计划编制。", 5, None),
        ("第二季度召开现场推进会。", 6, None),
    ],
)
def test_due_months(text: str, month: int, start_month: int | None) -> None:
    dated = [t for t in propose_targets(text, 2024) if t.due_month]
    assert dated, text
    assert dated[0].due_month == month
    assert dated[0].due_start_month == start_month
    assert dated[0].kind == "milestone"
    assert dated[0].due_date is not None
    assert dated[0].due_date.month == month


def test_due_year_from_the_sentence_wins() -> None:
    target = next(t for t in propose_targets("第五中学2025年秋季交付办学。", 2024) if t.due_month)
    assert str(target.due_date) == "2025-09-30"
    assert target.due_period == "2025Q3"


def test_deadline_without_month_is_a_milestone() -> None:
    found = propose_targets("其方案于开学后第二周前报送教研室。")
    assert found[0].kind == "milestone"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("学生体质健康合格率有一定提高。", "threshold"),
        ("进一步提高残疾儿童入学率。", "threshold"),
        ("力争高考本科上线人数取得新突破。", "quantity"),
    ],
)
def test_improvements(text: str, kind: str) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value) == (kind, "improves", None)


def test_efficiency_is_not_a_rate() -> None:
    assert measured("提升课堂教学效率。") == []


@pytest.mark.parametrize(
    "text",
    [
        "坚持两个为主，落实一人一案。",
        "打造一支专家型校长队伍。",
        "深入贯彻十三五规划。",
        "实施“6个一”工程。",
        "依托3-6岁儿童学习与发展指南开展游戏活动。",
        "落实学前教育三年行动计划(2021-2025年)。",
        "推动柳城、梅山等两个乡镇中心幼儿园建设。",
        "坚决执行一次性告知制度。",
    ],
)
def test_numbers_that_are_not_targets(text: str) -> None:
    assert measured(text) == [], [t.text for t in measured(text)]


def test_rank_target() -> None:
    target = only("努力实现全县教育质量“保5争4”的目标。")
    assert (target.kind, target.comparator, target.target_value) == ("threshold", "lte", Decimal(5))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("制定并实施课后服务工作方案。", "milestone"),
        ("建立学生体质监测台账。", "milestone"),
        ("依托市实验小学建立教师发展中心。", "milestone"),
        ("加快推进城南小学建设。", "milestone"),
        ("顺利通过省义务教育优质均衡督导评估。", "milestone"),
        ("市教育局将举办中小学生艺术节比赛。", "milestone"),
        ("深入开展读书月活动。", "narrative"),
        ("坚持召开校长例会。", "narrative"),
    ],
)
def test_qualitative_kinds(text: str, kind: str) -> None:
    found = propose_targets(text)
    assert [t.kind for t in found] == [kind]


def test_traditional_text_is_read_and_kept_verbatim() -> None:
    target = only("力爭全縣學前一年毛入園率達到90%以上。")
    assert target.text == "力爭全縣學前一年毛入園率達到90%以上"
    assert (target.kind, target.comparator, target.target_value) == ("threshold", "gte", Decimal(90))
    assert target.indicator == "kg_preschool_1yr_rate"


def test_full_width_text() -> None:
    target = only("三类残疾儿童入学率达９６％以上。")
    assert target.target_value == Decimal(96)
    assert target.indicator == "special_disabled_enrolment_rate"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("学前三年毛入园率达到90%。", "kg_3yr_rate"),
        ("学前三年入园率达98%以上。", "kg_3yr_rate"),
        ("适龄儿童按时入学率达100%。", "pri_ontime_entry_rate"),
        ("小学阶段巩固率达100%。", "pri_retention_rate"),
        ("初中学生巩固率达到95%。", "jun_retention_rate"),
        ("消除55人以上大班额。", "classes_over_55"),
    ],
)
def test_indicator_suggestions(text: str, code: str) -> None:
    target = only(text)
    assert target.indicator == code
    assert 0 < target.indicator_confidence <= 1


def test_confidence_is_lower_for_qualitative_proposals() -> None:
    found = propose_targets("入学率达到98%，深入开展读书月活动。")
    assert found[0].confidence > found[1].confidence
    assert all(0 <= t.confidence <= 1 for t in found)


def test_long_remark_in_parentheses_is_read_on_its_own() -> None:
    found = propose_targets("提高教研质量(各学区每学期应组织联片教研活动两次以上，活动安排于开学前报送教研室)。")
    frequency = [t for t in found if t.kind == "frequency"]
    assert frequency
    assert frequency[0].target_value == Decimal(2)
    assert frequency[0].per == "semester"
    assert any(t.kind == "milestone" and "开学前报送" in t.text for t in found)


@pytest.mark.parametrize(
    ("text", "kind", "comparator", "value", "unit"),
    [
        ("每年至少开展一次安全演练。", "frequency", "gte", "1", "次"),
        ("每学年组织教师培训不少于两次。", "frequency", "gte", "2", "次"),
        ("体质健康测试覆盖率达到100%。", "threshold", "gte", "100", "%"),
        ("义务教育巩固率保持在99%以上。", "threshold", "gte", "99", "%"),
        ("培训教师500人次以上。", "quantity", "gte", "500", "人次"),
        ("全市新增学位1.2万个。", "quantity", "eq", "12000", "个"),
        ("投入资金3000万元。", "quantity", "eq", "30000000", "元"),
        ("全年开展送教下乡活动10场次。", "quantity", "eq", "10", "场次"),
        ("力争50%以上的学校达到省标准。", "threshold", "gte", "50", "%"),
        ("校车安全事故为零。", "limit", "lte", "0", None),
        ("实现零辍学。", "limit", "lte", "0", "人"),
    ],
)
def test_more_measured_sentences(text: str, kind: str, comparator: str, value: str, unit: str | None) -> None:
    target = only(text)
    assert (target.kind, target.comparator, target.target_value, target.unit) == (
        kind,
        comparator,
        Decimal(value),
        unit,
    )


def test_a_dated_tail_is_its_own_milestone() -> None:
    found = propose_targets("农村教师周转房建设200套，6月底前完成。", 2024)
    assert [(t.kind, t.target_value, t.due_month) for t in found] == [
        ("quantity", Decimal(200), None),
        ("milestone", None, 6),
    ]


def test_a_leading_time_phrase_dates_the_clauses_after_it() -> None:
    found = propose_targets("到2024年底，公办园在园幼儿占比达到55%以上，普惠性幼儿园覆盖率达到90%以上。", 2023)
    assert [t.text for t in found] == ["公办园在园幼儿占比达到55%以上", "普惠性幼儿园覆盖率达到90%以上"]
    assert [str(t.due_date) for t in found] == ["2024-12-31", "2024-12-31"]


def test_a_starting_date_is_not_a_due_date() -> None:
    found = propose_targets("2025年秋季学期起，全面推行课后服务。", 2024)
    assert [(t.kind, t.due_month) for t in found] == [("narrative", None)]


def test_per_student_amounts_are_levels() -> None:
    target = only("生均公用经费标准提高到每生每年800元。")
    assert (target.kind, target.comparator, target.target_value, target.unit) == (
        "threshold",
        "gte",
        Decimal(800),
        "元",
    )
