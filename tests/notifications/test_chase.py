"""催报 from the completeness board: a reviewer reminds the principals of units that have not submitted, once a
unit a day, only in the review scope, POST only; the notification rows are the record."""

from __future__ import annotations

import datetime
from unittest import mock

from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from notifications import tasks
from notifications.models import Kind, Notification
from submissions.models import SubmissionStatus
from tests.submissions.conftest import make_submission

URL = "/notifications/chase/"


def chase(client, **data: object):  # noqa: ANN001, ANN201
    response = client.post(URL, data, follow=True)
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_chasing_one_unit_tells_its_principals_once_a_day(client, setup, users, tree, clock):
    client.force_login(users.rita)
    # when: rita chases S1 for 2023Q1 (today 2023-04-01, due 2023-04-10)
    said = chase(client, period="2023Q1", unit="S1")
    # then: alice, S1's principal, has a due-soon notification; nobody else does
    assert said == [("success", "已向 1 个单位的校长发送催报：东区中心小学。")]
    note = Notification.objects.get()
    assert (note.user, note.kind, note.key) == (
        users.alice,
        Kind.DUE_SOON,
        f"chase:{tree.s1.pk}:{setup.q1.pk}:2023-04-01",
    )
    assert note.title == "【催报】东区中心小学 2023Q1 季度数据尚未提交"
    assert note.url == reverse("submissions:my_submissions")
    # a second chase the same day tells nobody and says so
    assert chase(client, period="2023Q1", unit="S1") == [("warning", "今天已催报过，明天才能再次催报：东区中心小学。")]
    assert Notification.objects.count() == 1
    # the next day (after the due date: overdue) it goes out again
    clock.move_to(datetime.datetime(2023, 4, 11, 10, 0, tzinfo=datetime.UTC))
    client.force_login(users.rita)  # the session of ten days ago has expired
    assert chase(client, period="2023Q1", unit="S1")[0][0] == "success"
    assert list(Notification.objects.order_by("pk").values_list("kind", flat=True)) == [Kind.DUE_SOON, Kind.OVERDUE]


def test_chasing_all_runs_in_the_background_and_tells_every_unit_not_submitted_in_the_review_scope(
    client, setup, users, tree
):
    # given: S2 submitted; S1 and K1 (D1, rita's) not; S3 (D2) not, but outside rita's scope
    make_submission(tree.s2, setup.q1, SubmissionStatus.SUBMITTED)
    make_submission(tree.k1, setup.q1, SubmissionStatus.RETURNED)
    client.force_login(users.rita)
    with mock.patch.object(tasks.chase_all_task, "delay", wraps=tasks.chase_all_task.delay) as delay:
        said = chase(client, period="2023Q1", all="1")
    # then: the page only says the job was started (S1, K1 and the district D1, which reports its population
    # figure too); the job ran (eager here) on the day asked
    assert said == [("success", "已在后台催报 3 个单位，完成后会在通知中告诉您结果。")]
    delay.assert_called_once_with(users.rita.pk, setup.q1.pk, "2023-04-01")
    # alice (S1) and kate (K1) are told; bob (S3) is not; S2 was never chased
    told = Notification.objects.exclude(kind=Kind.CHASE_DONE)
    assert sorted(told.values_list("user__username", flat=True)) == ["alice", "kate"]
    # and rita is told the outcome, with a link back to the board; D1 has no principal to tell
    done = Notification.objects.get(kind=Kind.CHASE_DONE)
    assert done.user == users.rita
    assert done.title == "催报完成：2023Q1 已向 2 个单位发送催报"
    assert done.body == "已催报：东区中心小学、东区第一幼儿园。\n没有可接收催报的校长账号：东区。"
    assert done.url == f"{reverse('submissions:completeness')}?period=2023Q1"


def test_chasing_all_again_the_same_day_sends_nothing_twice_and_says_so(client, setup, users, tree):
    client.force_login(users.rita)
    chase(client, period="2023Q1", all="1")
    chase(client, period="2023Q1", unit="S1")  # and one by hand in between
    said = chase(client, period="2023Q1", all="1")

    assert said == [("success", "已在后台催报 4 个单位，完成后会在通知中告诉您结果。")]
    assert Notification.objects.filter(user=users.alice).count() == 1
    assert Notification.objects.filter(user=users.kate).count() == 1
    second = Notification.objects.filter(kind=Kind.CHASE_DONE).order_by("pk").last()
    assert second.title == "催报完成：2023Q1 已向 0 个单位发送催报"
    assert "今天已催报过，本次跳过 2 个单位：东区中心小学、东区第一幼儿园。" in second.body


