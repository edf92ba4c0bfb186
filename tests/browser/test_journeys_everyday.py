"""Issue 14's everyday journeys: a principal notified of a return fixes and resubmits from the notification; a
reviewer works through the queue with previous/next; the to-do home of each demo role.

The givens are arranged through the same service functions as the pages (``submissions.workflow``); the
principal's quarter starts from the same state as the submission journeys (``reset_principal_quarter``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import (
    PERIOD,
    django_side,
    log_in,
    quarter_figures,
    reset_principal_quarter,
    stored_submission,
    submit_as_principal,
)

pytestmark = pytest.mark.browser

REASON = "请核对转出人数，与学籍系统不一致"


@django_side
def return_as_reviewer(reason: str) -> None:
    """Given: the district reviewer returns the principal's submitted quarter (the workflow's own function; the
    principal's notification is written after commit, as it is from the review page)."""
    from django.contrib.auth import get_user_model

    from submissions import workflow

    submission = stored_submission()
    reviewer = get_user_model().objects.get(username="reviewer")
    workflow.return_submission(submission, reviewer, reason=reason, version=submission.version)


@django_side
def unread(username: str) -> int:
    from notifications.models import Notification

    return Notification.objects.filter(user__username=username, read_at__isnull=True).count()


@django_side
def review_queue() -> list[str]:
    """The reviewer's queue of this quarter, in the list's order: unit names."""
    from django.contrib.auth import get_user_model

    from submissions import queue
    from submissions.models import Period

    reviewer = get_user_model().objects.get(username="reviewer")
    return [s.org_unit.name for s in queue.queue(reviewer, Period.objects.get(code=PERIOD))]


@django_side
def status_of(unit_name: str) -> str:
    from submissions.models import Submission

    return Submission.objects.get(org_unit__name=unit_name, period__code=PERIOD).status


def given_principal_submitted() -> None:
    reset_principal_quarter()
    submit_as_principal(quarter_figures() | {"pri_new_entrants_migrant": "6"})


def test_principal_fixes_a_returned_quarter_from_the_notification(site: Any, new_page: Any, journey: Any) -> None:
    # given: the principal's quarter submitted, then returned by the reviewer with a reason
    given_principal_submitted()
    return_as_reviewer(REASON)
    steps = journey("10-principal-returned")
    page = new_page()
    log_in(page, site, "principal")

    # then: the bell says how many notifications are unread
    bell = page.locator("a.bell")
    count = unread("principal")
    assert count >= 1
    assert bell.locator(".badge-count").inner_text() == (str(count) if count <= 99 else "99+")
    assert f"{count} 条未读" in bell.get_attribute("aria-label")
    steps.step(page, "home-with-bell")

    # when: the principal opens the notifications and the one about the return
    bell.click()
    assert page.locator("h1").inner_text() == "通知"
    row = page.locator("tr.unread", has_text="东城中心小学").filter(has_text="退回").first
    assert REASON in row.inner_text()  # the reason travels in the notification itself
    steps.step(page, "notification-list")
    row.get_by_role("button", name="查看").click()

    # then: the submission itself, returned, with the reviewer's reason; the notification is read
    assert re.search(r"/submissions/\d+/$", page.url), page.url
    assert f"东城中心小学 · {PERIOD}" in page.locator("h1").inner_text()
    assert "已退回" in page.locator("h1 .badge").inner_text()
    assert REASON in page.locator("main").inner_text()
    assert unread("principal") == count - 1
    steps.step(page, "returned-submission-with-reason")

    # when: a figure is fixed and the quarter submitted again
    page.fill("#id_v_pri_transfers_out", "3")
    page.get_by_role("button", name="保存并提交").click()
    assert "已提交" in page.locator(".messages").inner_text()
    assert "已提交" in page.locator("h1 .badge").inner_text()
    assert stored_submission().status == "submitted"
    steps.step(page, "resubmitted")

    # then: the reviewer finds it back in the queue
    reviewer = new_page()
    log_in(reviewer, site, "reviewer")
    reviewer.get_by_role("link", name="审核", exact=True).click()
    assert reviewer.locator("tr", has_text="东城中心小学").count() >= 1
    assert "东城中心小学" in review_queue()
    steps.step(reviewer, "back-in-the-reviewers-queue")


