"""Title, year, guiding ideas, sections at every heading level, work items verbatim."""

from __future__ import annotations

from typing import Any

from plans.docparse import parse_text

PLAN = """XX区教育局2024年工作要点

一、指导思想
坚持立德树人，办好人民满意的教育。

二、主要目标
学前三年毛入园率达到92%以上。小学一、二年级不布置书面作业。

三、重点工作
（一）推进优质均衡
1.扩大学位供给。新建幼儿园5所，改扩建小学3所。
2.强化集团办学。一是扩大集团覆盖面；二是完善考核机制，每学期考核一次。
（二）规范办学行为
3.加强作业管理。（1）严禁布置惩罚性作业。（2）每天作业时间不超过60分钟。

四、保障措施
（一）加强组织领导。成立工作专班。
（二）强化督导考核。年底前完成专项督导。
"""


def test_title_year_and_guiding_ideas() -> None:
    draft = parse_text(PLAN)
    assert draft.title == "XX区教育局2024年工作要点"
    assert draft.year == 2024
    assert draft.guiding_ideas == "坚持立德树人，办好人民满意的教育。"


def test_year_and_title_given_by_the_caller_win() -> None:
    draft = parse_text(PLAN, year=2025, title="另一个标题")
    assert (draft.title, draft.year) == ("另一个标题", 2025)


def test_sections_at_two_levels_and_work_items() -> None:
    draft = parse_text(PLAN)
    assert [(s.code, s.title, s.level, s.parent) for s in draft.sections] == [
        ("2", "主要目标", 1, None),
        ("3", "重点工作", 1, None),
        ("3.1", "推进优质均衡", 2, "3"),
        ("3.2", "规范办学行为", 2, "3"),
        ("4", "保障措施", 1, None),
    ]
    assert [s.order for s in draft.sections] == [1, 2, 3, 4, 5]
    items = [(w.section, w.number, w.title) for w in draft.work_items]
    assert items == [
        ("3.1", 1, "扩大学位供给"),
        ("3.1", 2, "强化集团办学"),
        ("3.2", 3, "加强作业管理"),
        # （一）（二） under a heading with no numbered items are that section's work items.
        ("4", 1, "加强组织领导"),
        ("4", 2, "强化督导考核"),
    ]
    assert draft.work_items[0].text == "新建幼儿园5所，改扩建小学3所。"


def test_points_inside_a_work_item() -> None:
    draft = parse_text(PLAN)
    second = draft.work_items[1]
    assert [(p.marker, p.number) for p in second.points] == [("n是", 1), ("n是", 2)]
    third = draft.work_items[2]
    assert [(p.marker, p.number, p.text) for p in third.points] == [
        ("(n)", 1, "严禁布置惩罚性作业。"),
        ("(n)", 2, "每天作业时间不超过60分钟。"),
    ]


def test_grade_list_is_not_a_heading() -> None:
    draft = parse_text(PLAN)
    assert "小学一、二年级不布置书面作业" in draft.sections[0].intro


def test_targets_carry_their_section_and_work_item() -> None:
    draft = parse_text(PLAN)
    by_text = {t.text: t for t in draft.targets}
    assert by_text["学前三年毛入园率达到92%以上"].section == "2"
    assert by_text["学前三年毛入园率达到92%以上"].work_item is None
    assert (by_text["新建幼儿园5所"].section, by_text["新建幼儿园5所"].work_item) == ("3.1", 1)
    assert by_text["每天作业时间不超过60分钟"].kind == "limit"
    assert by_text["每学期考核一次"].per == "semester"
    assert str(by_text["年底前完成专项督导"].due_date) == "2024-12-31"
    assert by_text["年底前完成专项督导"].work_item == 2


def test_headings_inside_one_long_line() -> None:
    text = (
        "2022年学前教育工作计划一、总体要求以普及普惠为主线。二、主要任务(一)扩大资源 1.新建公办园10所。"
        "2.招收幼儿4.2万人。(二)提升质量 3.每个县区培育2-3个保教示范园。"
    )
    draft = parse_text(text)
    assert draft.title == "2022年学前教育工作计划"
    assert draft.guiding_ideas == "以普及普惠为主线。"
    assert [s.title for s in draft.sections] == ["主要任务", "扩大资源", "提升质量"]
    assert [w.number for w in draft.work_items] == [1, 2, 3]
    values = [(t.target_value, t.unit) for t in draft.targets if t.target_value is not None]
    assert ("42000", "人") in [(format(v.normalize(), "f"), u) for v, u in values]


def test_decimal_in_text_is_not_a_heading() -> None:
    draft = parse_text("一、重点工作\n1.培训教师。全年培训4.2万人次。\n2.新建学校。")
    assert [w.number for w in draft.work_items] == [1, 2]


def test_document_without_level_one_headings() -> None:
    draft = parse_text("关于做好招生工作的意见\n1.严禁招收择校生。\n2.新建学校3所。")
    assert [s.code for s in draft.sections] == ["1"]
    assert [w.number for w in draft.work_items] == [1, 2]


def test_to_dict_has_the_api_shape() -> None:
    data: dict[str, Any] = parse_text(PLAN).to_dict()
    assert {"title", "year", "sections", "work_items", "targets"} <= set(data)
    assert {"code", "title", "order"} <= set(data["sections"][0])
    assert {"section", "number", "title", "text"} <= set(data["work_items"][0])
    target = data["targets"][0]
    expected = {
        "section",
        "work_item",
        "text",
        "kind",
        "comparator",
        "target_value",
        "target_value_max",
        "unit",
        "applies_to_each_unit",
        "per",
        "due_date",
        "indicator",
        "confidence",
    }
    assert expected <= set(target)
    assert target["target_value"] == "92"


def test_a_list_inside_the_preamble_is_not_a_heading() -> None:
    preamble = "坚持立德树人，实现统一、规范管理，办好人民满意的教育。"
    draft = parse_text(f"某县2024年工作要点\n{preamble}\n一、主要目标\n新建学校3所。\n二、保障措施\n加强领导。")
    assert [s.title for s in draft.sections] == ["主要目标", "保障措施"]
    assert draft.guiding_ideas == preamble
