"""The one notification service: every source (workflow, reminders, exports) calls ``notify``.

``notify`` writes one portal row per recipient (bulk; a key already given to a user is skipped, so a rerun
sends nothing twice), e-mails each recipient who wants immediate mail, and posts once to the enterprise chat
webhook when ``NOTIFY_WEBHOOK_URL`` is set. Users who left (inactive, or without any membership) get nothing
(logged). A failed e-mail or webhook
post is logged and recorded as a DeliveryFailure (counted on the admins' notifications page); it never breaks
the caller, except that a caller may ask to see e-mail errors (``raise_mail_errors``) to retry later.
``send_digests`` is the daily e-mail with the unread notifications of the day for users who prefer it.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Channel, DeliveryFailure, Notification, NotificationPreference
from schools.models import Membership

logger = logging.getLogger(__name__)

TITLE_LENGTH = Notification._meta.get_field("title").max_length or 200
KEY_LENGTH = Notification._meta.get_field("key").max_length or 200
ERROR_LENGTH = DeliveryFailure._meta.get_field("error").max_length or 500
# The failed-delivery count on the notifications page covers this many recent days.
FAILURE_WINDOW_DAYS = 7
FAILURE_KEEP_DAYS = 90
# After a failed post, the webhook is left alone this long (per URL, per process).
WEBHOOK_PAUSE_SECONDS = 300
_webhook_paused_until: dict[str, float] = {}


class WebhookError(Exception):
    """The chat webhook refused the message or could not be reached."""


@dataclass(frozen=True)
class Delivery:
    """What one ``notify`` call did: rows written, e-mails sent, e-mails or posts that failed."""

    created: int
    emailed: int
    failed: int


def absolute(url: str) -> str:
    """A portal path as a full link for e-mail and chat (``NOTIFY_SITE_URL`` + path), or the path alone."""
    base = (getattr(settings, "NOTIFY_SITE_URL", "") or "").rstrip("/")
    return f"{base}{url}" if url.startswith("/") and base else url


def _user_ids(users: Iterable[Any]) -> set[int]:
    return {user if isinstance(user, int) else user.pk for user in users if user is not None}


def _record_failure(channel: str, kind: str, key: str, error: Exception | str) -> None:
    text = str(error) if isinstance(error, str) else f"{error.__class__.__name__}: {error}"
    DeliveryFailure.objects.create(channel=channel, kind=kind, key=key[:KEY_LENGTH], error=text[:ERROR_LENGTH])


def notify(
    users: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    key: str = "",
    *,
    raise_mail_errors: bool = False,
) -> Delivery:
    """Tell ``users`` (user objects or ids) that something happened.

    ``key`` identifies the event: a user who already has a notification with this key is skipped (no new row,
    no e-mail). Without a key every call is a new event. E-mail goes out at once, unless the user turned it off,
    prefers the daily digest, or already had ``NOTIFY_EMAIL_HOURLY_LIMIT`` e-mails in the last hour: then the
    row waits for the digest (``mail_pending``). Queries: a fixed number plus one e-mail per recipient mailed now.
    With ``raise_mail_errors`` an e-mail failure is raised after being logged (the reminders roll their claim
    back and retry); otherwise it is recorded and the work goes on.
    """
    key = (key or f"once:{uuid.uuid4().hex}")[:KEY_LENGTH]
    # One line: it is also an e-mail subject (a name typed with a line break must not break the header).
    title = " ".join(title.split())[:TITLE_LENGTH]
    ids = _user_ids(users)
    if not ids:
        return Delivery(0, 0, 0)
    recipients = _recipients(ids, key)
    if not recipients:
        return Delivery(0, 0, 0)
    now_ids, later_ids = _mail_plan(recipients)
    Notification.objects.bulk_create(
        [
            Notification(
                user=user, kind=kind, title=title, body=body, url=url, key=key, mail_pending=user.pk in later_ids
            )
            for user in recipients
        ],
        ignore_conflicts=True,  # a concurrent run gave it first: one row either way
    )
    mailed_now = [user for user in recipients if user.pk in now_ids]
    emailed, failed = _email(mailed_now, kind, title, _text(title, body, url), key, raise_mail_errors)
    if getattr(settings, "NOTIFY_WEBHOOK_URL", "") and not _webhook(kind, key, _text(title, body, url)):
        failed += 1
    return Delivery(len(recipients), emailed, failed)


def _recipients(ids: set[int], key: str) -> list[Any]:
    """The users of ``ids`` still to tell (one query). Skipped: those who already have ``key``, and those who
    left — inactive, or holding no membership any more (superusers excepted: they need none). The ones who left
    are logged (a reminder or a return addressed to them goes nowhere, and an administrator may want to know)."""
    users = (
        get_user_model()
        .objects.filter(pk__in=ids)
        .annotate(
            has_membership=Exists(Membership.objects.filter(user_id=OuterRef("pk"))),
            already=Exists(Notification.objects.filter(user_id=OuterRef("pk"), key=key)),
        )
        .select_related("notification_preference")
        .order_by("pk")
    )
    recipients = []
    left = []
    for user in users:
        if not user.is_active or not (user.has_membership or user.is_superuser):
            left.append(user.pk)
        elif not user.already:
            recipients.append(user)
    if left:
        logger.warning("notification %s: user(s) %s have left (inactive or without a membership), skipped", key, left)
    return recipients


def _mail_plan(recipients: list[Any]) -> tuple[set[int], set[int]]:
    """Who is e-mailed now and whose e-mail waits for the digest (one query for the hourly counts)."""
    wanting = []
    later: set[int] = set()
    for user in recipients:
        preference = getattr(user, "notification_preference", None)
        if not user.email or (preference is not None and not preference.email):
            continue
        if preference is not None and preference.daily_digest:
            later.add(user.pk)
        else:
            wanting.append(user.pk)
    if not wanting:
        return set(), later
    limit = settings.NOTIFY_EMAIL_HOURLY_LIMIT
    since = timezone.now() - datetime.timedelta(hours=1)
    recent = dict(
        Notification.objects.filter(user_id__in=wanting, emailed_at__gte=since)
        .values("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    now = {pk for pk in wanting if recent.get(pk, 0) < limit}
    return now, later | (set(wanting) - now)


def _email(recipients: list[Any], kind: str, title: str, text: str, key: str, raise_errors: bool) -> tuple[int, int]:
    """E-mail each recipient now; the rows of those reached get ``emailed_at``."""
    sent: list[int] = []
    failed = 0
    connection = get_connection()
    for user in recipients:
        try:
            EmailMessage(title, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection).send()
        except Exception as exc:  # noqa: BLE001  (mail server down: the row stays, the admin sees the count)
            logger.warning("notification e-mail %s to user %s failed", key, user.pk, exc_info=True)
            if raise_errors:
                raise
            _record_failure(Channel.EMAIL, kind, key, exc)
            failed += 1
        else:
            sent.append(user.pk)
    if sent:
        Notification.objects.filter(user_id__in=sent, key=key).update(emailed_at=timezone.now())
    return len(sent), failed


def _webhook(kind: str, key: str, text: str) -> bool:
    """Post to the chat webhook; False (logged, recorded) when it failed or is paused after a recent failure.

    A robot that is down would otherwise cost every notification of a run (an hourly reminder run may have
    hundreds) the full timeout: after a failure, posts are skipped for ``WEBHOOK_PAUSE_SECONDS``.
    """
    target = settings.NOTIFY_WEBHOOK_URL
    if time.monotonic() < _webhook_paused_until.get(target, 0.0):
        _record_failure(Channel.WEBHOOK, kind, key, _("群机器人最近投递失败，暂停发送"))
        return False
    try:
        post_webhook(text)
    except WebhookError as exc:
        logger.warning("notification webhook failed for %s: %s", key, exc)
        _record_failure(Channel.WEBHOOK, kind, key, str(exc))
        _webhook_paused_until[target] = time.monotonic() + WEBHOOK_PAUSE_SECONDS
        return False
    return True


def _text(title: str, body: str, url: str) -> str:
    lines = [title]
    if body:
        lines.append(body)
    if url:
        lines.append(absolute(url))
    return "\n".join(lines)


def post_webhook(text: str) -> None:
    """Post ``text`` to the chat robot at ``NOTIFY_WEBHOOK_URL`` (WeCom / DingTalk ``msgtype: text`` JSON).

    Raises WebhookError for a URL that is not http(s), a network error, an HTTP error or a robot that answers
    with a non-zero ``errcode``.
    """
    target = settings.NOTIFY_WEBHOOK_URL
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebhookError(_("群机器人地址无效：{url}").format(url=target[:200]))
    payload = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        target, data=payload, headers={"Content-Type": "application/json; charset=utf-8"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFY_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            answer = response.read(4096)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise WebhookError(f"{exc.__class__.__name__}: {exc}") from exc
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        data = {}
    if isinstance(data, dict) and data.get("errcode") not in (None, 0):
        raise WebhookError(f"errcode {data.get('errcode')}: {str(data.get('errmsg', ''))[:200]}")


# --- Reading and marking ---


def unread_count(user: Any) -> int:
    """The bell's number: one COUNT query."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user: Any, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (Notification.DoesNotExist for anyone else's)."""
    notification = Notification.objects.get(user=user, pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def preference_for(user: Any) -> NotificationPreference:
    """The user's preference row, created with the defaults on first use."""
    preference, _created = NotificationPreference.objects.get_or_create(user=user)
    return preference


