"""404, 403 and 500 pages in the site's layout and the reader's language; the favicon; the language menu."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.utils import translation
from django.views.defaults import server_error

from tests.conftest import Personas


def reader(language: str) -> Client:
    """A browser that chose ``language`` with the language menu (pages follow the cookie, not the browser)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.django_db
@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("language", "heading", "home"),
    [("zh-hans", "<h1>页面不存在</h1>", "返回首页"), ("en", "<h1>Page not found</h1>", "Back to home")],
)
def test_a_missing_page_answers_in_the_layout_and_the_readers_language(
    users: Personas, language: str, heading: str, home: str
) -> None:
    client = reader(language)
    client.force_login(users.alice)
    response = client.get("/plans/no-such-plan-here/")
    assert response.status_code == 404
    body = response.content.decode()
    assert heading in body
    assert home in body
    assert 'class="topbar"' in body  # the site's layout, with its navigation for the signed-in user
    assert "alice" in body


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_a_missing_page_renders_for_a_visitor_who_is_not_signed_in() -> None:
    response = reader("en").get("/no-such-page/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_a_forbidden_page_says_who_to_ask_in_the_readers_language(users: Personas) -> None:
    zh, en = reader("zh-hans"), reader("en")
    for client in (zh, en):
        client.force_login(users.alice)  # a principal may not create plans
    zh_page, en_page = zh.get("/plans/new/"), en.get("/plans/new/")
    assert zh_page.status_code == en_page.status_code == 403
    assert "<h1>没有权限</h1>" in zh_page.content.decode()
    assert "教育局管理员" in zh_page.content.decode()
    assert "<h1>Permission denied</h1>" in en_page.content.decode()
    assert 'class="topbar"' in en_page.content.decode()


@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "<h1>服务器错误</h1>"), ("en", "<h1>Server error</h1>")])
def test_the_500_page_renders_without_a_database_or_a_request_context(language: str, heading: str) -> None:
    # No django_db mark: pytest-django fails any database access here, so this proves the page needs none.
    with translation.override(language):
        response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert heading in body
    assert 'rel="icon"' in body  # the site's layout ...
    assert "csrfmiddlewaretoken" not in body  # ... without the language form, which could not pass its CSRF check


@pytest.mark.django_db
def test_every_page_links_the_favicon_and_favicon_ico_leads_to_it(users: Personas) -> None:
    client = Client()
    client.force_login(users.alice)
    body = client.get("/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', body)
    assert icon is not None
    assert icon.group(1).endswith("img/favicon.svg")
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301
    assert redirect["Location"] == icon.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_language_menu_names_each_language_in_itself(users: Personas, language: str) -> None:
    client = reader(language)
    client.force_login(users.alice)
    body = client.get("/").content.decode()
    menu = body[body.index('id="lang-select"') : body.index("</select>")]
    assert re.search(r'<option value="zh-hans" lang="zh-hans"[^>]*>简体中文</option>', menu)
    assert re.search(r'<option value="en" lang="en"[^>]*>English</option>', menu)
    assert "Simplified Chinese" not in menu
