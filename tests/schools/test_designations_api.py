"""Designation kinds, grants, revocations and the bulk import through the API; unit creation refusals."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from rest_framework.test import APIClient

from indicators.models import Aggregation, Indicator, PendingRecompute
from portal.models import ConfigChange
from schools.models import Designation, DesignationKind, OrgUnit, Role
from submissions.models import Period
from tests.conftest import Personas, Tree, make_user


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def dan(tree: Tree):  # noqa: ANN201
    """A bureau admin of the district D1 only."""
    return make_user("dan", tree.d1, Role.BUREAU_ADMIN)


@pytest.fixture
def kind(db: None) -> DesignationKind:
    return DesignationKind.objects.create(code="quality_kg", name="优质园", levels=["province", "city"])


def xlsx(rows: list[list[Any]], title: str = "认定") -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("grants.xlsx", buffer.getvalue())


HEADER: list[object] = ["单位代码", "认定类别代码", "级别", "认定日期", "备注"]

# --- kinds ---


def test_a_bureau_admin_creates_and_edits_kinds_with_levels(tree: Tree, users: Personas) -> None:
    created = api(users.bea).post(
        "/api/v1/designation-kinds/",
        {"code": "model_kg", "name": "示范园", "levels": ["city", "province"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["levels"] == ["province", "city"]  # in the choices' order
    patched = api(users.bea).patch("/api/v1/designation-kinds/model_kg/", {"name": "示范幼儿园"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert DesignationKind.objects.get(code="model_kg").name == "示范幼儿园"
    assert ConfigChange.objects.filter(object_repr="示范幼儿园").exists()
    assert api(users.alice).get("/api/v1/designation-kinds/").status_code == 200


def test_kind_refusals(tree: Tree, users: Personas, dan, kind: DesignationKind) -> None:  # noqa: ANN001
    duplicate = api(users.bea).post(
        "/api/v1/designation-kinds/", {"code": "quality_kg", "name": "又一个"}, format="json"
    )
    assert duplicate.status_code == 400
    assert duplicate.json() == {"errors": {"code": ["认定类别代码“quality_kg”已存在。"]}}
    unknown = api(users.bea).post(
        "/api/v1/designation-kinds/", {"code": "x", "name": "x", "levels": ["galactic"]}, format="json"
    )
    assert unknown.status_code == 400
    assert "galactic" in unknown.json()["errors"]["levels"][0]
    # Kinds are shared by the whole tree: a district's admin and a reviewer may not make one.
    assert api(dan).post("/api/v1/designation-kinds/", {"code": "d", "name": "d"}, format="json").status_code == 403
    assert (
        api(users.rob).post("/api/v1/designation-kinds/", {"code": "r", "name": "r"}, format="json").status_code == 403
    )
    assert DesignationKind.objects.count() == 1


# --- grants and revocations ---


def test_grant_with_evidence_then_revoke_with_a_date_and_a_note(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    Period.objects.create(
        code="2025Q2", year=2025, quarter=2, opens_on="2025-04-01", due_on="2025-07-10", locks_on="2025-08-01"
    )
    Indicator.objects.create(code="q", name="q", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind)
    evidence = SimpleUploadedFile("批文.pdf", b"%PDF-1.4 award", content_type="application/pdf")
    created = api(users.bea).post(
        "/api/v1/designations/",
        {"org_unit": "K2", "kind": "quality_kg", "level": "province", "granted_on": "2025-06-30", "evidence": evidence},
        format="multipart",
    )
    assert created.status_code == 201, created.json()
    designation = Designation.objects.get()
    assert designation.evidence.name.endswith(".pdf")
    assert PendingRecompute.objects.filter(org_unit=tree.k2).exists()  # the count targets will follow
    assert ConfigChange.objects.filter(object_id=str(designation.pk), action="create").exists()  # the audit trail

    too_early = api(users.bea).post(
        f"/api/v1/designations/{designation.pk}/revoke/", {"revoked_on": "2025-01-01"}, format="json"
    )
    assert too_early.status_code == 400
    assert too_early.json()["errors"]["revoked_on"] == ["撤销日期不能早于认定日期。"]
    revoked = api(users.bea).post(
        f"/api/v1/designations/{designation.pk}/revoke/",
        {"revoked_on": "2025-09-01", "note": "复核未通过"},
        format="json",
    )
    assert revoked.status_code == 200, revoked.json()
    assert revoked.json()["revoked_on"] == "2025-09-01"
    assert revoked.json()["revoke_note"] == "复核未通过"
    again = api(users.bea).post(f"/api/v1/designations/{designation.pk}/revoke/", {"revoked_on": "2025-10-01"})
    assert again.status_code == 400
    designation.refresh_from_db()
    assert designation.revoked_on == datetime.date(2025, 9, 1)


def test_grant_refusals(tree: Tree, users: Personas, dan, kind) -> None:  # noqa: ANN001
    national = api(users.bea).post(
        "/api/v1/designations/",
        {"org_unit": "K1", "kind": "quality_kg", "level": "national", "granted_on": "2025-06-30"},
        format="json",
    )
    assert national.status_code == 400
    assert national.json()["errors"]["level"] == ["“优质园”的认定级别只能是：省级、市级。"]
    # A district admin grants inside the district only; outside it the unit reads as unknown (400, not 403).
    outside = api(dan).post(
        "/api/v1/designations/", {"org_unit": "K2", "kind": "quality_kg", "granted_on": "2025-06-30"}, format="json"
    )
    assert outside.status_code == 400
    inside = api(dan).post(
        "/api/v1/designations/",
        {"org_unit": "K1", "kind": "quality_kg", "level": "city", "granted_on": "2025-06-30"},
        format="json",
    )
    assert inside.status_code == 201, inside.json()
    duplicate = api(dan).post(
        "/api/v1/designations/",
        {"org_unit": "K1", "kind": "quality_kg", "level": "city", "granted_on": "2025-06-30"},
        format="json",
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"non_field_errors": ["该单位在同一日期已有同类认定"]}
    other = Designation.objects.create(org_unit=tree.k2, kind=kind, level="city", granted_on=datetime.date(2025, 1, 1))
    # Revoking a grant outside the admin's scope: the grant is not even found.
    assert api(dan).post(f"/api/v1/designations/{other.pk}/revoke/", {"revoked_on": "2025-09-01"}).status_code == 404
    # A reviewer who sees the grant may not revoke it.
    assert (
        api(users.rob).post(f"/api/v1/designations/{other.pk}/revoke/", {"revoked_on": "2025-09-01"}).status_code == 403
    )
    other.refresh_from_db()
    assert other.revoked_on is None
    assert Designation.objects.count() == 2


# --- bulk import ---


def test_import_grants_every_row(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    upload = xlsx(
        [
            HEADER,
            ["K1", "quality_kg", "省级", "2025-06-30", "第一批"],
            ["K2", "quality_kg", "city", datetime.date(2025, 7, 1), None],
        ]
    )
    response = api(users.bea).post("/api/v1/designations/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert sorted(Designation.objects.values_list("org_unit__code", "level")) == [("K1", "province"), ("K2", "city")]


def test_import_is_all_or_nothing_with_errors_by_cell(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    upload = xlsx(
        [
            HEADER,
            ["K1", "quality_kg", "省级", "2025-06-30", ""],  # fine
            ["NOPE", "quality_kg", "省级", "2025-06-30", ""],  # unknown unit
            ["K2", "nokind", "省级", "2025-06-30", ""],  # unknown kind
            ["K2", "quality_kg", "国家级", "not a date", ""],  # level not allowed, bad date
            ["K2", "quality_kg", "=1+1", "2025-06-30", ""],  # a formula
            ["K1", "quality_kg", "省级", "2025-06-30", ""],  # the same grant as row 2
        ]
    )
    response = api(users.bea).post("/api/v1/designations/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) >= {"认定!A3", "认定!B4", "认定!C5", "认定!D5", "认定!C6", "认定!D7"}, errors
    assert "第 3 行" in errors["认定!A3"][0]
    assert not Designation.objects.exists()


def test_import_refuses_units_outside_scope_and_unsafe_files(tree: Tree, users: Personas, dan, kind) -> None:  # noqa: ANN001
    upload = xlsx(
        [HEADER, ["K1", "quality_kg", "市级", "2025-06-30", ""], ["K2", "quality_kg", "市级", "2025-06-30", ""]]
    )
    response = api(dan).post("/api/v1/designations/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["认定!A3"]  # K2 is in D2: not confirmed to exist
    not_xlsx = SimpleUploadedFile("grants.xlsx", b"code,kind\nK1,quality_kg\n")
    assert (
        api(users.bea).post("/api/v1/designations/import/", {"file": not_xlsx}, format="multipart").status_code == 400
    )
    no_header = xlsx([["foo", "bar"], ["K1", "quality_kg"]])
    refused = api(users.bea).post("/api/v1/designations/import/", {"file": no_header}, format="multipart")
    assert refused.status_code == 400
    assert "缺少列" in str(refused.json())
    assert api(users.rita).post("/api/v1/designations/import/", {"file": upload}, format="multipart").status_code == 403
    assert not Designation.objects.exists()


# --- org units ---


def test_only_a_superuser_creates_a_root_unit(tree: Tree, users: Personas, dan) -> None:  # noqa: ANN001
    body = {"code": "ORPHAN", "name": "孤儿单位", "level": "district"}
    for admin in (dan, users.bea):
        refused = api(admin).post("/api/v1/org-units/", body, format="json")
        assert refused.status_code == 403
        assert refused.json()["errors"]["detail"] == ["只有系统管理员可以创建顶级单位；请选择您管辖范围内的上级单位。"]
    moved = api(dan).patch("/api/v1/org-units/T1/", {"parent": None}, format="json")
    assert moved.status_code == 403
    assert OrgUnit.objects.get(code="T1").parent == tree.d1
    assert not OrgUnit.objects.filter(code="ORPHAN").exists()
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    assert api(root).post("/api/v1/org-units/", body, format="json").status_code == 201
    # A district admin still creates under their own district, not under another one.
    child = {"code": "T9", "name": "新学区", "level": "township"}
    assert api(dan).post("/api/v1/org-units/", {**child, "parent": "D1"}, format="json").status_code == 201
    assert (
        api(dan).post("/api/v1/org-units/", {**child, "code": "T8", "parent": "D2"}, format="json").status_code == 400
    )


def test_a_duplicate_code_and_bad_dates_get_readable_messages(tree: Tree, users: Personas) -> None:
    body = {"code": "S1", "name": "重复", "level": "school", "parent": "T1", "school_type": "vocational"}
    duplicate = api(users.bea).post("/api/v1/org-units/", body, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"]["code"] == ["单位代码已被其他单位使用，请换一个代码。"]
    dates = {**body, "code": "V1", "opened_on": "2025-09-01", "closed_on": "2025-01-01"}
    assert api(users.bea).post("/api/v1/org-units/", dates, format="json").json()["errors"]["closed_on"]
    opened = api(users.bea).post("/api/v1/org-units/", {**dates, "closed_on": None}, format="json")
    assert opened.status_code == 201, opened.json()
    assert opened.json()["school_type"] == "vocational"
    assert opened.json()["opened_on"] == "2025-09-01"


def test_import_reads_columns_by_header_and_names_the_real_sheet(tree: Tree, users: Personas, kind) -> None:  # noqa: ANN001
    reordered = xlsx(
        [
            ["认定日期", "级别", "认定类别代码", "单位代码"],
            ["2025-06-30", "省级", "quality_kg", "K1"],
            ["x", "", "quality_kg", "K2"],
        ],
        title="Sheet1",
    )
    response = api(users.bea).post("/api/v1/designations/import/", {"file": reordered}, format="multipart")
    assert response.status_code == 400
    # The date column is A here, the level column B (the kind is awarded at given levels only: empty is refused).
    assert sorted(response.json()["errors"]) == ["Sheet1!A3", "Sheet1!B3"]
    assert not Designation.objects.exists()
