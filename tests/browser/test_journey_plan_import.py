"""Journey (issue 12, done when): a bureau admin uploads seed 000's document and, on the review page only — ticking,
unticking, merging and retyping with the page's own controls — reaches a committed plan equal to the demo plan built
from it (demo/data/plan_000.json): the same targets, kinds, comparators, numbers, 所属目标 links and due quarters.

The reviewer's decisions come from ``tests/targets/plan_review.py`` (the parser bench's matching rule,
``plans.docparse.compare``); every one of them is carried out by clicking or typing in Chromium. The targets it
may retype or join are capped by the bench's misses. Seed 001 (traditional characters, one target joined from two
clauses) takes the same journey. Printed with -s: the time from upload to committed plan (BENCHMARKS.md).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from browser_support import django_side, log_in

from tests.targets.plan_review import (
    BENCH_MISSES,
    SEEDS,
    Review,
    check_committed,
    check_structure,
    demo_plan,
    plan_review,
    sections_to_drop,
)

pytestmark = pytest.mark.browser


@django_side
def draft_rows(title: str) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The newest draft with this title: its id, its sections and target rows as stored (what the page shows)."""
    from targets.models import DraftStatus, PlanDraft

    draft = PlanDraft.objects.filter(status=DraftStatus.DRAFT, data__title=title).latest("pk")
    return draft.pk, list(draft.data["sections"]), list(draft.data["targets"])


@django_side
def committed_rows(draft_id: int) -> tuple[str, list[dict[str, Any]], list[tuple[str, list[str]]]]:
    """The plan committed from the draft: its code, its targets as ``check_committed`` reads them and its sections
    with their work items' titles."""
    from plans.models import Section
    from targets.models import DraftStatus, PlanDraft, Target

    draft = PlanDraft.objects.get(pk=draft_id)
    assert draft.status == DraftStatus.COMMITTED
    assert draft.committed_plan is not None
    plan = draft.committed_plan
    targets = Target.objects.filter(plan=plan).select_related("part_of", "due_period", "section", "work_item")
    sections = Section.objects.filter(plan=plan).prefetch_related("work_items").order_by("order")
    structure = [(s.title, [w.title for w in sorted(s.work_items.all(), key=lambda w: w.number)]) for s in sections]
    return plan.code, [
        {
            "section": t.section.title, "work_item": t.work_item.title if t.work_item is not None else None,
            "text": t.text, "kind": t.kind, "comparator": t.comparator, "target_value": t.target_value,
            "target_value_max": t.target_value_max, "part_of": t.part_of.text if t.part_of is not None else None,
            "due_period": t.due_period.code if t.due_period is not None else None,
        }
        for t in targets.order_by("order")
    ], structure  # fmt: skip


@django_side
def clean_up(code: str) -> None:
    from plans.models import Plan
    from targets.models import PlanDraft, Target

    plan = Plan.objects.get(code=code)
    PlanDraft.objects.filter(committed_plan=plan).delete()
    Target.objects.filter(plan=plan).delete()
    plan.delete()


def submit(page: Any, button: str) -> float:
    """Click a submit button of the review form and wait for the next page; seconds taken."""
    started = time.perf_counter()
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    return time.perf_counter() - started


def merge_on_page(page: Any, merges: list[list[int]]) -> float:
    """Tick "合并" on each group's rows and press "合并所选目标", one group at a time (later groups first, so the
    row numbers of the earlier ones stay as they were)."""
    seconds = 0.0
    for group in sorted(merges, reverse=True):
        started = time.perf_counter()
        for index in group:
            page.locator(f'#target-{index} input[name="merge"]').check()
        seconds += time.perf_counter() - started + submit(page, "合并所选目标")
        assert page.locator(".errorlist").count() == 0, page.inner_text("main")[:500]
    return seconds


