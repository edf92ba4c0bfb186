"""Journey 3: a bureau admin edits a target (a new value needs a reason), adds an indicator with a formula,
and records a milestone's progress with an evidence file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser_support import django_side, log_in

pytestmark = pytest.mark.browser

PLAN = "2023-chuyou"
REASON = "省厅调整口径：按时入学率目标改为 99.5%"
# A tiny but real PDF: evidence files are checked by type.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@django_side
def target_state(code: str) -> tuple[Decimal | None, list[tuple[str, str, str]]]:
    from targets.models import Target

    target = Target.objects.get(plan__code=PLAN, code=code)
    changes = [(c.old_value, c.new_value, c.reason) for c in target.changes.filter(field="target_value")]
    return target.target_value, changes


@django_side
def indicator_values(code: str) -> dict[str, Decimal | None]:
    from indicators.models import IndicatorValue

    rows = IndicatorValue.objects.filter(
        indicator__code=code, period__code="2023Q4", org_unit__code__in=["CITY", "D01"]
    )
    return {row.org_unit.code: row.value for row in rows.select_related("org_unit")}


@django_side
def notes_of(code: str) -> tuple[list[tuple[str, str]], str]:
    """The target's notes (text, evidence file name) and its milestone status."""
    from targets.models import Target

    target = Target.objects.get(plan__code=PLAN, code=code)
    return [(note.text, note.evidence.name) for note in target.notes.all()], target.milestone_status


def test_bureau_admin_edits_a_target_adds_an_indicator_and_a_milestone_note(
    site: Any, new_page: Any, journey: Any, tmp_path: Path
) -> None:
    steps = journey("03-admin")
    page = new_page()
    log_in(page, site, "admin")

    # --- a target's value changes only with a reason ---
    page.get_by_role("link", name="工作要点", exact=True).first.click()
    steps.step(page, "plans")
    page.get_by_role("link", name="2023年初等与学前教育工作要点", exact=True).click()
    steps.step(page, "plan")
    page.locator("a[href$='/targets/T10/edit/']").click()
    assert page.locator("h1").inner_text().startswith("编辑目标")
    steps.step(page, "target-form")
    page.fill("#id_target_value", "99.5")
    page.get_by_role("button", name="保存", exact=True).click()
    # then: refused, asking for a reason; nothing changed
    assert "已发布工作要点的目标值变更须填写原因" in page.locator("#target-form .errorlist").inner_text()
    assert target_state("T10") == (Decimal("100"), [])
    steps.step(page, "reason-required")
    page.fill("#id_target_value", "99.5")
    page.fill("#id_reason", REASON)
    page.get_by_role("button", name="保存", exact=True).click()
    assert "目标已保存" in page.locator(".messages").inner_text()
    value, changes = target_state("T10")
    assert value == Decimal("99.5")
    assert len(changes) == 1
    assert changes[0][2] == REASON
    assert REASON in page.locator("section", has_text="变更历史").inner_text()
    steps.step(page, "target-saved")

    # --- a new indicator with a formula: a typo is pointed at, the fixed one is computed ---
    page.get_by_role("link", name="统计指标").first.click()
    steps.step(page, "indicators")
    page.goto(site("/targets/indicators/new/"))
    page.fill("#id_code", "pri_net_transfer_rate")
    page.fill("#id_name", "小学净转入率")
    page.select_option("#id_aggregation", "ratio")
    page.fill("#id_numerator", "pri_transfers_in - pri_transfer_out")
    page.fill("#id_denominator", "pri_enrolled")
    page.fill("#id_factor", "100")
    page.get_by_role("button", name="保存", exact=True).click()
    assert "未知的填报项代码 pri_transfer_out" in page.locator("main").inner_text()
    assert indicator_values("pri_net_transfer_rate") == {}
    steps.step(page, "formula-error")
    page.fill("#id_numerator", "pri_transfers_in - pri_transfers_out")
    page.get_by_role("button", name="保存", exact=True).click()
    assert "小学净转入率" in page.locator("h1").inner_text()
    values = indicator_values("pri_net_transfer_rate")
    assert values.get("CITY") is not None, values  # recomputed for every unit and quarter on save
    steps.step(page, "indicator-saved")

    # --- a milestone note with an evidence file ---
    page.goto(site(f"/plans/{PLAN}/targets/T12/edit/"))
    page.get_by_role("link", name="进展记录").click()
    notes_before, status_before = notes_of("T12")
    assert status_before == "in_progress"
    steps.step(page, "milestone-notes")
    evidence = tmp_path / "资源中心挂牌照片说明.pdf"
    evidence.write_bytes(PDF)
    page.fill("#id_text", "特殊教育资源配置与指导中心已挂牌，配备专职教师 3 名")
    page.select_option("#id_period", label="2023Q4")
    page.set_input_files("#id_evidence", str(evidence))
    page.select_option("#id_milestone_status", "done")
    page.get_by_role("button", name="提交", exact=True).click()
    assert "进展已记录" in page.locator(".messages").inner_text()
    notes_after, milestone_status = notes_of("T12")
    new_notes = [note for note in notes_after if note not in notes_before]
    assert len(new_notes) == 1
    text, evidence_name = new_notes[0]
    assert text.startswith("特殊教育资源配置与指导中心已挂牌")
    assert evidence_name.endswith(".pdf")
    # A note reporting "done" waits for the bureau's review: the milestone is not done until it is accepted.
    assert milestone_status == "in_progress"
    newest = page.locator("article.note").first
    assert "已挂牌" in newest.inner_text()
    assert newest.get_by_role("link", name="佐证材料").count() == 1
    steps.step(page, "milestone-note-saved")
    newest.locator("select[name=decision]").select_option("accept")
    newest.get_by_role("button", name="保存审阅").click()
    assert notes_of("T12")[1] == "done"
    steps.step(page, "milestone-note-accepted")
