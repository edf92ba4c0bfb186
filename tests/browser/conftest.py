"""Browser journeys: Debian's Chromium driven by Playwright against a live server holding the demo.

The demo world is "December 2023": the clock is moved (time-machine, ticking) to 2023-12-11, when
2023Q4 is the open quarter of the demo plan, so a principal's figures reach the 2023 dashboard.
Each journey module loads the demo once (``call_command("load_demo")``, a few seconds) into the
test database, serves it with its own live server thread and flushes the database afterwards, so
the rest of the suite still starts from an empty database. Tests here must not use the ``db`` /
``transactional_db`` fixtures (their transaction or flush would swallow the server's writes); they
ask for ``site`` (the live server's address) and reach the database through helpers decorated with
``browser_support.django_side``.

Without /usr/bin/chromium the tests skip, unless REQUIRE_BROWSER=1 (CI), where they fail.
Screenshots of every step: ``artifacts/screenshots/<journey>/NN-step.png``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEFAULT_TIMEOUT_MS,
    DEMO_NOW,
    DemoSite,
    Journey,
    outside_playwright_loop,
)
from django.core.management import call_command

from portal.celery import app as celery_app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: journeys in real Chromium (Playwright); `make browser` runs them")


# --- The browser ---


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's build: Playwright's download is not used)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- The demo world ---


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django creates test databases only when a selected test declares database use (the db
    fixtures or the django_db mark); the journeys use the database without them (see the module
    docstring), so when they run alone the test database is created here."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    connection = connections["default"]
    if connection.settings_dict["NAME"] == connection.creation._get_test_db_name():
        yield  # set up already, for the other tests of the session
        return
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="module")
def demo_site(django_db_setup: None, django_db_blocker: Any, chromium: Any) -> Iterator[DemoSite]:
    """The demo loaded into the test database at 2023-12-11, served by a live server thread."""
    from django.test.utils import modify_settings
    from pytest_django.live_server_helper import LiveServer

    # The journeys rely on Celery running tasks in-process (recomputes after approval); say so here rather
    # than trust that no earlier test left the shared app publishing to a broker.
    celery_conf = celery_app.conf
    was_eager = celery_conf.task_always_eager
    celery_conf.task_always_eager = True
    traveller = time_machine.travel(DEMO_NOW, tick=True)
    traveller.start()
    try:
        with django_db_blocker.unblock(), outside_playwright_loop():
            call_command("load_demo", stdout=io.StringIO())
            server = LiveServer("localhost")
            hosts = modify_settings(ALLOWED_HOSTS={"append": "localhost"})
            hosts.enable()
        try:
            with django_db_blocker.unblock():
                yield DemoSite(server.url)
        finally:
            with django_db_blocker.unblock(), outside_playwright_loop():
                hosts.disable()
                server.stop()
                call_command("flush", interactive=False, verbosity=0)
    finally:
        traveller.stop()
        celery_conf.task_always_eager = was_eager


@pytest.fixture
def site(demo_site: DemoSite) -> DemoSite:
    """``site("/path")`` → the live server's URL; while it is up, ``@django_side`` helpers use its database."""
    return demo_site


@pytest.fixture
def new_page(chromium: Any, demo_site: DemoSite) -> Iterator[Any]:
    """``new_page()`` → a page in a fresh browser context (own cookies), Chinese browser locale."""
    contexts: list[Any] = []

    def make(locale: str = "zh-CN") -> Any:
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def journey() -> type[Journey]:
    """``journey("01-principal")`` → a Journey writing to artifacts/screenshots/01-principal/."""
    return Journey
