"""Issue 16: API tokens expire and die with a password change, the new-token page is not cached, the
password-change form limits guesses, and the API is throttled when rates are set."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD, Personas

NEW_PASSWORD = "a-much-longer-new-passphrase-2024"


def _api(token: Token) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def test_a_token_older_than_the_ttl_is_refused(users: Personas, settings) -> None:  # noqa: ANN001
    settings.API_TOKEN_TTL_DAYS = 90
    token = Token.objects.create(user=users.alice)
    assert _api(token).get("/api/v1/org-units/").status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - datetime.timedelta(days=91))
    response = _api(token).get("/api/v1/org-units/")
    assert response.status_code == 401
    assert "已过期" in response.json()["errors"]["detail"][0]


def test_the_ttl_is_ninety_days_by_default_and_zero_means_never(users: Personas, settings) -> None:  # noqa: ANN001
    from portal import settings as real

    assert real.API_TOKEN_TTL_DAYS == 90
    settings.API_TOKEN_TTL_DAYS = 0
    token = Token.objects.create(user=users.alice)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - datetime.timedelta(days=3650))
    assert _api(token).get("/api/v1/org-units/").status_code == 200


def test_changing_the_password_on_the_page_revokes_the_token(client: Client, users: Personas) -> None:
    token = Token.objects.create(user=users.alice)
    client.force_login(users.alice)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not Token.objects.filter(user=users.alice).exists()
    assert _api(token).get("/api/v1/org-units/").status_code == 401


def test_a_password_set_anywhere_revokes_the_token_but_a_hash_upgrade_does_not(users: Personas, settings) -> None:  # noqa: ANN001
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
    alice = users.alice
    alice.password = make_password(PASSWORD, hasher="scrypt")
    alice.save()
    token = Token.objects.create(user=alice)
    # Log-in rehashes the same password with the preferred hasher: not a password change.
    assert Client().post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("md5$")
    assert Token.objects.filter(pk=token.pk).exists()
    # The admin, a reset or `changepassword` all end in set_password + save.
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert not Token.objects.filter(user=alice).exists()


def test_the_page_showing_a_new_token_is_not_stored_by_any_cache(client: Client, users: Personas) -> None:
    client.force_login(users.alice)
    created = client.post(reverse("token_create"))
    assert "no-store" in created["Cache-Control"]
    page = client.get(reverse("profile"))
    assert Token.objects.get(user=users.alice).key in page.content.decode()
    assert "no-store" in page["Cache-Control"]


def test_wrong_old_passwords_on_the_change_form_end_the_session(client: Client, users: Personas, settings) -> None:  # noqa: ANN001
    settings.PASSWORD_CHANGE_FAILURE_LIMIT = 5
    client.force_login(users.alice)
    url = reverse("password_change")
    for attempt in range(4):
        wrong = client.post(url, {"old_password": f"guess-{attempt}", "new_password1": NEW_PASSWORD,
                                  "new_password2": NEW_PASSWORD})  # fmt: skip
        assert wrong.status_code == 200
    fifth = client.post(url, {"old_password": "guess-5", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert fifth.status_code == 302
    assert fifth["Location"] == reverse("login")
    # The session is gone: the right old password does not change anything now.
    right = client.post(url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert right.status_code == 302
    assert right["Location"].startswith(reverse("login"))
    users.alice.refresh_from_db()
    assert users.alice.check_password(PASSWORD)
    page = client.get(reverse("login"))
    assert "旧密码错误次数过多" in page.content.decode()


def test_the_count_of_wrong_old_passwords_cannot_be_reset_by_the_session_holder(
    client: Client, users: Personas, settings
) -> None:  # noqa: ANN001
    settings.PASSWORD_CHANGE_FAILURE_LIMIT = 2
    client.force_login(users.alice)
    url = reverse("password_change")
    bad = {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(url, bad).status_code == 200
    client.get(reverse("profile"))  # other pages in between do not reset it
    assert client.post(url, bad).status_code == 302
    assert client.get(reverse("profile")).status_code == 302  # signed out


@pytest.fixture
def throttled(settings):  # noqa: ANN001, ANN201
    cache.clear()
    yield settings
    cache.clear()


def test_the_api_throttles_a_signed_in_user_when_a_rate_is_set(users: Personas, throttled) -> None:  # noqa: ANN001
    throttled.API_THROTTLE_USER_RATE = "3/minute"
    api = _api(Token.objects.create(user=users.alice))
    assert [api.get("/api/v1/org-units/").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/v1/org-units/")
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert refused.json()["errors"]["detail"]
    # Another user has their own allowance.
    assert _api(Token.objects.create(user=users.bob)).get("/api/v1/org-units/").status_code == 200


def test_the_anonymous_rate_is_per_address(db: None, throttled, rf) -> None:  # noqa: ANN001
    # Every API endpoint needs a user, so DRF answers 401 before throttling an anonymous request (its order:
    # authenticate, permissions, throttles); the anonymous rate guards any endpoint that opens to everyone.
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from portal.api import AnonThrottle

    throttled.API_THROTTLE_ANON_RATE = "2/minute"
    request = Request(rf.get("/api/v1/org-units/", REMOTE_ADDR="10.9.9.9"))
    request.user = AnonymousUser()
    assert [AnonThrottle().allow_request(request, APIView()) for _ in range(3)] == [True, True, False]
    other = Request(rf.get("/api/v1/org-units/", REMOTE_ADDR="10.9.9.10"))
    other.user = AnonymousUser()
    assert AnonThrottle().allow_request(other, APIView())


def test_throttling_is_on_by_default_in_production_settings() -> None:
    from portal import settings as real

    assert real.API_THROTTLE_ANON_RATE
    assert real.API_THROTTLE_USER_RATE
    assert "portal.api.UserThrottle" in list(real.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"])  # type: ignore[call-overload]
