"""Issue 16: large request bodies are taken only by the upload views, and only from signed-in users.

Django's 2.5 MB cap on form data (DATA_UPLOAD_MAX_MEMORY_SIZE) holds everywhere else; the refusal comes
from the declared length, before anything reads the body. The test client's FakePayload fails the test
if anything reads past the bytes actually sent, so a tiny body declared as 9 MB proves nothing read it.
"""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from submissions.models import Value
from tests.submissions.test_xlsx_support import download, fill

NINE_MB = str(9 * 1024 * 1024)
DJANGO_FORM_DATA_CAP = 2_621_440  # Django's default DATA_UPLOAD_MAX_MEMORY_SIZE


def test_django_keeps_its_small_form_data_cap() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == DJANGO_FORM_DATA_CAP
    assert settings.MAX_UPLOAD_BYTES == 10 * 1024 * 1024


def test_an_anonymous_nine_mb_post_to_the_login_page_is_refused_unread(client: Client, db: None) -> None:
    response = client.generic(
        "POST", reverse("login"), b"u", CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=NINE_MB
    )
    assert response.status_code == 413
    assert "请求内容过大" in response.content.decode()


def test_an_anonymous_three_mb_form_field_to_the_login_page_is_refused(client: Client, db: None) -> None:
    body = b"username=x&password=" + b"a" * (3 * 1024 * 1024)
    response = client.generic("POST", reverse("login"), body, CONTENT_TYPE="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_an_anonymous_large_post_to_an_upload_page_is_refused_unread(client: Client, db: None) -> None:
    for url in (reverse("submissions:template_upload"), "/api/v1/submissions/upload/", reverse("plans:plan_import")):
        response = client.generic(
            "POST", url, b"x", CONTENT_TYPE="multipart/form-data; boundary=x", CONTENT_LENGTH=NINE_MB
        )
        assert response.status_code == 413, url


def test_a_signed_in_large_post_to_a_page_that_takes_no_files_is_refused_unread(client: Client, users) -> None:  # noqa: ANN001
    client.force_login(users.rita)
    for url in (reverse("submissions:review_bulk_approve"), "/api/v1/org-units/"):
        response = client.generic(
            "POST", url, b"x", CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=NINE_MB
        )
        assert response.status_code == 413, url
    api = client.generic("POST", "/api/v1/org-units/", b"x", CONTENT_TYPE="application/json", CONTENT_LENGTH=NINE_MB)
    assert "请求内容过大" in api.json()["errors"]["file"][0]


def test_an_invalid_token_does_not_open_the_upload_limit(client: Client, db: None) -> None:
    response = client.generic(
        "POST",
        "/api/v1/submissions/upload/",
        b"x",
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=NINE_MB,
        HTTP_AUTHORIZATION="Token " + "0" * 40,
    )
    assert response.status_code == 413


def _with_picture(content: bytes, size: int = 3 * 1024 * 1024) -> bytes:
    """The workbook with an incompressible picture part: a real template pasted with a photo, > 2.5 MB."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/media/image1.png", b"\x89PNG\r\n\x1a\n" + os.urandom(size))
    return out.getvalue()


@pytest.fixture
def big_template(client: Client, users, setup) -> bytes:  # noqa: ANN001
    client.force_login(users.alice)
    content = _with_picture(fill(download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): 100}))
    assert len(content) > DJANGO_FORM_DATA_CAP
    return content


def _named(content: bytes) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = "填报.xlsx"
    return stream


def test_a_signed_in_upload_of_a_realistic_workbook_still_works(client: Client, big_template: bytes) -> None:
    response = client.post(reverse("submissions:template_upload"), {"period": "2023Q1", "file": _named(big_template)})
    assert response.status_code == 200, response.content.decode()[:500]
    assert "导入成功" in response.content.decode()
    assert Value.objects.get(figure__code="pri_new_entrants").value == 100


def test_a_token_upload_of_a_realistic_workbook_still_works(big_template: bytes, users) -> None:  # noqa: ANN001
    token = Token.objects.create(user=users.alice)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post("/api/v1/submissions/upload/", {"period": "2023Q1", "file": _named(big_template)})
    assert response.status_code == 200, response.content.decode()[:500]
    assert response.json()["values_changed"] == 1


def test_a_signed_in_evidence_file_over_the_form_data_cap_is_accepted(client: Client, users, tree) -> None:  # noqa: ANN001
    from plans.models import Plan, Section
    from targets.models import Target, TargetKind, TargetNote

    plan = Plan.objects.create(code="p", title="计划", year=2023, owner_unit=tree.city)
    section = Section.objects.create(plan=plan, code="equity", title="公平")
    target = Target.objects.create(
        plan=plan, section=section, code="m", text="新校交付", kind=TargetKind.MILESTONE, scope=tree.d1,
        owner_unit=tree.s1,
    )  # fmt: skip
    client.force_login(users.alice)
    evidence = io.BytesIO(b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024))
    evidence.name = "proof.pdf"
    url = reverse("plans:target_notes", kwargs={"code": plan.code, "target": target.code})
    response = client.post(url, {"text": "已完成", "evidence": evidence})
    assert response.status_code == 302
    assert TargetNote.objects.get().evidence.size > DJANGO_FORM_DATA_CAP


def test_admin_change_forms_take_files_from_active_staff_only(rf, users) -> None:  # noqa: ANN001
    # Admin pages carry evidence files (targets' notes, designations): staff may post up to the upload cap.
    from django.contrib.auth.models import AnonymousUser
    from django.urls import resolve

    from portal.middleware import RequestSizeLimitMiddleware

    view = resolve("/admin/plans/plan/add/").func
    middleware = RequestSizeLimitMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    users.bea.is_staff = True
    for user, expected in ((users.bea, None), (users.alice, 413), (AnonymousUser(), 413)):
        request = rf.post("/admin/plans/plan/add/", b"x", content_type="multipart/form-data; boundary=x")
        request.META["CONTENT_LENGTH"] = NINE_MB
        request.user = user
        response = middleware.process_view(request, view, (), {})
        assert (response and response.status_code) == expected, user
