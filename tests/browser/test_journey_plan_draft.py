"""Journey: a bureau admin pastes seed 000's text, reviews the proposed plan beside the document and commits it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from browser_support import django_side, log_in

pytestmark = pytest.mark.browser

SEEDS = Path("/work/shared/seeds")


@django_side
def committed(title: str) -> tuple[str, int, list[tuple[str, str]]]:
    """The plan committed from the draft (its code, targets count) and the draft's accepted (text, kind)."""
    from targets.models import DraftStatus, PlanDraft, Target

    draft = PlanDraft.objects.filter(status=DraftStatus.COMMITTED, committed_plan__title=title).latest("pk")
    plan = draft.committed_plan
    assert plan is not None
    accepted = [(t["text"], t["kind"]) for t in draft.data["targets"] if t["accepted"]]
    made = [(t.text, t.kind) for t in Target.objects.filter(plan=plan).order_by("order")]
    assert made == accepted
    return plan.code, len(made), accepted


@django_side
def clean_up(code: str) -> None:
    from plans.models import Plan
    from targets.models import PlanDraft, Target

    plan = Plan.objects.get(code=code)
    PlanDraft.objects.filter(committed_plan=plan).delete()
    Target.objects.filter(plan=plan).delete()
    plan.delete()


def test_bureau_admin_imports_a_plan_document(site: Any, new_page: Any, journey: Any) -> None:
    found = sorted(SEEDS.glob("000_*.txt"))
    if not found:
        pytest.skip("seed 000 is not available")
    text = found[0].read_text(encoding="utf-8")
    steps = journey("plan-draft")
    page = new_page()
    log_in(page, site, "admin")
    page.goto(site("/plans/"))
    page.get_by_role("link", name="从文档导入").click()
    steps.step(page, "import page")
    page.fill("#id_text", text)
    started = time.perf_counter()
    page.get_by_role("button", name="识别并生成草稿").click()
    page.wait_for_load_state()
    to_review = time.perf_counter() - started
    assert "/plans/drafts/" in page.url, page.inner_text("main")[:500]
    steps.step(page, "review")
    page.screenshot(path=str(steps.folder / f"{steps.count:02d}-review-first-screen.png"))  # what one sees first
    assert page.locator("mark").count() > 10  # the document marks where each proposal comes from
    title = page.input_value("#d-title")
    started = time.perf_counter()
    page.get_by_role("button", name="提交，生成工作要点").click()
    page.wait_for_load_state()
    to_plan = time.perf_counter() - started
    steps.step(page, "committed plan")
    assert title in page.inner_text("h1")
    code, count, _accepted = committed(title)
    assert count > 30
    print(  # noqa: T201  (shown with -s; BENCHMARKS.md)
        f"\nbrowser, seed 000: paste → review page {to_review:.2f} s; commit → plan page {to_plan:.2f} s "
        f"({count} targets)"
    )
    clean_up(code)
