"""Org-unit and designation API: natural keys, scope (404 reads, 403 writes), error format."""

from __future__ import annotations

from rest_framework.test import APIClient

from schools.models import Designation, DesignationKind, OrgUnit
from tests.conftest import Personas, Tree


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_is_silently_filtered_to_the_callers_scope(tree: Tree, users: Personas) -> None:
    codes = [row["code"] for row in api(users.rita).get("/api/v1/org-units/").json()["results"]]
    assert codes == ["D1", "T1", "S1", "S2", "K1"]
    row = api(users.alice).get("/api/v1/org-units/").json()["results"][0]
    assert row == {
        "code": "S1",
        "name": "东区中心小学",
        "name_en": "",
        "level": "school",
        "parent": "T1",
        "school_type": "primary",
        "ownership": "public",
        "is_central": True,
        "is_active": True,
        "opened_on": None,
        "closed_on": None,
    }


def test_filters_by_parent_level_and_type(tree: Tree, users: Personas) -> None:
    rows = api(users.ivan).get("/api/v1/org-units/?parent=T1&school_type=primary").json()["results"]
    assert [r["code"] for r in rows] == ["S1", "S2"]


def test_reading_another_schools_unit_is_not_found(tree: Tree, users: Personas) -> None:
    assert api(users.alice).get("/api/v1/org-units/S3/").status_code == 404
    assert api(users.alice).get("/api/v1/org-units/S1/").status_code == 200


def test_writes_outside_scope_or_role_are_forbidden_and_change_nothing(tree: Tree, users: Personas) -> None:
    response = api(users.alice).patch("/api/v1/org-units/S3/", {"name": "hacked"}, format="json")
    assert response.status_code == 403
    assert "errors" in response.json()
    assert api(users.rita).patch("/api/v1/org-units/S1/", {"name": "x"}, format="json").status_code == 403
    assert OrgUnit.objects.get(code="S3").name == "西区实验小学"
    assert OrgUnit.objects.get(code="S1").name == "东区中心小学"


def test_bureau_admin_creates_a_school_under_a_township(tree: Tree, users: Personas) -> None:
    response = api(users.bea).post(
        "/api/v1/org-units/",
        {
            "code": "S9",
            "name": "新建小学",
            "level": "school",
            "parent": "T1",
            "school_type": "primary",
            "ownership": "public",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    unit = OrgUnit.objects.get(code="S9")
    assert unit.path.startswith(tree.t1.path)


def test_validation_errors_use_the_error_format_in_chinese_and_english(tree: Tree, users: Personas) -> None:
    payload = {"code": "X1", "name": "错", "level": "district", "parent": "CITY", "school_type": "primary"}
    zh = api(users.bea).post("/api/v1/org-units/", payload, format="json")
    assert zh.status_code == 400
    assert zh.json() == {"errors": {"school_type": ["只有学校/幼儿园有学校类型。"]}}
    unknown_parent = api(users.bea).post(
        "/api/v1/org-units/", {**payload, "school_type": "", "parent": "NOPE"}, format="json"
    )
    assert "NOPE" in unknown_parent.json()["errors"]["parent"][0]
    assert not OrgUnit.objects.filter(code="X1").exists()


def test_a_unit_cannot_move_under_its_own_descendant(tree: Tree, users: Personas) -> None:
    response = api(users.bea).patch("/api/v1/org-units/D1/", {"parent": "S1"}, format="json")
    assert response.status_code == 400
    assert OrgUnit.objects.get(code="D1").parent == tree.city


def test_designations_are_created_by_code_and_scoped(tree: Tree, users: Personas) -> None:
    DesignationKind.objects.create(code="standard_kg", name="标准化幼儿园")
    created = api(users.bea).post(
        "/api/v1/designations/",
        {"org_unit": "K2", "kind": "standard_kg", "level": "city", "granted_on": "2023-05-01"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert api(users.rita).get("/api/v1/designations/").json()["results"] == []
    assert len(api(users.rob).get("/api/v1/designations/").json()["results"]) == 1
    refused = api(users.rob).post(
        "/api/v1/designations/",
        {"org_unit": "K2", "kind": "standard_kg", "granted_on": "2023-06-01"},
        format="json",
    )
    assert refused.status_code == 403
    bad_dates = api(users.bea).post(
        "/api/v1/designations/",
        {"org_unit": "K2", "kind": "standard_kg", "granted_on": "2023-06-01", "revoked_on": "2023-01-01"},
        format="json",
    )
    assert bad_dates.status_code == 400
    assert Designation.objects.count() == 1


def test_anonymous_callers_get_401_or_403(db: None) -> None:
    assert APIClient().get("/api/v1/org-units/").status_code in {401, 403}
