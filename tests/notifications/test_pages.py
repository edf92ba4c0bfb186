"""The bell, the notification list (mark read, mark all read), the preferences form and the API."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import services
from notifications.models import DeliveryFailure, Kind, Notification, NotificationPreference


def _many(user, count: int, start: int = 0) -> None:  # noqa: ANN001
    for i in range(start, start + count):
        services.notify([user], Kind.APPROVED, f"通知{i}", f"正文{i}", "/submissions/", key=f"k{i}")


def _queries(client, url: str) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_bell_shows_the_unread_count_and_pages_do_not_grow_with_notifications(client, users):
    _many(users.alice, 3)
    client.force_login(users.alice)
    page = client.get(reverse("notifications:list")).content.decode()
    assert 'class="badge badge-count">3</span>' in page
    assert "通知2" in page
    assert "正文2" in page

    few = {url: _queries(client, url) for url in (reverse("home"), reverse("notifications:list"))}
    _many(users.alice, 120, start=3)
    many = {url: _queries(client, url) for url in (reverse("home"), reverse("notifications:list"))}
    assert many == few
    assert ">99+</span>" in client.get(reverse("home")).content.decode()


def test_marking_one_read_opens_its_link_and_nobody_else_can(client, users):
    _many(users.alice, 2)
    mine = Notification.objects.get(key="k1")
    client.force_login(users.bob)
    assert client.post(reverse("notifications:read", args=[mine.pk]), {"open": "1"}).url == reverse(
        "notifications:list"
    )
    mine.refresh_from_db()
    assert mine.read_at is None

    client.force_login(users.alice)
    response = client.post(reverse("notifications:read", args=[mine.pk]), {"open": "1"})
    assert response.url == "/submissions/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'class="badge badge-count">1</span>' in client.get(reverse("home")).content.decode()

    client.post(reverse("notifications:read_all"))
    assert not Notification.objects.filter(user=users.alice, read_at__isnull=True).exists()
    assert "badge-count" not in client.get(reverse("home")).content.decode()


def test_an_outside_link_is_never_followed(client, users):
    services.notify([users.alice], Kind.APPROVED, "x", url="https://evil.example/", key="evil")
    client.force_login(users.alice)
    note = Notification.objects.get()
    assert client.post(reverse("notifications:read", args=[note.pk]), {"open": "1"}).url == reverse(
        "notifications:list"
    )


def test_preferences_are_saved(client, users):
    client.force_login(users.rita)
    assert client.get(reverse("notifications:preferences")).status_code == 200
    client.post(reverse("notifications:preferences"), {"email": "on", "daily_digest": "on"})
    preference = NotificationPreference.objects.get(user=users.rita)
    assert (preference.email, preference.daily_digest) == (True, True)


def test_admins_see_the_failed_deliveries_others_do_not(client, users):
    DeliveryFailure.objects.create(channel="webhook", kind=Kind.OVERDUE, error="URLError")
    DeliveryFailure.objects.create(channel="email", kind=Kind.OVERDUE, error="OSError")
    client.force_login(users.bea)
    assert "最近 7 天有 2 次通知投递失败" in client.get(reverse("notifications:list")).content.decode()
    client.force_login(users.alice)
    assert "投递失败" not in client.get(reverse("notifications:list")).content.decode()


def test_english_pages_are_english(client, users, settings):
    _many(users.alice, 1)
    client.force_login(users.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("notifications:list")).content.decode()
    assert "Mark all as read" in page
    assert "Notifications (1 unread)" in page


# --- API ---


def test_the_api_lists_only_the_callers_own_paginated(client, users):
    _many(users.alice, 3)
    _many(users.bob, 2, start=10)
    client.force_login(users.alice)
    data = client.get("/api/v1/notifications/", {"limit": 2}).json()
    assert data["count"] == 3
    assert [row["title"] for row in data["results"]] == ["通知2", "通知1"]
    assert set(data["results"][0]) == {"id", "kind", "title", "body", "url", "created_at", "read_at", "is_read"}
    assert data["next"]


def test_the_api_marks_read_and_refuses_anyone_elses(client, users):
    _many(users.alice, 2)
    mine = Notification.objects.get(key="k0")
    client.force_login(users.bob)
    assert client.post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 404
    client.force_login(users.alice)
    response = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["is_read"] is True
    unread = client.get("/api/v1/notifications/", {"unread": "1"}).json()
    assert [row["title"] for row in unread["results"]] == ["通知1"]


def test_the_endpoints_are_in_the_schema(client, users):
    client.force_login(users.alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/notifications/" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/notifications/{id}/read/"]