def review_on_page(page: Any, rows: list[dict[str, Any]], review: Review, dropped_sections: list[int]) -> float:
    """Untick the sections and targets the demo has not, tick the rest, retype the fields it changes; seconds taken."""
    started = time.perf_counter()
    for index in dropped_sections:
        page.locator(f'input[name="s-{index}-accepted"]').uncheck()
    for index, row in enumerate(rows):
        keep = index in review.accepted
        if bool(row.get("accepted")) != keep:
            page.locator(f'input[name="t-{index}-accepted"]').set_checked(keep)
    for index, fields in review.edits.items():
        for name, value in fields.items():
            field = page.locator(f'[name="t-{index}-{name}"]')
            if name in ("kind", "comparator"):
                field.select_option(value or "")
            else:
                field.fill("" if value is None else str(value))
    return time.perf_counter() - started


@pytest.mark.parametrize("number", ["000", "001"])
def test_bureau_admin_turns_a_plan_document_into_the_demo_plan(
    site: Any, new_page: Any, journey: Any, number: str
) -> None:
    found = sorted(SEEDS.glob(f"{number}_*.txt"))
    if not found:
        pytest.skip(f"seed {number} is not available")
    demo = demo_plan(number)
    steps = journey(f"plan-import-{number}")
    page = new_page()
    log_in(page, site, "admin")
    page.goto(site("/plans/"))
    page.get_by_role("link", name="从文档导入").click()
    page.set_input_files("#id_file", str(found[0]))
    steps.step(page, "document chosen")

    timings: dict[str, float] = {}
    timings["upload → review page"] = submit(page, "识别并生成草稿")
    assert "/plans/drafts/" in page.url, page.inner_text("main")[:500]
    steps.step(page, "review as proposed")
    draft_id, sections, rows = draft_rows(page.input_value("#d-title"))
    assert page.input_value("#d-title") == demo["title"]

    first = plan_review(demo["targets"], rows)
    assert not first.unreachable, first.unreachable
    if first.merges:  # the clauses the demo keeps as one target, joined first (rows after them move up)
        timings["merges"] = merge_on_page(page, first.merges)
        steps.step(page, "clauses merged")
        _, sections, rows = draft_rows(demo["title"])
    review = plan_review(demo["targets"], rows)
    assert not review.unreachable, review.unreachable
    assert not review.merges, review.merges
    edited = len(first.merges) + review.parser_edits
    assert edited <= BENCH_MISSES[number], (first.merges, review.edits)

    dropped = sections_to_drop(demo, sections)
    assert len(dropped) <= 1  # the heading above the numbered parts
    timings["ticks and retyping"] = review_on_page(page, rows, review, dropped)
    timings["save"] = submit(page, "保存草稿")
    assert page.locator(".errorlist").count() == 0, page.inner_text("main")[:500]
    steps.step(page, "reviewed")
    assert page.locator('input[name$="-accepted"][name^="t-"]:checked').count() == len(demo["targets"])

    timings["commit → plan page"] = submit(page, "提交，生成工作要点")
    assert page.locator(".errorlist").count() == 0, page.inner_text("main")[:500]
    assert demo["title"] in page.inner_text("h1")
    steps.step(page, "committed plan")

    code, committed, structure = committed_rows(draft_id)
    assert check_committed(demo, committed) == []
    assert check_structure(demo, structure) == []
    assert len(committed) == len(demo["targets"])
    total = sum(timings.values())
    print(  # noqa: T201  (shown with -s; BENCHMARKS.md)
        f"\nbrowser, seed {number}: upload → committed plan {total:.1f} s without screenshots ("
        + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items())
        + f"); {review.ticks(rows)} ticks changed (and {len(dropped)} section), {len(first.merges)} merges, "
        f"{len(review.edits)} targets retyped"
        f" ({review.field_changes} fields; {len(review.held_back)} of them 有所提高 held as narrative), "
        f"{len(committed)} targets"
    )
    clean_up(code)
