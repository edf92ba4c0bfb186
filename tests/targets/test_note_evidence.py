"""Evidence files are served through a view that checks the user's scope (issue 16): never as public /media/ files.
In production the web server sends the file after the check (X-Accel-Redirect to nginx's internal location)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import InMemoryStorage
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


def test_with_a_web_server_location_the_file_is_handed_over(client: Client, users, plan, tmp_path) -> None:  # noqa: ANN001, F811
    on_disk = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    with override_settings(STORAGES=on_disk, MEDIA_ROOT=tmp_path):
        note = _note(users, plan)
    client.force_login(users.bea)
    with override_settings(PROTECTED_MEDIA_REDIRECT="/protected-media/", STORAGES=on_disk, MEDIA_ROOT=tmp_path):
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


class BucketStorage(InMemoryStorage):
    """An object store as the S3 backend is one: nothing on the local disk, open() and signed URLs."""

    def url(self, name: str | None) -> str:
        return f"https://bucket.example.org/{name}?X-Amz-Signature=secret"


def test_from_object_storage_the_file_is_streamed_through_the_scope_check(client: Client, users, plan) -> None:  # noqa: ANN001, F811
    bucket = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.BucketStorage"}}
    # The nginx location is set too: nginx cannot read a bucket, so the view must not hand over to it.
    with override_settings(STORAGES=bucket, PROTECTED_MEDIA_REDIRECT="/protected-media/"):
        note = _note(users, plan)
        assert isinstance(note.evidence.storage, BucketStorage)
        client.force_login(users.bea)
        response = client.get(_url(note))
        client.force_login(users.rob)
        refused = client.get(_url(note))
    assert response.status_code == 200
    assert response.getvalue() == PDF
    assert "X-Accel-Redirect" not in response
    assert "bucket.example.org" not in str(response.headers)  # no signed URL leaves the portal
    assert response["Content-Disposition"].startswith("attachment;")
    assert refused.status_code == 404