def recent_failures(now: datetime.datetime | None = None) -> int:
    """How many deliveries failed in the last ``FAILURE_WINDOW_DAYS`` days (one COUNT; admins' home and list)."""
    since = (now or timezone.now()) - datetime.timedelta(days=FAILURE_WINDOW_DAYS)
    return DeliveryFailure.objects.filter(created_at__gte=since).count()


def latest_failures(limit: int = 5) -> list[DeliveryFailure]:
    """The newest failed deliveries with their errors (one query), for admins who cannot open Django's admin."""
    return list(DeliveryFailure.objects.order_by("-created_at", "-pk")[:limit])


# --- The daily digest ---


def send_digests() -> int:
    """One e-mail per user with their unread notifications whose e-mail was held back (digest preference or
    hourly limit). Idempotent: the rows sent are no longer pending, so a second run finds nothing. A fixed
    number of queries plus one e-mail each. Returns how many digests went out."""
    pending: dict[int, list[Notification]] = defaultdict(list)
    rows = (
        Notification.objects.filter(mail_pending=True, read_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id", "created_at", "pk")
    )
    for row in rows:
        pending[row.user_id].append(row)
    connection = get_connection()
    done: list[int] = []
    digests = 0
    for user_id, items in pending.items():
        subject = _("【每日汇总】您有 {n} 条未读通知").format(n=len(items))
        body = "\n\n".join(_text(item.title, item.body, item.url) for item in items)
        try:
            EmailMessage(
                subject, body, settings.DEFAULT_FROM_EMAIL, [items[0].user.email], connection=connection
            ).send()
        except Exception as exc:  # noqa: BLE001  (still pending: the next run retries)
            logger.warning("digest to user %s failed", user_id, exc_info=True)
            _record_failure(Channel.EMAIL, items[0].kind, "digest", exc)
            continue
        done.extend(item.pk for item in items)
        digests += 1
    now = timezone.now()
    for start in range(0, len(done), 500):
        Notification.objects.filter(pk__in=done[start : start + 500]).update(mail_pending=False, emailed_at=now)
    # What was read meanwhile needs no e-mail any more; old failure records have been seen.
    Notification.objects.filter(mail_pending=True, read_at__isnull=False).update(mail_pending=False)
    DeliveryFailure.objects.filter(created_at__lt=timezone.now() - datetime.timedelta(days=FAILURE_KEEP_DAYS)).delete()
    return digests
