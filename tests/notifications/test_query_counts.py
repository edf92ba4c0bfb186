"""Issue 14: the home of each role, the review list and the notifications page read in a number of queries that
does not grow with the number of schools or notifications."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import services
from notifications.models import DeliveryFailure, Kind
from schools.models import Level, Membership, Ownership, Role, SchoolType
from submissions.models import SubmissionStatus
from tests.conftest import make_unit
from tests.submissions.conftest import make_submission

SCHOOL = {"level": Level.SCHOOL, "school_type": SchoolType.PRIMARY, "ownership": Ownership.PUBLIC}
STATUSES = [SubmissionStatus.SUBMITTED, SubmissionStatus.RETURNED, SubmissionStatus.DRAFT, None]


def _queries(client, url: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _schools(tree, setup, users, start: int, count: int) -> None:  # noqa: ANN001
    """``count`` more schools in 东区 (rita's review scope) with alice as their principal too, in every state:
    submitted (the queue), returned (the principal's list), a draft, nothing yet (overdue later)."""
    for i in range(start, start + count):
        school = make_unit(f"N{i:03d}", f"新建小学{i:03d}", parent=tree.t1, **SCHOOL)
        Membership.objects.create(user=users.alice, org_unit=school, role=Role.PRINCIPAL)
        status = STATUSES[i % len(STATUSES)]
        if status is not None:
            submission = make_submission(school, setup.q1, status)
            if status == SubmissionStatus.RETURNED:
                submission.return_reason = f"请核对{i}"
                submission.save()


@pytest.mark.parametrize("role", ["alice", "rita", "ivan", "bea"])
def test_the_home_of_each_role_does_not_grow_with_the_schools(client, setup, users, tree, role):
    _schools(tree, setup, users, 0, 3)
    user = getattr(users, role)
    client.force_login(user)
    client.get(reverse("home"))  # warm the caches (content types, the session)
    few = _queries(client, reverse("home"))

    _schools(tree, setup, users, 3, 27)

    assert _queries(client, reverse("home")) == few
    page = client.get(reverse("home")).content.decode()
    if role == "alice":
        assert "新建小学029" in page  # every school to fill is listed, each in its own row
        assert "请核对29" in page
    if role in ("rita", "bea"):
        assert '待审核 <span class="badge">8</span>' in page  # every fourth of the 30 was submitted
        assert "新建小学028 · 2023Q1" in page


def test_the_review_list_does_not_grow_with_the_schools(client, setup, users, tree):
    _schools(tree, setup, users, 0, 3)
    client.force_login(users.rita)
    url = reverse("submissions:review_list")
    client.get(url)
    few = _queries(client, url)

    _schools(tree, setup, users, 3, 27)

    assert _queries(client, url) == few
    assert "新建小学028" in client.get(url).content.decode()


def test_the_home_and_notifications_of_an_admin_do_not_grow_with_notifications_or_failures(client, users):
    def notes(start: int, count: int) -> None:
        for i in range(start, start + count):
            services.notify([users.bea], Kind.OVERDUE, f"逾期{i}", f"正文{i}", "/submissions/", key=f"k{i}")
            DeliveryFailure.objects.create(channel="webhook", kind=Kind.OVERDUE, key=f"k{i}", error=f"错误{i}")

    notes(0, 3)
    client.force_login(users.bea)
    urls = [reverse("home"), reverse("notifications:list"), reverse("notifications:list") + "?unread=1"]
    for url in urls:
        client.get(url)
    few = [_queries(client, url) for url in urls]

    notes(3, 47)

    assert [_queries(client, url) for url in urls] == few
    listing = client.get(reverse("notifications:list")).content.decode()
    assert "最近 7 天有 50 次通知投递失败" in listing
    assert "逾期49" in listing