def test_a_redelivered_chase_job_tells_the_requester_once(setup, users, tree):
    result = tasks.chase_all_task.apply(args=[users.rita.pk, setup.q1.pk, "2023-04-01"], task_id="t-1")
    again = tasks.chase_all_task.apply(args=[users.rita.pk, setup.q1.pk, "2023-04-01"], task_id="t-1")

    assert result.get() == {"sent": 2, "already": 0, "nobody": 2}
    assert again.get() == {"sent": 0, "already": 2, "nobody": 2}
    assert Notification.objects.filter(user=users.rita, kind=Kind.CHASE_DONE).count() == 1
    assert Notification.objects.filter(user=users.alice).count() == 1


def test_a_requester_who_left_before_the_job_ran_chases_nobody(setup, users, tree, caplog):
    users.rita.is_active = False
    users.rita.save()

    assert tasks.chase_all_task.apply(args=[users.rita.pk, setup.q1.pk, "2023-04-01"]).get() == {}
    assert not Notification.objects.exists()
    assert "chase of all units skipped" in caplog.text


def test_nothing_to_chase_starts_no_job(client, setup, users, tree):
    for unit in (tree.s1, tree.s2, tree.k1, tree.d1):
        make_submission(unit, setup.q1, SubmissionStatus.SUBMITTED)
    client.force_login(users.rita)
    with mock.patch.object(tasks.chase_all_task, "delay") as delay:
        assert chase(client, period="2023Q1", all="1") == [("info", "范围内没有未提交的单位。")]
    delay.assert_not_called()


def test_a_broker_that_is_down_is_said_and_nothing_is_sent(client, setup, users, tree, caplog):
    client.force_login(users.rita)
    with mock.patch.object(tasks.chase_all_task, "delay", side_effect=OSError("connection refused")):
        said = chase(client, period="2023Q1", all="1")
    assert said == [("error", "后台催报暂时无法启动，请稍后再试。")]
    assert not Notification.objects.exists()
    assert "broker unavailable" in caplog.text


def test_a_unit_without_a_principal_is_named(client, setup, users):
    client.force_login(users.rita)
    assert chase(client, period="2023Q1", unit="S2") == [("warning", "没有可接收催报的校长账号：东区第二小学。")]
    assert not Notification.objects.exists()


def test_a_submitted_unit_needs_no_chasing(client, setup, users, tree):
    make_submission(tree.s1, setup.q1, SubmissionStatus.APPROVED)
    client.force_login(users.rita)
    assert chase(client, period="2023Q1", unit="S1") == [("info", "已提交，无需催报：东区中心小学。")]
    assert not Notification.objects.exists()


def test_outside_the_review_scope_is_refused(client, setup, users):
    client.force_login(users.rita)
    assert client.post(URL, {"period": "2023Q1", "unit": "S3"}).status_code == 403
    client.force_login(users.alice)  # a principal may not chase at all, not even her own school
    assert client.post(URL, {"period": "2023Q1", "unit": "S1"}).status_code == 403
    client.force_login(users.ivan)  # an inspector sees the board but does not review
    assert client.post(URL, {"period": "2023Q1", "all": "1"}).status_code == 403
    assert not Notification.objects.exists()


def test_post_only_and_unknown_codes(client, setup, users):
    client.force_login(users.rita)
    assert client.get(URL, {"period": "2023Q1", "unit": "S1"}).status_code == 405
    assert client.post(URL, {"period": "2099Q1", "unit": "S1"}).status_code == 404
    assert client.post(URL, {"period": "2023Q1", "unit": "NOPE"}).status_code == 404
    assert not Notification.objects.exists()


def test_the_board_shows_the_buttons_to_reviewers_only(client, setup, users):
    client.force_login(users.rita)
    body = client.get(reverse("submissions:completeness"), {"period": "2023Q1"}).content.decode()
    assert 'id="chase-form"' in body
    assert 'form="chase-form" name="unit" value="S1"' in body
    client.force_login(users.ivan)
    body = client.get(reverse("submissions:completeness"), {"period": "2023Q1"}).content.decode()
    assert "chase-form" not in body
    assert "催报" not in body


def test_messages_in_english(client, setup, users):
    client.force_login(users.rita)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert chase(client, period="2023Q1", unit="S1") == [
        ("success", "Reminder sent to the principals of 1 unit(s): 东区中心小学.")
    ]
    # the notification itself is in the portal's default language (the recipient's is not known)
    assert Notification.objects.get().title == "【催报】东区中心小学 2023Q1 季度数据尚未提交"


def test_the_background_chase_message_in_english(client, setup, users):
    client.force_login(users.rita)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert chase(client, period="2023Q1", all="1") == [
        ("success", "Reminding 4 unit(s) in the background; a notification will tell you the result.")
    ]
