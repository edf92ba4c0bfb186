"""The language switch in the page header, driven as a browser drives it (no browser needed).

The client enforces CSRF and sends the Accept-Language of the browser; the only thing that may change a
page's language is the cookie the switch sets. The browser journey in English (tests/browser) walks the same
path in Chromium.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Personas

CHINESE_BROWSER = "zh-CN,zh;q=0.9"
ENGLISH_BROWSER = "en-US,en;q=0.9"


def html_lang(body: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', body)
    assert match, body[:300]
    return match.group(1)


def header_form_token(body: str) -> str:
    """The CSRF token of the language form (the first form of the page, in the header)."""
    form = body[body.index('class="langswitch"') :]
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match, form[:300]
    return match.group(1)


@pytest.fixture
def browser(db: None) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=CHINESE_BROWSER)


def test_english_chosen_on_the_login_page_stays_after_log_in(browser: Client, users: Personas) -> None:
    # given: the log-in page, in Chinese
    page = browser.get(reverse("login"))
    assert html_lang(page.content.decode()) == "zh-CN"

    # when: English is chosen with the header's switch (the select posts its form)
    switched = browser.post(
        reverse("set_language"),
        {"csrfmiddlewaretoken": header_form_token(page.content.decode()), "language": "en", "next": reverse("login")},
    )

    # then: back on the log-in page, in English
    assert switched.status_code == 302
    assert switched["Location"] == reverse("login")
    cookie = switched.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["path"] == "/"
    login_page = browser.get(switched["Location"]).content.decode()
    assert html_lang(login_page) == "en"
    assert "<h1>Log in</h1>" in login_page

    # when: the user logs in through that page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    assert token
    home = browser.post(
        reverse("login"),
        {"csrfmiddlewaretoken": token.group(1), "username": "ivan", "password": PASSWORD},
        follow=True,
    )
    # then: the pages after log-in are still English
    assert home.redirect_chain
    assert home.redirect_chain[-1][0] == reverse("home")
    body = home.content.decode()
    assert html_lang(body) == "en"
    assert "Log out" in body
    assert html_lang(browser.get(reverse("reports:dashboard")).content.decode()) == "en"


def test_switching_back_to_chinese_on_an_english_browser(db: None) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE=ENGLISH_BROWSER)
    browser.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert html_lang(browser.get(reverse("login")).content.decode()) == "en"
    browser.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    assert html_lang(browser.get(reverse("login")).content.decode()) == "zh-CN"


@pytest.mark.parametrize("cookie", ["fr", "", "xx-yy", "en" * 300])
def test_a_language_cookie_naming_no_portal_language_means_chinese_not_the_browser_language(
    db: None, cookie: str
) -> None:
    # given: an English browser carrying a language cookie the switch never set (another app on the host,
    # an older version); the pages must not fall back to the browser's language
    browser = Client(HTTP_ACCEPT_LANGUAGE=ENGLISH_BROWSER)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    assert html_lang(browser.get(reverse("login")).content.decode()) == "zh-CN"


@pytest.mark.parametrize(("cookie", "lang"), [("en", "en"), ("en-us", "en"), ("zh-hans", "zh-CN"), ("zh-cn", "zh-CN")])
def test_language_cookie_variants_pick_the_portal_language(db: None, cookie: str, lang: str) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE=CHINESE_BROWSER if lang == "en" else ENGLISH_BROWSER)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    assert html_lang(browser.get(reverse("login")).content.decode()) == lang


def test_the_api_negotiates_the_language_also_under_a_script_prefix(db: None) -> None:
    # Served under /portal (SCRIPT_NAME), request.path is /portal/api/...: the API is still recognised.
    client = Client()
    reply = client.get("/api/v1/org-units/", HTTP_ACCEPT_LANGUAGE="en", SCRIPT_NAME="/portal")
    assert reply.json()["errors"]["detail"] == ["Authentication credentials were not provided."]
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en", SCRIPT_NAME="/portal")
    assert html_lang(page.content.decode()) == "zh-CN"
