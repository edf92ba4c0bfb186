"""A returned submission in a locked period is no dead end: the page says what to do and who can open it."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.scope import Perm, holders
from schools.models import Membership, Role
from submissions.models import PeriodException, SubmissionStatus
from tests.conftest import make_user
from tests.submissions.conftest import S1_CLEAN, make_submission

NOTICE = "本季度已锁定，暂时不能修改或提交"


def returned_in_locked_q4(tree, setup):  # noqa: ANN001, ANN201
    # 2022Q4 locked at the end of January 2023; the clock says 2023-04-01.
    submission = make_submission(tree.s1, setup.q4, status=SubmissionStatus.RETURNED, **S1_CLEAN)
    submission.return_reason = "在校生数有误"
    submission.save(update_fields=["return_reason"])
    return submission


def test_the_principal_is_told_what_to_do_and_which_admins_can_open_the_period(client, users, setup, tree) -> None:
    # given: bea administers the whole city; 王芳 administers D1 (S1's district); 李强 only D2; 赵敏 left
    submission = returned_in_locked_q4(tree, setup)
    wang = make_user("wangfang", tree.d1, Role.BUREAU_ADMIN)
    wang.first_name = "王芳"
    wang.save(update_fields=["first_name"])
    li = make_user("liqiang", tree.d2, Role.BUREAU_ADMIN)
    li.first_name = "李强"
    li.save(update_fields=["first_name"])
    gone = make_user("zhaomin", tree.d1, Role.BUREAU_ADMIN)
    gone.first_name, gone.is_active = "赵敏", False
    gone.save(update_fields=["first_name", "is_active"])
    client.force_login(users.alice)
    # when
    page = client.get(submission.get_absolute_url()).content.decode()
    # then
    assert NOTICE in page
    assert f"2022Q4 已于 {setup.q4.locks_on:%Y-%m-%d} 锁定" in page
    admins = page[page.index('<ul class="admins">') : page.index("</ul>", page.index('<ul class="admins">'))]
    assert "王芳" in admins
    assert "bea" in admins
    assert 'href="mailto:bea@example.org"' in admins
    assert "李强" not in admins  # another district's admin cannot open it for S1
    assert "赵敏" not in admins  # an account that left
    assert 'name="op" value="submit"' not in page  # still read-only: the notice explains, it does not bypass the lock
    assert "#exceptions" not in page  # a principal cannot grant the exception: no link to the form


def test_an_admin_on_the_page_gets_the_link_to_open_it(client, users, setup, tree) -> None:
    submission = returned_in_locked_q4(tree, setup)
    client.force_login(users.bea)
    page = client.get(submission.get_absolute_url()).content.decode()
    assert NOTICE in page
    assert reverse("submissions:period_update", args=[setup.q4.code]) + "#exceptions" in page


def test_the_notice_is_in_english_on_english_pages(client, users, setup, tree) -> None:
    submission = returned_in_locked_q4(tree, setup)
    client.force_login(users.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(submission.get_absolute_url()).content.decode()
    assert "This quarter is locked" in page
    assert f"2022Q4 was locked on {setup.q4.locks_on:%Y-%m-%d}" in page


def test_no_notice_when_the_period_is_open_or_an_exception_was_granted(client, users, setup, tree) -> None:
    open_one = make_submission(tree.s1, setup.q1, status=SubmissionStatus.RETURNED, **S1_CLEAN)
    client.force_login(users.alice)
    assert NOTICE not in client.get(open_one.get_absolute_url()).content.decode()
    locked = returned_in_locked_q4(tree, setup)
    PeriodException.objects.create(period=setup.q4, org_unit=tree.s1, reason="更正", granted_by=users.bea)
    page = client.get(locked.get_absolute_url()).content.decode()
    assert NOTICE not in page
    assert 'name="op" value="submit"' in page


def test_a_reviewer_who_cannot_submit_sees_no_notice(client, users, setup, tree) -> None:
    submission = returned_in_locked_q4(tree, setup)
    client.force_login(users.rita)
    assert NOTICE not in client.get(submission.get_absolute_url()).content.decode()


def test_the_page_query_count_does_not_grow_with_the_number_of_admins(client, users, setup, tree) -> None:
    submission = returned_in_locked_q4(tree, setup)
    client.force_login(users.alice)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(submission.get_absolute_url()).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(6):
        make_user(f"admin{i}", tree.city if i % 2 else tree.d1, Role.BUREAU_ADMIN)
    assert count() == few


def test_holders_follow_the_roles_permissions_up_the_tree(users, tree) -> None:
    Membership.objects.create(user=users.rob, org_unit=tree.d1, role=Role.REVIEWER)
    assert set(holders(Perm.ADMIN, tree.s1).values_list("username", flat=True)) == {"bea"}
    assert set(holders(Perm.REVIEW, tree.s1).values_list("username", flat=True)) == {"rita", "rob", "bea"}
    assert set(holders(Perm.REVIEW, tree.s3).values_list("username", flat=True)) == {"rob", "bea"}
