"""Log-in page in Chinese, lock-out by username + IP, language switch, API tokens."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD, Personas


def test_login_page_is_in_chinese_by_default(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in body
    for word in ("用户名", "密码", "登录"):
        assert word in body


def test_an_english_browser_still_gets_chinese_pages_but_english_api_errors(client: Client, db: None) -> None:
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="zh-CN">' in page.content.decode()
    api = client.get("/api/v1/org-units/", HTTP_ACCEPT_LANGUAGE="en")
    assert api.json()["errors"]["detail"] == ["Authentication credentials were not provided."]
    api_zh = client.get("/api/v1/org-units/")
    assert api_zh.json()["errors"]["detail"] == ["身份认证信息未提供。"]


def test_login_page_switches_to_english_with_the_language_cookie(client: Client, db: None) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in page


def test_pages_require_log_in(client: Client, db: None) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_principal_logs_in_and_sees_their_role(client: Client, users: Personas) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert "校长/园长" in body
    assert "东区中心小学" in body


def test_repeated_wrong_passwords_lock_out_that_username_from_that_ip(
    client: Client, users: Personas, settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    locked = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert locked.status_code == 429
    assert "登录已被暂时锁定" in locked.content.decode()
    # Schools share an IP: another user from the same address can still log in.
    other = Client()
    ok = other.post(reverse("login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert ok.status_code == 302


def test_create_api_token_command_prints_a_working_token(client: Client, users: Personas) -> None:
    out = StringIO()
    call_command("create_api_token", "ivan", stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get(user=users.ivan).key == key
    response = client.get("/api/v1/org-units/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_profile_page_creates_and_revokes_a_token(client: Client, users: Personas) -> None:
    client.force_login(users.alice)
    client.post(reverse("token_create"))
    page = client.get(reverse("profile")).content.decode()
    key = Token.objects.get(user=users.alice).key
    assert key in page
    # shown once only
    assert key not in client.get(reverse("profile")).content.decode()
    client.post(reverse("token_revoke"))
    assert not Token.objects.filter(user=users.alice).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_token_views_need_log_in(client: Client, db: None, method: str) -> None:
    response = getattr(client, method)(reverse("token_create"))
    assert response.status_code in {302, 405}
