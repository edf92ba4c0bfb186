"""The notification service: rows, e-mail, preferences, the digest, the chat webhook and its failures."""

from __future__ import annotations

import datetime
import io
import json
import urllib.error
from unittest import mock

import pytest
from django.core import mail

from notifications import services
from notifications.models import DeliveryFailure, Kind, Notification, NotificationPreference
from notifications.tasks import send_digests_task

WEBHOOK = "https://qyapi.weixin.example/cgi-bin/webhook/send?key=abc"


def test_each_active_user_gets_one_row_and_one_mail_and_a_repeat_is_a_no_op(users):
    first = services.notify([users.alice, users.bob.pk], Kind.APPROVED, "已通过", "正文", "/x/", key="k1")
    again = services.notify([users.alice, users.bob], Kind.APPROVED, "已通过", "正文", "/x/", key="k1")

    assert (first.created, first.emailed) == (2, 2)
    assert (again.created, again.emailed) == (0, 0)
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["alice", "bob"]
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "bob@example.org"]
    assert "正文" in mail.outbox[0].body
    assert "/x/" in mail.outbox[0].body


def test_a_user_who_left_gets_nothing_and_nothing_fails(users):
    users.bob.is_active = False
    users.bob.save()

    result = services.notify([users.bob], Kind.OVERDUE, "逾期", key="k")

    assert result == services.Delivery(0, 0, 0)
    assert not Notification.objects.exists()
    assert not mail.outbox


def test_email_off_or_digest_keeps_the_row_but_sends_no_mail_now(users):
    NotificationPreference.objects.create(user=users.alice, email=False)
    NotificationPreference.objects.create(user=users.bob, daily_digest=True)

    result = services.notify([users.alice, users.bob, users.kate], Kind.APPROVED, "已通过", key="k")

    assert (result.created, result.emailed) == (3, 1)
    assert [m.to for m in mail.outbox] == [["kate@example.org"]]


def test_the_digest_sends_one_mail_with_the_waiting_unread_ones_and_only_once(users):
    NotificationPreference.objects.create(user=users.rita, daily_digest=True)
    for i in range(61):
        services.notify([users.rita], Kind.OVERDUE, f"学校{i} 逾期", key=f"k{i}")
    Notification.objects.filter(key="k0").update(read_at=datetime.datetime(2023, 4, 1, tzinfo=datetime.UTC))
    assert not mail.outbox

    assert send_digests_task.delay().get() == 1
    assert send_digests_task.delay().get() == 0  # nothing waits any more

    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == ["rita@example.org"]
    assert digest.subject == "【每日汇总】您有 60 条未读通知"  # the read one is left out
    assert "学校60 逾期" in digest.body
    assert "学校0 逾期" not in digest.body
    services.notify([users.rita], Kind.OVERDUE, "新的一条", key="later")
    assert send_digests_task.delay().get() == 1
    assert "新的一条" in mail.outbox[1].body
    assert "学校1 逾期" not in mail.outbox[1].body


def test_past_the_hourly_limit_mail_waits_for_the_digest(users, settings, clock):
    settings.NOTIFY_EMAIL_HOURLY_LIMIT = 10
    for i in range(15):
        services.notify([users.rita], Kind.OVERDUE, f"学校{i} 逾期", key=f"k{i}")
    assert len(mail.outbox) == 10
    assert Notification.objects.filter(mail_pending=True).count() == 5

    clock.shift(datetime.timedelta(hours=1, seconds=1))  # a new hour: mail goes out at once again
    services.notify([users.rita], Kind.OVERDUE, "下一小时", key="next")
    assert len(mail.outbox) == 11

    assert send_digests_task.delay().get() == 1
    assert mail.outbox[-1].subject == "【每日汇总】您有 5 条未读通知"
    assert "学校14 逾期" in mail.outbox[-1].body