def test_reviewer_works_through_the_queue_with_next_and_previous(site: Any, new_page: Any, journey: Any) -> None:
    # given: the principal's quarter is in the queue beside the demo's other submitted schools of 东城区
    given_principal_submitted()
    names = review_queue()
    assert len(names) >= 3, f"the demo's 东城区 queue is too short for this journey: {names}"
    steps = journey("11-reviewer-queue")
    page = new_page()
    log_in(page, site, "reviewer")

    # when: the reviewer opens the queue and its first submission
    page.get_by_role("link", name="审核", exact=True).click()
    list_url = page.url
    steps.step(page, "queue")
    page.locator("tr", has_text=names[0]).get_by_role("link").first.click()

    def on(name: str) -> None:
        assert page.locator("h1").inner_text().startswith(f"{name} · {PERIOD}"), page.locator("h1").inner_text()
        assert page.url != list_url

    on(names[0])
    assert page.locator(".queue-nav .disabled", has_text="上一份").count() == 1  # the first has no previous
    # then: this quarter beside last quarter and the same quarter last year (approved values)
    header = page.locator("main thead").first.inner_text()
    assert "上季度（已审核）" in header
    assert "去年同季（已审核）" in header
    assert page.locator("td.compare-q").count() > 0
    assert any(text.strip() for text in page.locator("td.compare-q").all_inner_texts())
    assert any(text.strip() for text in page.locator("td.compare-y").all_inner_texts())
    steps.step(page, "first-with-last-quarter-and-last-year")

    # when: next, next, previous — without going back to the list
    page.locator(".queue-nav a[rel=next]").click()
    on(names[1])
    steps.step(page, "second")
    page.locator(".queue-nav a[rel=next]").click()
    on(names[2])
    steps.step(page, "third")
    page.locator(".queue-nav a[rel=prev]").click()
    on(names[1])
    steps.step(page, "back-to-second")

    # when: the second is approved
    page.get_by_role("button", name="审核通过").click()
    assert "已审核通过" in page.locator(".messages").inner_text()
    assert status_of(names[1]) == "approved"
    # then: the reviewer is taken on to the next one in the queue
    on(names[2])
    steps.step(page, "approved-then-next")

    # when: the third is returned with a reason
    page.fill("textarea[name=reason]", REASON)
    page.get_by_role("button", name="退回").click()
    assert "已退回" in page.locator(".messages").inner_text()
    assert status_of(names[2]) == "returned"
    steps.step(page, "returned-then-next")

    # then: neither is in the queue any more; the first still is
    left = review_queue()
    assert names[0] in left
    assert names[1] not in left
    assert names[2] not in left
    page.goto(list_url)
    body = page.locator("main").inner_text()
    assert names[0] in body
    steps.step(page, "queue-after")


OVERDUE_SCHOOL = "西城金色幼儿园"  # outside 东城区: the reviewer's queue journey does not see it


@django_side
def given_overdue_last_quarter() -> None:
    """Given: the bureau admin reopened a 西城 school's 2023Q3 (approved in the demo) and it was not submitted
    again, so the unit is overdue for 2023Q3 (due 2023-10-10; 2023Q4 is not due yet on 2023-12-11)."""
    from django.contrib.auth import get_user_model

    from submissions import workflow
    from submissions.models import Submission, SubmissionStatus

    submission = Submission.objects.get(org_unit__name=OVERDUE_SCHOOL, period__code="2023Q3")
    if submission.status == SubmissionStatus.APPROVED:
        admin = get_user_model().objects.get(username="admin")
        workflow.reopen(submission, admin, reason="更正在园幼儿数", version=submission.version)


@django_side
def queue_total(username: str) -> int:
    from django.contrib.auth import get_user_model

    from notifications import todo

    queue = todo.for_user(get_user_model().objects.get(username=username)).queue
    assert queue is not None
    return queue.total


HOME_SECTIONS = {
    # role: (username, sections the home must show)
    "principal": ("principal", ["本季度填报（2023Q4）", "被退回的填报", REASON]),
    "reviewer": ("reviewer", ["待审核", "审核填报"]),
    "inspector": (
        "inspector",
        ["逾期未报（2023Q3，截止 2023-10-10）", OVERDUE_SCHOOL, "滞后的目标（2023Q4）", "本季度新增"],
    ),
    "admin": ("admin", ["待审核", "逾期未报（2023Q3，截止 2023-10-10）", OVERDUE_SCHOOL, "滞后的目标（2023Q4）"]),
}


@pytest.mark.parametrize("role", list(HOME_SECTIONS))
def test_the_to_do_home_of_each_role(site: Any, new_page: Any, journey: Any, role: str) -> None:
    # given: the principal's quarter returned with a reason (something for the principal to do)
    # and a 西城 school overdue for last quarter (something for the inspector and the bureau admin)
    given_principal_submitted()
    return_as_reviewer(REASON)
    given_overdue_last_quarter()
    username, sections = HOME_SECTIONS[role]
    steps = journey(f"12-home-{role}")
    page = new_page()
    log_in(page, site, username)
    page.goto(site("/"))
    main = page.locator("main").inner_text()
    for text in sections:
        assert text in main, f"{role}'s home lacks {text!r}:\n{main[:1500]}"
    if role in ("reviewer", "admin"):
        badge = page.locator("#todo-queue .badge").inner_text()
        assert badge == str(queue_total(username))
        assert int(badge) > 0
    if role in ("inspector", "admin"):
        assert int(page.locator("#todo-overdue .badge").inner_text()) >= 1
        assert int(page.locator("#todo-offtrack .badge").inner_text()) >= 1
        assert "没有滞后的目标" not in main
    if role in ("principal", "inspector"):
        assert page.locator("#todo-queue").count() == 0  # neither reviews
    if role in ("principal", "reviewer"):
        assert page.locator("#todo-overdue").count() == 0
    steps.step(page, "home")
