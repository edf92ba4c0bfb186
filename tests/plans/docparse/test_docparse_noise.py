"""Noise is never plan: boilerplate, download prompts, file sizes, page markers and counters, phones, appendices."""

from __future__ import annotations

from plans.docparse import parse_text
from plans.docparse.noise import clean


def all_text(text: str) -> str:
    """Everything the draft shows as plan."""
    draft = parse_text(text)
    parts = [draft.title, draft.guiding_ideas]
    parts += [s.title + s.intro for s in draft.sections]
    parts += [w.title + w.text for w in draft.work_items]
    parts += [t.text for t in draft.targets]
    return "\n".join(parts)


def test_page_markers_are_removed() -> None:
    cleaned, noise = clean("一、工作目标\n新建学校3所。- 2 - 招收新生\n- 3 -\n800人。\n第1页 / 共6页\n第 2 页 共 6 页")
    assert "- 2 -" not in cleaned
    assert "- 3 -" not in cleaned
    assert "页" not in cleaned
    assert {n.reason for n in noise} == {"page_marker"}


def test_range_is_not_a_page_marker() -> None:
    cleaned, _ = clean("每个县区2-3个示范点，0-3岁婴幼儿。")
    assert cleaned == "每个县区2-3个示范点，0-3岁婴幼儿。"


def test_page_counters_that_split_words_are_removed_and_words_joined() -> None:
    filler = "坚持立德树人，深化教育教学改革，推进教育公平，全面提升教育质量，"
    text = (
        f"1、2024年教育工作要点一、主要目标{filler}新建标准化幼\n"
        f"2、儿园5所，{filler}学前三年入园率达90%以上，各学校每学期开展家访活\n"
        f"3、动两次以上，{filler}严禁有偿补\n"
        "4、课。"
    )
    cleaned, noise = clean(text)
    assert "标准化幼儿园5所" in cleaned
    assert "家访活动两次以上" in cleaned
    assert "有偿补课" in cleaned
    assert [n.text for n in noise if n.reason == "page_counter"] == ["1、", "2、", "3、", "4、"]


def test_short_numbered_titles_are_not_page_counters() -> None:
    text = "一、重点工作\n1、加强师德建设\n2、推进课程改革\n3、规范办学行为\n4、强化督导考核"
    cleaned, noise = clean(text)
    assert cleaned == text
    assert noise == []


def test_numbered_list_items_are_not_page_counters() -> None:
    text = "一、重点工作\n1、加强师德建设。\n2、推进课程改革。\n3、规范办学行为。"
    cleaned, noise = clean(text)
    assert cleaned == text
    assert noise == []


def test_web_boilerplate_and_download_prompts_are_removed() -> None:
    text = (
        "《某县教育工作要点.docx》由会员分享，可在线阅读，更多相关文档请在example.com上搜索。\n"
        "时间：2022-05-21 08:33:32\n"
        "导语：本文来源于网友上传，不代表本站观点，欢迎参考。\n"
        "某县2023年教育工作要点\n"
        "一、主要目标\n学前三年毛入园率达90%。点击下载全文（文件大小：35KB）。\n"
    )
    shown = all_text(text)
    for word in ("会员", "example", "网友", "本站", "下载", "35KB", "时间", "导语"):
        assert word not in shown, word
    assert parse_text(text).title == "某县2023年教育工作要点"


def test_phone_numbers_and_addresses_are_removed() -> None:
    text = "一、工作要求\n各校于3月底前报送教育科，联系电话：0571-88886666，邮箱：jyk@example.cn，手机13912345678。"
    shown = all_text(text)
    assert "0571" not in shown
    assert "88886666" not in shown
    assert "13912345678" not in shown
    assert "@" not in shown
    assert "3月底前报送教育科" in shown


def test_latin_account_after_a_colon_is_removed() -> None:
    cleaned, noise = clean("监测结果于放假前报送教研室：jysabc。")
    assert cleaned == "监测结果于放假前报送教研室。"
    assert noise[0].reason == "email"


def test_documents_appended_after_the_plan_are_cut() -> None:
    text = (
        "某区2024年教育工作要点\n一、主要目标\n新建学校3所。\n二、保障措施\n加强领导。\n"
        "某区2023年教育工作总结\n一、主要成绩\n新建学校8所。\n"
    )
    draft = parse_text(text)
    assert [s.title for s in draft.sections] == ["主要目标", "保障措施"]
    assert "8所" not in all_text(text)


def test_site_trailer_is_cut() -> None:
    text = "一、主要目标\n新建学校3所。\n相关推荐\n2023年工作计划范文（共10篇）\n下一篇：学校工作总结"
    draft = parse_text(text)
    assert len([t for t in draft.targets if t.target_value is not None]) == 1
    assert "范文" not in all_text(text)


def test_text_with_no_plan_yields_no_structure() -> None:
    draft = parse_text("下载本文档 - 文件大小：12KB\n第1页 / 共1页")
    assert draft.sections == []
    assert draft.work_items == []
    assert draft.targets == []


def test_brackets_left_empty_by_a_removed_phone_go_too() -> None:
    cleaned, _ = clean("各校于3月底前报送教育科（联系电话：0571-88886666）。")
    assert cleaned == "各校于3月底前报送教育科。"


def test_editor_credits_and_page_of_pages() -> None:
    cleaned, _ = clean("一、主要目标\n新建学校3所。\n责任编辑：张三\nPage 2 of 6\n")
    assert "张三" not in cleaned
    assert "Page" not in cleaned
    assert "新建学校3所。" in cleaned


def test_a_heading_named_like_a_document_does_not_cut_the_plan() -> None:
    text = (
        "一、主要目标\n新建学校3所。\n（一）制定年度工作计划\n1、一、二年级不布置书面作业。\n二、保障措施\n加强领导。"
    )
    draft = parse_text(text)
    assert [s.title for s in draft.sections] == ["主要目标", "保障措施"]
    assert [(w.title, w.text) for w in draft.work_items] == [("制定年度工作计划", "1、一、二年级不布置书面作业。")]


def test_long_numbered_paragraphs_are_not_page_counters() -> None:
    paragraph = "加强师德师风建设，健全教师考核评价机制，" * 12 + "全面提升教师队伍素质。"
    text = "一、重点工作\n" + "\n".join(f"{n}、{paragraph}" for n in range(1, 5))
    cleaned, noise = clean(text)
    assert cleaned == text
    assert noise == []
