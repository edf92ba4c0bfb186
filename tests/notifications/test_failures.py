"""Bad input to the notification service: a recipient who left, a chat webhook that cannot be reached. The work
goes on, the failure is logged and stored, admins see it, and nothing of the portal's own notifications is lost."""

from __future__ import annotations

import socket

from django.core import mail
from django.urls import reverse

from notifications import services
from notifications.models import DeliveryFailure, Kind, Notification
from schools.models import Membership
from tests.conftest import make_user


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released): a connection is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_users_who_left_are_skipped_and_logged_and_the_others_are_still_told(users, caplog):
    users.bob.is_active = False  # deactivated
    users.bob.save()
    Membership.objects.filter(user=users.kate).delete()  # still active, but holds no role any more
    root = make_user("root")
    root.is_superuser = True  # needs no membership
    root.save()

    result = services.notify([users.alice, users.bob, users.kate, root, users.nobody], Kind.RETURNED, "被退回", key="k")

    assert result.created == 2
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["alice", "root"]
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "root@example.org"]
    assert "have left" in caplog.text
    for user in (users.bob, users.kate, users.nobody):
        assert str(user.pk) in caplog.text


def test_only_users_who_left_is_no_error(users, caplog):
    users.bob.is_active = False
    users.bob.save()
    assert services.notify([users.bob, users.nobody], Kind.OVERDUE, "逾期", key="k") == services.Delivery(0, 0, 0)
    assert not Notification.objects.exists()
    assert "have left" in caplog.text


def test_a_webhook_on_a_closed_port_is_logged_stored_and_shown_and_the_portal_rows_stay(
    client, users, settings, caplog
):
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{_closed_port()}/cgi-bin/webhook/send?key=abc"
    settings.NOTIFY_WEBHOOK_TIMEOUT = 2

    first = services.notify([users.alice, users.kate], Kind.RETURNED, "东区中心小学 2023Q1 填报被退回", key="k1")
    second = services.notify([users.alice], Kind.APPROVED, "东区中心小学 2023Q1 已通过", key="k2")

    # the work went on: every portal row and e-mail is there, each failed post counted
    assert (first.created, first.emailed, first.failed) == (2, 2, 1)
    assert (second.created, second.emailed, second.failed) == (1, 1, 1)
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 3
    # logged and stored: the first post was refused, the second skipped while the robot is paused
    assert "webhook failed for k1" in caplog.text
    failures = list(DeliveryFailure.objects.order_by("pk"))
    assert [(f.channel, f.key) for f in failures] == [("webhook", "k1"), ("webhook", "k2")]
    assert "ConnectionRefusedError" in failures[0].error or "Connection refused" in failures[0].error
    assert failures[1].error == "群机器人最近投递失败，暂停发送"
    # shown to the bureau admin on the home page and, with the errors, on the notifications page
    client.force_login(users.bea)
    home = client.get(reverse("home")).content.decode()
    assert "最近 7 天有 2 次通知投递失败（电子邮件或群机器人），站内通知已照常送达。" in home
    listing = client.get(reverse("notifications:list")).content.decode()
    assert "最近 7 天有 2 次通知投递失败" in listing
    assert "群机器人最近投递失败，暂停发送" in listing
    assert "Connection refused" in listing or "ConnectionRefusedError" in listing
    # not to a principal, who still has both notifications
    client.force_login(users.alice)
    home = client.get(reverse("home")).content.decode()
    assert "投递失败" not in home
    assert "东区中心小学 2023Q1 填报被退回" in home
    assert "投递失败" not in client.get(reverse("notifications:list")).content.decode()


def test_a_delivery_failure_in_english(client, users, settings):
    DeliveryFailure.objects.create(channel="webhook", kind=Kind.OVERDUE, error="URLError: refused")
    client.force_login(users.bea)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    home = client.get(reverse("home")).content.decode()
    assert "1 notification delivery failed in the last 7 days" in home
    listing = client.get(reverse("notifications:list")).content.decode()
    assert "Latest delivery failures" in listing
    assert "URLError: refused" in listing
