"""Journey 4: an inspector reads the dashboard, drills down city → district → 学区 → school and checks the
exported progress workbook against the page. Journey 5: the inspector's journey in English."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser_support import log_in, ui_text_in_chinese
from openpyxl import load_workbook

pytestmark = pytest.mark.browser

TARGET = "T10"  # 适龄儿童按时入学率达100% (a rate: the workbook stores 0.996 where the page shows 99.6%)


def dashboard_row(page: Any, target: str) -> Any:
    return page.locator("tr", has=page.locator(f"a[href*='/targets/{target}/']"))


def percent_on_page(text: str) -> Decimal:
    match = re.search(r"(\d+(?:\.\d+)?)%", text)
    assert match, text
    return Decimal(match.group(1))


def test_inspector_drills_down_and_the_workbook_matches_the_page(
    site: Any, new_page: Any, journey: Any, tmp_path: Path
) -> None:
    steps = journey("04-inspector")
    page = new_page()
    log_in(page, site, "inspector")

    # when: the dashboard of the city
    page.get_by_role("link", name="进展看板").first.click()
    assert "范围：市教育局" in page.locator("p.meta").inner_text()
    row = dashboard_row(page, TARGET)
    on_page = percent_on_page(row.locator("td.num").first.inner_text())
    assert row.locator(".badge").inner_text().strip() in {"已达成", "正常推进", "有风险", "滞后", "无数据"}
    steps.step(page, "dashboard-city")

    # when: drilling down from the city to a district, its 学区 and a school
    row.locator("a").first.click()
    assert "当前进展（市教育局" in page.locator("main").inner_text()
    steps.step(page, "target-city")
    page.locator("table.table").last.get_by_role("link", name="东城区", exact=True).click()
    assert "当前进展（东城区" in page.locator("main").inner_text()
    assert page.locator("nav.breadcrumb [aria-current=page]").inner_text() == "东城区"
    steps.step(page, "target-district")
    page.locator("table.table").last.get_by_role("link", name="东城第一学区", exact=True).click()
    assert "当前进展（东城第一学区" in page.locator("main").inner_text()
    steps.step(page, "target-xuequ")
    school_row = page.locator("table.table").last.locator("tr", has_text="东城中心小学")
    assert "东城中心小学" in school_row.inner_text()
    school_row.get_by_role("link", name="东城中心小学", exact=True).click()
    # then: the school's own page, placed in the tree
    assert page.locator("h1").inner_text() == "东城中心小学"
    assert "东城第一学区" in page.locator("nav.breadcrumb").inner_text()
    steps.step(page, "school")

    # when: the progress workbook is exported from the city dashboard
    page.get_by_role("link", name="进展看板").first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出 Excel 进展表").click()
    path = tmp_path / "progress.xlsx"
    download_info.value.save_as(path)
    # then: the target's 2023Q4 value in the workbook is the number on the page
    sheet = load_workbook(path, read_only=True)["主要目标"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(r for r in rows if r and r[0] == "代码")
    target_row = next(r for r in rows if r and r[0] == TARGET)
    in_workbook = Decimal(str(target_row[header.index("Q4")])) * 100
    assert in_workbook.quantize(Decimal("0.1")) == on_page, (in_workbook, on_page)
    steps.step(page, "dashboard-exported")


def test_inspector_journey_in_english(site: Any, new_page: Any, journey: Any) -> None:
    steps = journey("05-english")
    page = new_page()  # a Chinese browser (Accept-Language zh-CN): only the switch may change the language
    page.goto(site("/accounts/login/"))
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "登录"

    # when: English is picked with the language switch before logging in
    with page.expect_navigation():  # the select submits itself (static/js/portal.js), then comes back here
        page.select_option("#lang-select", "en")
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Log in"
    assert ui_text_in_chinese(page) == []
    steps.step(page, "login-english")
    page.fill("#id_username", "inspector")
    page.fill("#id_password", "demo-password-2023")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    # then: the language stays after log-in
    assert "/accounts/login/" not in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Home"
    assert ui_text_in_chinese(page) == []
    steps.step(page, "home-english")

    # then: the dashboard and the drill-down speak English, numbers unchanged
    page.get_by_role("link", name="Progress dashboard").first.click()
    assert "Scope" in page.locator("form.filters").inner_text()
    row = dashboard_row(page, TARGET)
    assert row.locator(".badge").inner_text().strip() in {"Met", "On track", "At risk", "Off track", "No data"}
    assert "Export progress to Excel" in page.locator("main").inner_text()
    assert ui_text_in_chinese(page) == []
    steps.step(page, "dashboard-english")
    page.select_option("#f-scope", "D01")
    page.get_by_role("button", name="View", exact=True).click()
    assert "Dongcheng" in page.locator("main").inner_text() or "东城区" in page.locator("main").inner_text()
    assert ui_text_in_chinese(page) == []
    steps.step(page, "district-english")
    dashboard_row(page, TARGET).locator("a").first.click()
    assert "Current progress" in page.locator("main").inner_text()
    assert "Breakdown by sub-unit" in page.locator("main").inner_text()
    assert ui_text_in_chinese(page) == []
    steps.step(page, "target-english")

    # when: the user switches back to Chinese from a page after log-in
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hans")
    # then: the same page, in Chinese again
    assert "/targets/" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "当前进展" in page.locator("main").inner_text()
    steps.step(page, "target-chinese-again")