def test_a_failed_mail_is_recorded_and_the_caller_goes_on(users, monkeypatch):
    def broken(self, fail_silently=False):  # noqa: ANN001, ANN202
        raise OSError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    result = services.notify([users.alice], Kind.APPROVED, "已通过", key="k")

    assert (result.created, result.failed) == (1, 1)
    assert Notification.objects.count() == 1
    failure = DeliveryFailure.objects.get()
    assert (failure.channel, failure.key) == ("email", "k")
    assert "smtp down" in failure.error
    with pytest.raises(OSError):
        services.notify([users.bob], Kind.APPROVED, "已通过", key="k2", raise_mail_errors=True)


def _answer(payload: dict) -> mock.MagicMock:
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(json.dumps(payload).encode())
    return response


def test_the_webhook_gets_one_text_message_per_event(users, settings):
    settings.NOTIFY_WEBHOOK_URL = WEBHOOK
    settings.NOTIFY_SITE_URL = "https://portal.example.cn/"
    with mock.patch("urllib.request.urlopen", return_value=_answer({"errcode": 0})) as urlopen:
        services.notify(
            [users.alice, users.bob], Kind.RETURNED, "东区中心小学 2023Q1 填报被退回", "原因：人数", "/s/1/"
        )
    assert urlopen.call_count == 1
    request = urlopen.call_args.args[0]
    assert request.full_url == WEBHOOK
    assert request.get_method() == "POST"
    body = json.loads(request.data)
    assert body["msgtype"] == "text"
    assert body["text"]["content"] == "东区中心小学 2023Q1 填报被退回\n原因：人数\nhttps://portal.example.cn/s/1/"
    assert not DeliveryFailure.objects.exists()


@pytest.mark.parametrize(
    ("url", "urlopen"),
    [
        ("not a url", None),
        ("file:///etc/passwd", None),
        (WEBHOOK, mock.Mock(side_effect=urllib.error.URLError("connection refused"))),
        (WEBHOOK, mock.Mock(return_value=_answer({"errcode": 93000, "errmsg": "invalid webhook url"}))),
    ],
)
def test_a_broken_webhook_is_logged_and_recorded_and_the_rows_stay(users, settings, url, urlopen, caplog):
    settings.NOTIFY_WEBHOOK_URL = url
    opener = urlopen or mock.Mock(side_effect=AssertionError("must not be called"))
    with mock.patch("urllib.request.urlopen", opener):
        result = services.notify([users.alice], Kind.APPROVED, "已通过", key="k")

    assert (result.created, result.emailed, result.failed) == (1, 1, 1)
    assert Notification.objects.count() == 1
    assert DeliveryFailure.objects.get().channel == "webhook"
    assert "webhook failed" in caplog.text
    if urlopen is None:
        opener.assert_not_called()


def test_after_a_failure_the_webhook_is_paused_instead_of_timing_out_each_time(users, settings):
    settings.NOTIFY_WEBHOOK_URL = WEBHOOK
    down = mock.Mock(side_effect=urllib.error.URLError("timed out"))
    with mock.patch("urllib.request.urlopen", down):
        for i in range(5):
            services.notify([users.alice], Kind.OVERDUE, f"逾期{i}", key=f"k{i}")
    assert down.call_count == 1
    assert Notification.objects.count() == 5
    assert DeliveryFailure.objects.filter(channel="webhook").count() == 5
    with (
        mock.patch("urllib.request.urlopen", return_value=_answer({"errcode": 0})) as up,
        mock.patch("time.monotonic", return_value=10**9),
    ):
        services.notify([users.alice], Kind.OVERDUE, "恢复后", key="later")
    assert up.call_count == 1


def test_a_title_with_a_line_break_is_one_line_and_the_mail_goes_out(users):
    services.notify([users.alice], Kind.RETURNED, "东区\n中心小学  2023Q1 填报被退回", key="k")
    assert Notification.objects.get().title == "东区 中心小学 2023Q1 填报被退回"
    assert mail.outbox[0].subject == "东区 中心小学 2023Q1 填报被退回"
