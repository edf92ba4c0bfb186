"""Production security settings, checked on the real settings module and on real responses.

Production mode (DEBUG=0 with the required environment) is loaded in a subprocess, exactly as gunicorn
would load it; the rest runs against the test settings, which import the same module.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Personas, Tree

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "portal.example.org"
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "DEBUG": "0",
    "DATABASE_URL": "postgres://portal:secret@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": HOST,
    "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
}
DUMPED = [
    "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "CONTENT_SECURITY_POLICY", "AXES_LOCKOUT_PARAMETERS", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME",
    "MAX_UPLOAD_BYTES", "DATA_UPLOAD_MAX_MEMORY_SIZE", "MIDDLEWARE",
]  # fmt: skip


def _production(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50), **(env or {})}
    environ = {k: v for k, v in environ.items() if v is not None}
    return subprocess.run(  # noqa: S603  (our own interpreter and manage.py, no shell)
        [sys.executable, *args], cwd=BASE_DIR, env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def production() -> dict[str, object]:
    """The settings as production loads them (DEBUG=0, required variables set)."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{name: getattr(settings, name) for name in {DUMPED!r}}}, default=str))"
    )
    result = _production("-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_and_short_lived(production: dict[str, object]) -> None:
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    # Office use: a working day at most, and the session ends with the browser.
    assert 0 < int(production["SESSION_COOKIE_AGE"]) <= 8 * 3600
    assert production["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True


def test_production_forces_https_with_hsts(production: dict[str, object]) -> None:
    assert production["SECURE_SSL_REDIRECT"] is True
    assert int(production["SECURE_HSTS_SECONDS"]) >= 31_536_000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"


def test_production_hosts_and_csrf_origins_come_from_the_environment(production: dict[str, object]) -> None:
    assert production["ALLOWED_HOSTS"] == [HOST]
    assert production["CSRF_TRUSTED_ORIGINS"] == [f"https://{HOST}"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without_a_required_variable(missing: str) -> None:
    result = _production("-c", "import django; django.setup()", env={missing: ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_the_deploy_check_has_no_warnings() -> None:
    result = _production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- Content-Security-Policy ---


def csp_problems(header: str) -> list[str]:
    """What is wrong with a CSP header for this portal (empty when it is strict enough)."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    problems = []
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append("no script-src or default-src")
    else:
        for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            if unsafe in scripts:
                problems.append(f"script-src allows {unsafe}")
    if directives.get("object-src") != ["'none'"]:
        problems.append("object-src is not 'none'")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    if "base-uri" not in directives:
        problems.append("no base-uri")
    return problems


def test_the_csp_check_itself_catches_unsafe_inline_scripts() -> None:
    assert csp_problems("default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'") == [
        "script-src allows 'unsafe-inline'",
        "frame-ancestors is not 'none'",
        "no base-uri",
    ]


@pytest.mark.parametrize("persona", [None, "alice", "bea"])
def test_every_kind_of_response_carries_a_strict_csp(client: Client, users: Personas, persona: str | None) -> None:
    if persona:
        client.force_login(getattr(users, persona))
    urls = ["/accounts/login/"] if persona is None else ["/", "/plans/", "/api/v1/org-units/", "/no-such-page/"]
    for url in urls:
        response = client.get(url)
        header = response.headers.get("Content-Security-Policy", "")
        assert csp_problems(header) == [], f"{url}: {header}"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _templates() -> list[Path]:
    roots = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return [path for root in roots for path in root.rglob("*.html") if ".venv" not in path.parts]


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    # The CSP would block them in the browser: the page would silently lose its behaviour.
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, re.compile(r"javascript:", re.IGNORECASE)):
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(BASE_DIR)}: {match.group(0)[:60]}")
    assert len(_templates()) > 20
    assert found == []


def test_the_api_docs_page_has_no_inline_script(client: Client, users: Personas) -> None:
    client.force_login(users.bea)
    response = client.get(reverse("api_docs"))
    page = response.content.decode()
    assert response.status_code == 200
    assert INLINE_SCRIPT.findall(page) == []
    # The split view serves its init script from the same URL ('self' under the CSP).
    script = client.get(reverse("api_docs") + "?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


# --- Log-in throttling, passwords, sessions ---


def _login(client: Client, username: str, password: str, ip: str) -> int:
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip).status_code


def test_log_in_locks_one_username_at_one_address_then_cools_off(users: Personas) -> None:
    school_ip, home_ip = "10.1.1.1", "10.2.2.2"
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        # the form again for each wrong password; the last allowed failure already answers "locked"
        expected = 429 if attempt == settings.AXES_FAILURE_LIMIT else 200
        assert _login(Client(), "alice", "wrong-password", school_ip) == expected
    # given alice is locked at the school's address, even with the right password
    assert _login(Client(), "alice", PASSWORD, school_ip) == 429
    # then bob, behind the same school IP, still logs in (lock-out is username + IP, never IP alone)
    assert _login(Client(), "bob", PASSWORD, school_ip) == 302
    # and alice from another address too
    assert _login(Client(), "alice", PASSWORD, home_ip) == 302
    # after the cool-off she gets in from the school again
    assert _login(Client(), "alice", PASSWORD, school_ip) == 429
    later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    with time_machine.travel(later):
        assert _login(Client(), "alice", PASSWORD, school_ip) == 302


def test_lock_out_is_by_username_and_ip_with_a_cool_off() -> None:
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert 0 < settings.AXES_COOLOFF_TIME <= 1  # hours
    assert settings.AXES_FAILURE_LIMIT <= 10


@pytest.mark.parametrize("password", ["Short-pw-12", "123456789012345", "password1234"])
def test_weak_passwords_are_refused(users: Personas, password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, users.alice)


def test_a_long_unusual_password_is_accepted_and_the_minimum_is_twelve(users: Personas) -> None:
    validate_password("Kindergarten-Dawn-7319", users.alice)
    with pytest.raises(ValidationError) as caught:
        validate_password("Qx7!mZ2#pL9", users.alice)  # 11 characters, otherwise strong
    assert any("12" in message for message in caught.value.messages), caught.value.messages


def test_the_password_change_page_refuses_a_short_password(client: Client, users: Personas) -> None:
    client.force_login(users.alice)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Qx7!mZ2#pL9", "new_password2": "Qx7!mZ2#pL9"},
    )
    assert response.status_code == 200
    assert "12" in response.content.decode()
    users.alice.refresh_from_db()
    assert users.alice.check_password(PASSWORD)


def test_a_session_ends_with_the_browser_and_within_a_working_day(client: Client, users: Personas) -> None:
    assert _login(client, "alice", PASSWORD, "10.3.3.3") == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert cookie["httponly"]
    assert 0 < client.session.get_expiry_age() <= 8 * 3600


# --- Upload size caps ---


def test_upload_caps_are_set() -> None:
    assert settings.MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= settings.MAX_UPLOAD_BYTES
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= settings.MAX_UPLOAD_BYTES
    assert "portal.middleware.RequestSizeLimitMiddleware" in settings.MIDDLEWARE


def test_an_oversized_request_is_refused_before_its_body_is_read(client: Client, users: Personas) -> None:
    client.force_login(users.bea)
    declared = str(settings.MAX_UPLOAD_BYTES + 2 * 1024 * 1024)
    # The body is 1 byte: had anything tried to read the declared 12 MB, the test client would fail.
    url = reverse("plans:plan_import")
    response = client.generic(
        "POST", url, b"x", CONTENT_TYPE="multipart/form-data; boundary=x", CONTENT_LENGTH=declared
    )
    assert response.status_code == 413
    assert "文件过大" in response.content.decode()


def test_an_oversized_api_request_gets_the_error_format(client: Client, users: Personas) -> None:
    client.force_login(users.bea)
    declared = str(settings.MAX_UPLOAD_BYTES + 2 * 1024 * 1024)
    response = client.generic(
        "POST", "/api/v1/org-units/", b"{}", CONTENT_TYPE="application/json", CONTENT_LENGTH=declared
    )
    assert response.status_code == 413
    assert "文件过大" in response.json()["errors"]["file"][0]


def test_an_evidence_file_over_the_cap_is_refused_by_the_form(client: Client, users: Personas, tree: Tree) -> None:
    from plans.models import Plan, Section
    from targets.models import Target, TargetKind, TargetNote

    plan = Plan.objects.create(code="p", title="计划", year=2023, owner_unit=tree.city)
    section = Section.objects.create(plan=plan, code="equity", title="公平")
    target = Target.objects.create(
        plan=plan, section=section, code="m", text="新校交付", kind=TargetKind.MILESTONE, scope=tree.d1,
        owner_unit=tree.s1,
    )  # fmt: skip
    client.force_login(users.alice)
    evidence = io.BytesIO(b"%PDF-1.7\n" + b"0" * settings.MAX_UPLOAD_BYTES)
    evidence.name = "proof.pdf"
    url = reverse("plans:target_notes", kwargs={"code": plan.code, "target": target.code})
    response = client.post(url, {"text": "已完成", "evidence": evidence})
    assert response.status_code == 200
    assert "文件过大" in response.content.decode()
    assert TargetNote.objects.count() == 0
