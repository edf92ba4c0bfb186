"""Evidence files are served through a view that checks the user's scope (issue 16): never as public /media/ files.
In production the web server sends the file after the check (X-Accel-Redirect to nginx's internal location)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from targets.models import Target, TargetNote
from tests.targets.test_target_pages import plan, q1  # noqa: F401  # the page's fixtures

PDF = b"%PDF-1.4\n% evidence of the milestone\n"


def _note(users, plan) -> TargetNote:  # noqa: ANN001, F811
    target = Target.objects.get(plan=plan, code="T16")  # a milestone owned by S1, scope CITY
    note = TargetNote(target=target, author=users.alice, text="主体结构已封顶")
    note.evidence.save("progress-report.pdf", SimpleUploadedFile("progress-report.pdf", PDF), save=True)
    return note


def _url(note: TargetNote) -> str:
    return reverse("plans:note_evidence", args=[note.target.plan.code, note.target.code, note.pk])


def test_the_evidence_goes_to_the_owner_and_the_scope_only(client: Client, users, plan) -> None:  # noqa: ANN001, F811
    note = _note(users, plan)
    for user in (users.bea, users.ivan, users.alice):  # admin and inspector of CITY; the owner school
        client.force_login(user)
        response = client.get(_url(note))
        assert response.status_code == 200, user
        assert response.getvalue() == PDF
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (users.rob, users.nobody):  # a district reviewer elsewhere, no role: as if there were no file
        client.force_login(user)
        assert client.get(_url(note)).status_code == 404
    client.logout()
    assert client.get(_url(note)).status_code == 302  # to the log-in page


def test_with_a_web_server_location_the_file_is_handed_over(client: Client, users, plan) -> None:  # noqa: ANN001, F811
    note = _note(users, plan)
    client.force_login(users.bea)
    with override_settings(PROTECTED_MEDIA_REDIRECT="/protected-media/"):
        response = client.get(_url(note))
        client.force_login(users.rob)
        refused = client.get(_url(note))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{note.evidence.name}"
    assert response.content == b""
    assert refused.status_code == 404
    assert "X-Accel-Redirect" not in refused


def test_the_notes_page_links_the_view_not_the_media_url(client: Client, users, plan) -> None:  # noqa: ANN001, F811
    note = _note(users, plan)
    client.force_login(users.bea)
    page = client.get(reverse("plans:target_notes", args=[plan.code, "T16"])).content.decode()
    assert _url(note) in page
    assert "/media/" not in page
