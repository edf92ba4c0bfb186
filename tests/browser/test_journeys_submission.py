"""Journeys 1 and 2: a principal reports the quarter (form and Excel); the district reviewer returns and approves.

Both start from the same given: the demo principal (东城中心小学, D01-X1-P001) has not started 2023Q4.
The figures the principal reports include 60 grade-1 entrants who entered at the proper age; once
approved, 东城区's on-time entry rate (target T10, ≥ 100 %) moves from 99.6 % (off track) to above
100 % (met) on the dashboard.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    NOT_APPLICABLE,
    PERIOD,
    PRINCIPAL_SCHOOL,
    django_side,
    log_in,
    quarter_figures,
    reset_principal_quarter,
    stored_submission,
    submit_as_principal,
)
from openpyxl import load_workbook

pytestmark = pytest.mark.browser

MIGRANT_ERROR = "外来生数不能超过一年级新生数"
CLASS_SIZE_WARNING = "一年级最大班额超过55人，请说明原因"


@django_side
def stored_value(code: str) -> Decimal | None:
    return stored_submission().values.get(figure__code=code).value


def figure_row(page: Any, code: str) -> Any:
    return page.locator("tr", has=page.locator(f"#id_v_{code}"))


def test_principal_reports_the_quarter_by_form_and_excel(
    site: Any, new_page: Any, journey: Any, tmp_path: Path
) -> None:
    # given
    reset_principal_quarter()
    figures = quarter_figures()
    steps = journey("01-principal")
    page = new_page()
    log_in(page, site, "principal")
    steps.step(page, "home")

    # when: the principal opens this quarter's form from "本季度填报"
    page.get_by_role("link", name="本季度填报").first.click()
    assert page.locator("h1").inner_text() == "本季度填报"
    steps.step(page, "my-submissions")
    page.locator("tr", has_text=PERIOD).get_by_role("button", name="开始填报").click()
    assert re.search(r"/submissions/\d+/$", page.url)
    assert "东城中心小学 · 2023Q4" in page.locator("h1").inner_text()
    assert "草稿" in page.locator("h1 .badge").inner_text()
    steps.step(page, "empty-form")
    # then: last quarter's figures stand beside the inputs
    last_quarter = figure_row(page, "pri_enrolled").locator("td.num").nth(1).inner_text()
    assert last_quarter.replace(",", "") == figures["pri_enrolled"]

    # when: figures with a hard-rule error and a warning, saved as a draft
    for code, value in figures.items():
        if value == NOT_APPLICABLE:
            page.check(f"input[name='na_{code}']")
        else:
            page.fill(f"#id_v_{code}", value)
    page.get_by_role("button", name="保存草稿").click()
    # then: the draft is kept, the error and the warning sit on their rows, the warning asks for a reason
    assert "已保存草稿" in page.locator(".messages").inner_text()
    migrant_row = figure_row(page, "pri_new_entrants_migrant")
    assert MIGRANT_ERROR in migrant_row.locator(".msg-error").inner_text()
    assert migrant_row.locator("textarea").count() == 0  # a hard rule cannot be explained away
    size_row = figure_row(page, "pri_grade1_max_class_size")
    assert CLASS_SIZE_WARNING in size_row.locator(".msg-warning").inner_text()
    assert size_row.locator("textarea").count() == 1
    assert stored_submission().status == "draft"
    steps.step(page, "draft-with-error-and-warning")

    # when: submitting while the error stands
    page.get_by_role("button", name="保存并提交").click()
    # then: refused, nothing submitted
    assert "请修改标出的错误" in page.locator(".messages").inner_text()
    assert stored_submission().status == "draft"
    steps.step(page, "submit-refused")

    # when: the principal fixes the error but submits without explaining the warning
    page.fill("#id_v_pri_new_entrants_migrant", "6")
    page.get_by_role("button", name="保存并提交").click()
    # then: refused again, for the warning alone; nothing of that request was kept (save and submit are one)
    assert "请修改标出的错误" in page.locator(".messages").inner_text()
    assert page.locator("#id_v_pri_new_entrants_migrant").input_value() == "6"  # the typed value is shown again
    size_row = figure_row(page, "pri_grade1_max_class_size")
    assert CLASS_SIZE_WARNING in size_row.locator(".msg-warning").inner_text()
    assert "请在说明中填写原因后再提交" in size_row.locator(".errorlist").inner_text()
    assert size_row.inner_text().count(CLASS_SIZE_WARNING) == 1  # said once, beside its explanation box
    assert size_row.locator("textarea").count() == 1
    assert stored_submission().status == "draft"
    assert stored_value("pri_new_entrants_migrant") == 70
    steps.step(page, "submit-refused-unexplained-warning")

    # when: the principal explains the warning and saves the draft again
    size_row.locator("textarea").fill("秋季插班生较多，已申请增设一个一年级班")
    page.get_by_role("button", name="保存草稿").click()
    assert MIGRANT_ERROR not in page.locator("main").inner_text()
    assert stored_value("pri_new_entrants_migrant") == 6
    steps.step(page, "draft-fixed")

    # when: the Excel template is downloaded from the import page…
    page.goto(site("/submissions/mine/"))
    page.get_by_role("link", name="Excel 导入").click()
    steps.step(page, "excel-page")
    page.select_option("#dl-period", PERIOD)
    page.select_option("#dl-unit", PRINCIPAL_SCHOOL)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="下载模板").click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    # …filled with openpyxl: a typo in one cell
    workbook = load_workbook(template)
    sheet = workbook["填报"]
    columns = {cell.value: cell.column_letter for cell in sheet[2] if cell.value}
    row = next(cell.row for cell in sheet["A"] if cell.value == PRINCIPAL_SCHOOL)
    assert sheet[f"{columns['pri_new_entrants_migrant']}{row}"].value == 6  # the draft's value is pre-filled
    bad_cell = f"{columns['pri_transfers_in']}{row}"
    sheet[bad_cell] = "十二"
    workbook.save(template)
    page.select_option("#id_period", PERIOD)
    page.set_input_files("#id_file", str(template))
    page.get_by_role("button", name="上传并保存").click()
    # then: the cell is named, nothing is saved
    problems = page.locator("section[role=alert]")
    assert bad_cell in problems.inner_text(), problems.inner_text()
    assert stored_value("pri_transfers_in") == 5
    steps.step(page, "excel-cell-error")

    # when: the cell is fixed and the workbook uploaded again
    sheet[bad_cell] = 12
    workbook.save(template)
    page.select_option("#id_period", PERIOD)
    page.set_input_files("#id_file", str(template))
    page.get_by_role("button", name="上传并保存").click()
    # then: saved
    assert "导入成功" in page.locator(".messages").inner_text()
    assert page.locator("section[role=alert]").count() == 0
    assert stored_value("pri_transfers_in") == 12
    steps.step(page, "excel-imported")

    # when: back on the form, the principal submits
    page.get_by_role("link", name="东城中心小学", exact=True).click()
    assert page.locator("#id_v_pri_transfers_in").input_value() == "12"
    page.get_by_role("button", name="保存并提交").click()
    # then: submitted for review
    assert "已提交" in page.locator(".messages").inner_text()
    assert "已提交" in page.locator("h1 .badge").inner_text()
    submission = stored_submission()
    assert submission.status == "submitted"
    assert submission.explanations  # the warning's explanation travelled with it
    steps.step(page, "submitted")


def district_row(page: Any, site: Any, target: str) -> Any:
    page.goto(site(f"/reports/?plan=2023-chuyou&scope=D01&period={PERIOD}"))
    return page.locator("tr", has=page.locator(f"a[href*='/targets/{target}/']"))


def test_reviewer_returns_then_approves_and_the_dashboard_follows(site: Any, new_page: Any, journey: Any) -> None:
    # given: the principal's quarter submitted, with the hard error fixed
    reset_principal_quarter()
    figures = quarter_figures() | {"pri_new_entrants_migrant": "6"}
    submit_as_principal(figures)
    steps = journey("02-review")
    reviewer = new_page()
    log_in(reviewer, site, "reviewer")
    before = district_row(reviewer, site, "T10")
    assert "99.6%" in before.inner_text()
    assert "滞后" in before.locator(".badge").inner_text()
    steps.step(reviewer, "dashboard-before")

    # when: the reviewer finds the submission on the review screen and compares with last quarter
    reviewer.get_by_role("link", name="审核", exact=True).click()
    steps.step(reviewer, "review-list")
    reviewer.locator("tr", has_text="东城中心小学").get_by_role("link").first.click()
    assert "东城中心小学 · 2023Q4" in reviewer.locator("h1").inner_text()
    enrolled = reviewer.locator("tr", has_text="在校生数").first.locator("td.num")
    this_quarter, last_quarter = enrolled.nth(0).inner_text(), enrolled.nth(1).inner_text()
    assert last_quarter.strip() not in ("", "无数据")
    assert this_quarter.replace(",", "") == figures["pri_enrolled"]
    steps.step(reviewer, "compare-with-last-quarter")

    # when: returned with a reason
    submission_url = reviewer.url
    reviewer.fill("textarea[name=reason]", "请核对转入转出人数")
    reviewer.get_by_role("button", name="退回").click()
    # then: returned, and the reviewer is taken on to the next submission of the queue (or told it is empty)
    assert "已退回" in reviewer.locator(".messages").inner_text()
    assert "东城中心小学 · 2023Q4" not in reviewer.locator("h1").inner_text()
    assert stored_submission().status == "returned"
    steps.step(reviewer, "returned-next-in-queue")

    # when: the principal sees the reason, fixes a figure and resubmits
    principal = new_page()
    log_in(principal, site, "principal")
    principal.get_by_role("link", name="本季度填报").first.click()
    row = principal.locator("tr", has_text=PERIOD)
    assert "已退回" in row.inner_text()
    row.get_by_role("link", name="查看/填报").click()
    assert "请核对转入转出人数" in principal.locator("main").inner_text()
    steps.step(principal, "principal-sees-reason")
    principal.fill("#id_v_pri_transfers_out", "3")
    principal.get_by_role("button", name="保存并提交").click()
    assert "已提交" in principal.locator("h1 .badge").inner_text()
    steps.step(principal, "resubmitted")

    # when: the reviewer approves (the recompute runs as an eager Celery task after commit)
    reviewer.goto(submission_url)
    reviewer.get_by_role("button", name="审核通过").click()
    assert "已审核通过" in reviewer.locator(".messages").inner_text()
    assert stored_submission().status == "approved"
    steps.step(reviewer, "approved")

    # then: the district's indicator value and the target's status changed on the dashboard
    after = district_row(reviewer, site, "T10")
    value = re.search(r"(\d+\.\d)%", after.locator("td.num").first.inner_text())
    assert value, after.inner_text()
    assert Decimal(value.group(1)) >= 100, after.inner_text()
    assert "已达成" in after.locator(".badge").inner_text()
    steps.step(reviewer, "dashboard-after")
