"""The to-do home of each role, in scope, in a number of queries that does not grow with the schools."""

from __future__ import annotations

import datetime

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schools.models import Level, Ownership, Role, SchoolType
from submissions.models import Period, SubmissionStatus
from tests.conftest import make_unit, make_user
from tests.submissions.conftest import S1_CLEAN, make_submission
from tests.submissions.test_submissions_reminders import at


def _page(client, user) -> str:  # noqa: ANN001
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_principal_sees_what_to_fill_and_what_was_returned_and_why(client, setup, users, tree):
    returned = make_submission(tree.s1, setup.q1, status=SubmissionStatus.RETURNED, **S1_CLEAN)
    returned.return_reason = "在校生数与学籍系统不符"
    returned.save()

    page = _page(client, users.alice)

    assert "本季度填报（2023Q1）" in page
    assert "被退回的填报" in page
    assert "在校生数与学籍系统不符" in page
    assert returned.get_absolute_url() in page
    assert "待审核" not in page
    assert "逾期未报" not in page


def test_a_reviewer_sees_the_queue_of_their_scope_only(client, setup, users, tree):
    make_submission(tree.s2, setup.q1, status=SubmissionStatus.SUBMITTED)
    make_submission(tree.s3, setup.q1, status=SubmissionStatus.SUBMITTED)

    page = _page(client, users.rita)

    assert "东区第二小学 · 2023Q1" in page
    assert "西区实验小学" not in page
    assert "本季度填报（" not in page


def test_an_inspector_sees_the_overdue_units_and_the_count_does_not_grow(client, setup, users, tree, clock):
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    at(clock, datetime.date(2023, 4, 11))  # 2023Q1 was due 04-10

    page = _page(client, users.ivan)
    assert "逾期未报（2023Q1，截止 2023-04-10）" in page
    assert "东区第二小学" in page
    assert "西区阳光幼儿园" in page
    assert '<span class="badge">6</span>' in page  # S2, K1, S3, K2 and the districts D1, D2

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("home"))
        return len(ctx.captured_queries)

    few = queries()
    school = {"level": Level.SCHOOL, "school_type": SchoolType.PRIMARY, "ownership": Ownership.PUBLIC}
    for i in range(40):
        make_unit(f"X{i:02d}", f"新学校{i}", parent=tree.d2, **school)
    for i in range(30):
        make_submission(make_unit(f"Y{i:02d}", f"已报学校{i}", parent=tree.d1, **school), setup.q1,
                        status=SubmissionStatus.SUBMITTED)  # fmt: skip
    assert queries() == few
    page = client.get(reverse("home")).content.decode()
    assert '<span class="badge">46</span>' in page
    assert "还有 26 个单位" in page  # 20 listed


def test_off_track_targets_in_scope_marked_when_new(client, report, users, tree):
    with time_machine.travel(datetime.datetime(2024, 1, 5, 2, 0, tzinfo=datetime.UTC), tick=False):
        page = _page(client, users.ivan)
        assert "滞后的目标（2023Q4）" in page
        assert "严格控制 55 人以上的大班额" in page  # the city row is off track
        assert "学前一年幼儿入园率" not in page  # met in the city; only D2's share is off track
        assert "本季度新增" in page

        dora = make_user("dora", tree.d2, Role.INSPECTOR)
        page = _page(client, dora)
        assert "严格控制 55 人以上的大班额" in page
        assert "学前一年幼儿入园率" in page
        assert page.count("西区") >= 2

        dan = make_user("dan", tree.d1, Role.INSPECTOR)
        assert "没有滞后的目标。" in _page(client, dan)


def test_before_this_quarter_is_due_the_last_quarters_overdue_units_are_shown(client, setup, users):
    page = _page(client, users.ivan)  # 2023-04-01: 2023Q1 is due on 04-10, 2022Q4 was due on 2023-01-10
    assert "逾期未报（2022Q4，截止 2023-01-10）" in page


def test_a_new_quarter_without_progress_shows_the_last_one_with_progress(client, report, users):
    Period.objects.create(
        code="2024Q1",
        year=2024,
        quarter=1,
        opens_on=datetime.date(2024, 1, 1),
        due_on=datetime.date(2024, 4, 10),
        locks_on=datetime.date(2024, 4, 30),
    )
    with time_machine.travel(datetime.datetime(2024, 2, 1, 2, 0, tzinfo=datetime.UTC), tick=False):
        page = _page(client, users.ivan)
    assert "滞后的目标（2023Q4）" in page
    assert "严格控制 55 人以上的大班额" in page


def test_the_home_reads_in_english(client, setup, users, tree, settings):
    make_submission(tree.s2, setup.q1, status=SubmissionStatus.SUBMITTED)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = _page(client, users.bea)
    assert "To review" in page
    assert "Overdue (2022Q4, due 2023-01-10)" in page
    assert "Targets off track" in page
    assert "待审核" not in page
