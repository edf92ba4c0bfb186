"""The designation pages: kinds, grant (unit picker, evidence), revoke, evidence downloads, Excel import."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from schools.models import Designation, DesignationKind, Role
from tests.conftest import Personas, Tree, make_user


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def kind(db: None) -> DesignationKind:
    return DesignationKind.objects.create(code="quality_kg", name="优质园", levels=["province"])


def workbook(*rows: list[object]) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.title = "认定"
    sheet.append(["单位代码", "认定类别代码", "级别", "认定日期", "备注"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("grants.xlsx", buffer.getvalue())


def test_kinds_are_created_on_the_page_and_a_taken_code_reads_clearly(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    client = signed_in(users.bea)
    url = reverse("schools:designation_kinds")
    created = client.post(url, {"code": "model_kg", "name": "示范园", "levels": ["city", "county"]})
    assert created.status_code == 302
    assert DesignationKind.objects.get(code="model_kg").levels == ["city", "county"]
    page = client.get(url).content.decode()
    assert "市级、县级" in page
    duplicate = client.post(url, {"code": "quality_kg", "name": "又一个"})
    assert duplicate.status_code == 200
    assert "认定类别代码“quality_kg”已存在。" in duplicate.content.decode()
    assert DesignationKind.objects.count() == 2
    # A reader sees the kinds without the form.
    assert "新建认定类别" not in signed_in(users.alice).get(url).content.decode()


def test_grant_on_the_page_with_a_unit_picker_and_evidence(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    client = signed_in(users.bea)
    url = reverse("schools:designation_grant")
    form = client.get(url).content.decode()
    assert 'data-unit-picker="1"' in form
    assert "js/unit-picker.js" in form
    bad_file = SimpleUploadedFile("award.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    data = {"org_unit": tree.k1.pk, "kind": kind.pk, "level": "province", "granted_on": "2025-06-30"}
    refused = client.post(url, {**data, "evidence": bad_file})
    assert refused.status_code == 200
    assert "只接受 PDF" in refused.content.decode()
    assert not Designation.objects.exists()
    wrong_level = client.post(url, {**data, "level": "national"})
    assert "“优质园”的认定级别只能是：省级。" in wrong_level.content.decode()
    pdf = SimpleUploadedFile("批文.pdf", b"%PDF-1.4 award", content_type="application/pdf")
    assert client.post(url, {**data, "evidence": pdf}).status_code == 302
    designation = Designation.objects.get()
    assert (designation.org_unit, designation.level) == (tree.k1, "province")
    # The evidence: an attachment for users who see the unit, a 404 for the others.
    download = reverse("schools:designation_evidence", kwargs={"pk": designation.pk, "which": "grant"})
    response = signed_in(users.rita).get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response.getvalue() == b"%PDF-1.4 award"
    assert signed_in(users.rob).get(download).status_code == 404
    listing = signed_in(users.rita).get(reverse("schools:designation_list")).content.decode()
    assert "东区第一幼儿园" in listing
    assert download in listing
    assert "东区第一幼儿园" not in signed_in(users.rob).get(reverse("schools:designation_list")).content.decode()


def test_a_school_outside_the_admins_scope_cannot_be_chosen(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    dan = make_user("dan", tree.d1, Role.BUREAU_ADMIN)
    data = {"org_unit": tree.k2.pk, "kind": kind.pk, "level": "province", "granted_on": "2025-06-30"}
    response = signed_in(dan).post(reverse("schools:designation_grant"), data)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Designation.objects.exists()


def test_revoke_on_the_page(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    designation = Designation.objects.create(
        org_unit=tree.k1, kind=kind, level="province", granted_on=datetime.date(2025, 6, 30)
    )
    client = signed_in(users.bea)
    url = reverse("schools:designation_revoke", kwargs={"pk": designation.pk})
    early = client.post(url, {"revoked_on": "2025-01-01"})
    assert "撤销日期不能早于认定日期。" in early.content.decode()
    note = SimpleUploadedFile("复核.pdf", b"%PDF-1.4 review", content_type="application/pdf")
    assert client.post(url, {"revoked_on": "2025-12-01", "note": "复核未通过", "evidence": note}).status_code == 302
    designation.refresh_from_db()
    assert (designation.revoked_on, designation.revoke_note) == (datetime.date(2025, 12, 1), "复核未通过")
    assert designation.revoke_evidence.name.endswith(".pdf")


def test_import_on_the_page_lists_bad_cells_and_stores_nothing(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    client = signed_in(users.bea)
    url = reverse("schools:designation_import")
    bad = client.post(
        url, {"file": workbook(["K1", "quality_kg", "省级", "2025-06-30"], ["K1", "quality_kg", "市级", "2025-07-01"])}
    )
    assert bad.status_code == 200
    assert "“认定”表第 3 行 C 列（级别）" in bad.content.decode()
    assert not Designation.objects.exists()
    good = client.post(
        url, {"file": workbook(["K1", "quality_kg", "省级", "2025-06-30"], ["K2", "quality_kg", "省", "2025-07-01"])}
    )
    assert good.status_code == 302
    assert Designation.objects.count() == 2
    template = client.get(reverse("schools:designation_import_template"))
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_list_page_reads_a_constant_number_of_queries(
    tree: Tree,
    users: Personas,
    kind,
    django_assert_max_num_queries,  # noqa: ANN001
) -> None:
    client = signed_in(users.bea)
    client.get(reverse("schools:designation_list"))  # warm the session
    for day in range(1, 4):
        Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2025, 1, day))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("schools:designation_list"))
    for day in range(4, 30):
        Designation.objects.create(org_unit=tree.k2, kind=kind, granted_on=datetime.date(2025, 1, day))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("schools:designation_list"))
