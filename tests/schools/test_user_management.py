"""Users and memberships managed by bureau administrators within their scope (issue 13 §4): the service's rules,
the pages, the API, the Excel import (all-or-nothing, errors by cell) and the audit trail of each channel."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from portal.models import ConfigChange
from portal.xlsx import ImportErrors
from schools import user_import
from schools import users_service as service
from schools.models import Membership, Role
from tests.conftest import Personas, Tree, make_user

User = get_user_model()


@pytest.fixture
def dina(tree: Tree, users: Personas) -> Any:
    """A bureau administrator of district D1 only."""
    return make_user("dina", tree.d1, Role.BUREAU_ADMIN)


def web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def membership_changes(**lookup: Any) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(content_type__model="membership", **lookup).order_by("pk"))


# --- The service's rules ---


def test_a_district_admin_sees_only_users_with_a_membership_in_the_district(dina: Any, users: Personas) -> None:
    names = set(service.manageable_users(dina).values_list("username", flat=True))
    assert names == {"alice", "kate", "rita", "dina"}
    assert "bob" in set(service.manageable_users(users.bea).values_list("username", flat=True))
    assert not service.manageable_users(users.rita).exists()  # a reviewer manages nobody


def test_granting_outside_the_scope_or_without_admin_is_refused_and_writes_nothing(
    tree: Tree, users: Personas, dina: Any
) -> None:
    with pytest.raises(service.Refused) as refused:
        service.add_membership(dina, users.alice, tree.d2, Role.REVIEWER)
    assert refused.value.status_code == 403
    assert "不在您的管理范围内" in refused.value.errors["org_unit"][0]
    with pytest.raises(service.Refused):  # the city itself is above the district admin
        service.add_membership(dina, users.alice, tree.city, Role.BUREAU_ADMIN)
    with pytest.raises(service.Refused):  # a reviewer cannot promote herself
        service.add_membership(users.rita, users.rita, tree.d1, Role.BUREAU_ADMIN)
    assert not Membership.objects.filter(user__in=[users.alice, users.rita], role=Role.BUREAU_ADMIN).exists()
    assert not Membership.objects.filter(user=users.alice, org_unit=tree.d2).exists()


def test_no_role_above_the_actors_own_on_the_unit(
    tree: Tree, users: Personas, dina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.role_rank_on(dina, tree.s1) == service.ROLE_RANK[Role.BUREAU_ADMIN]
    assert service.role_rank_on(dina, tree.s3) == 0
    assert service.role_rank_on(users.rita, tree.s1) == service.ROLE_RANK[Role.REVIEWER]
    # The rank rule itself: an actor holding ADMIN through a role ranked below the one granted is refused.
    monkeypatch.setitem(service.ROLE_RANK, Role.BUREAU_ADMIN, 1)  # as if an admin ranked as a principal
    with pytest.raises(service.Refused) as refused:
        service.add_membership(dina, users.alice, tree.s1, Role.REVIEWER)
    assert "不能授予高于您自己的角色" in refused.value.errors["role"][0]
    assert not Membership.objects.filter(user=users.alice, role=Role.REVIEWER).exists()


def test_a_district_admin_cannot_edit_a_user_who_also_holds_a_role_outside(
    tree: Tree, users: Personas, dina: Any
) -> None:
    Membership.objects.create(user=users.bea, org_unit=tree.d1, role=Role.INSPECTOR)  # bea is now visible to dina
    assert service.manageable_users(dina).filter(pk=users.bea.pk).exists()
    with pytest.raises(service.Refused):
        service.update_user(dina, users.bea, service.UserFields(email="evil@example.org"))
    with pytest.raises(service.Refused):
        service.set_active(dina, users.bea, False)
    users.bea.refresh_from_db()
    assert (users.bea.email, users.bea.is_active) == ("bea@example.org", True)
    # ... but may take away the D1 role (a membership inside her scope, not above her role).
    service.remove_membership(dina, Membership.objects.get(user=users.bea, org_unit=tree.d1))
    assert Membership.objects.filter(user=users.bea).count() == 1


def test_deactivating_keeps_the_user_and_oneself_cannot_be_deactivated(users: Personas, dina: Any) -> None:
    service.set_active(dina, users.alice, False)
    users.alice.refresh_from_db()
    assert users.alice.is_active is False
    assert Membership.objects.filter(user=users.alice).exists()  # history and roles are kept
    with pytest.raises(service.ServiceError):
        service.set_active(dina, dina, False)


def test_a_duplicate_username_or_membership_gets_a_readable_message(tree: Tree, users: Personas, dina: Any) -> None:
    with pytest.raises(service.ServiceError) as error:
        service.create_user(dina, service.UserFields(username="alice"), tree.s1, Role.PRINCIPAL)
    assert error.value.errors["username"] == ["用户名“alice”已被使用。"]
    with pytest.raises(service.ServiceError) as error:
        service.add_membership(dina, users.alice, tree.s1, Role.PRINCIPAL)
    assert "已是校长/园长" in error.value.errors["non_field_errors"][0]


def test_a_district_admin_must_give_a_new_user_a_unit(dina: Any) -> None:
    with pytest.raises(service.ServiceError) as error:
        service.create_user(dina, service.UserFields(username="lost"), None, None)
    assert "org_unit" in error.value.errors
    assert not User.objects.filter(username="lost").exists()


# --- Pages ---


def test_the_user_list_is_scoped_and_refused_to_non_admins(users: Personas, dina: Any) -> None:
    page = web(dina).get("/schools/users/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "alice" in text
    assert "rita" in text
    assert "bob" not in text
    assert "rob" not in text
    refused = web(users.rita).get("/schools/users/")
    assert refused.status_code == 403
    assert "只有教育局管理员可以管理用户" in refused.content.decode()


def test_the_user_list_query_count_does_not_grow_with_users(
    tree: Tree, users: Personas, django_assert_max_num_queries: Any
) -> None:
    client = web(users.bea)
    client.get("/schools/users/")
    for index in range(15):
        make_user(f"extra{index}", tree.s2, Role.PRINCIPAL)
    with django_assert_max_num_queries(12):
        assert client.get("/schools/users/").status_code == 200


def test_creating_a_user_on_the_page_with_a_membership_is_audited_as_web(tree: Tree, dina: Any) -> None:
    response = web(dina).post(
        "/schools/users/new/",
        {"username": "newp", "name": "王校长", "email": "newp@example.org", "is_active": "on", "password": "",
         "org_unit": tree.s2.pk, "role": Role.PRINCIPAL},
    )  # fmt: skip
    assert response.status_code == 302
    user = User.objects.get(username="newp")
    assert (user.first_name, user.is_active, user.has_usable_password()) == ("王校长", True, False)
    membership = Membership.objects.get(user=user)
    assert (membership.org_unit, membership.role) == (tree.s2, Role.PRINCIPAL)
    [change] = membership_changes(object_id=str(membership.pk))
    assert (change.action, change.channel, change.user) == ("create", "web", dina)


def test_a_page_refusal_is_a_403_with_a_translated_message(tree: Tree, users: Personas, dina: Any) -> None:
    Membership.objects.create(user=dina, org_unit=tree.city, role=Role.INSPECTOR)  # sees the city, admin of D1
    response = web(dina).post(
        f"/schools/users/{users.alice.username}/memberships/add/", {"org_unit": tree.s3.pk, "role": Role.REVIEWER}
    )
    assert response.status_code == 403
    assert "不在您的管理范围内" in response.content.decode()
    assert not Membership.objects.filter(user=users.alice, org_unit=tree.s3).exists()
    # An unseen user's page is not found; the English page says the refusal in English.
    assert web(dina).get(f"/schools/users/{users.bob.username}/edit/").status_code == 404
    english = web(dina)
    english.cookies["django_language"] = "en"
    response = english.post(
        f"/schools/users/{users.alice.username}/memberships/add/",
        {"org_unit": tree.s3.pk, "role": Role.REVIEWER},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert "not within the units you administer" in response.content.decode()


def test_edit_add_remove_and_deactivate_on_the_pages(tree: Tree, users: Personas, dina: Any) -> None:
    client = web(dina)
    page = client.get(f"/schools/users/{users.alice.username}/edit/")
    assert page.status_code == 200
    assert 'data-unit-picker="1"' in page.content.decode()
    response = client.post(
        f"/schools/users/{users.alice.username}/edit/",
        {"username": "alice", "name": "李校长", "email": "li@example.org", "is_active": "on", "password": ""},
    )
    assert response.status_code == 302
    users.alice.refresh_from_db()
    assert (users.alice.first_name, users.alice.email) == ("李校长", "li@example.org")
    assert (
        client.post(
            "/schools/users/alice/memberships/add/", {"org_unit": tree.s2.pk, "role": Role.PRINCIPAL}
        ).status_code
        == 302
    )
    added = Membership.objects.get(user=users.alice, org_unit=tree.s2)
    assert client.post(f"/schools/users/alice/memberships/{added.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=added.pk).exists()
    assert [c.action for c in membership_changes(object_id=str(added.pk))] == ["create", "delete"]
    assert client.post("/schools/users/alice/active/", {"active": "0"}).status_code == 302
    users.alice.refresh_from_db()
    assert users.alice.is_active is False
    assert User.objects.filter(username="alice").exists()


# --- API ---


def test_the_api_lists_users_in_scope_with_cursor_paging(users: Personas, dina: Any) -> None:
    body = api(dina).get("/api/v1/users/?cursor=&limit=2").json()
    assert "count" not in body
    assert body["next"]
    first = [row["username"] for row in body["results"]]
    second = [row["username"] for row in api(dina).get(body["next"]).json()["results"]]
    assert sorted(first + second) == ["alice", "dina", "kate", "rita"]
    row = api(dina).get("/api/v1/users/alice/").json()
    assert row["memberships"] == [{"id": Membership.objects.get(user=users.alice).pk, "org_unit": "S1",
                                   "role": "principal"}]  # fmt: skip
    assert api(dina).get("/api/v1/users/bob/").status_code == 404
    assert api(users.rita).get("/api/v1/users/").status_code == 403


def test_the_api_creates_and_patches_users_within_scope(tree: Tree, users: Personas, dina: Any) -> None:
    response = api(dina).post(
        "/api/v1/users/",
        {"username": "apiu", "name": "赵老师", "email": "", "org_unit": "K1", "role": "principal"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["memberships"][0]["org_unit"] == "K1"
    created = Membership.objects.get(user__username="apiu")
    assert membership_changes(object_id=str(created.pk))[0].channel == "api"
    outside = api(dina).post(
        "/api/v1/users/", {"username": "apiv", "org_unit": "S3", "role": "principal"}, format="json"
    )
    assert outside.status_code == 400
    assert "S3" in outside.json()["errors"]["org_unit"][0]
    assert not User.objects.filter(username="apiv").exists()
    patched = api(dina).patch("/api/v1/users/alice/", {"is_active": False}, format="json")
    assert patched.status_code == 200
    assert patched.json()["is_active"] is False
    refused = api(dina).patch("/api/v1/users/bob/", {"email": "x@example.org"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["errors"]
    users.bob.refresh_from_db()
    assert users.bob.email == "bob@example.org"


def test_the_membership_api_refuses_escalation_with_403(tree: Tree, users: Personas, dina: Any) -> None:
    Membership.objects.create(user=dina, org_unit=tree.city, role=Role.INSPECTOR)  # sees the city, admin of D1
    escalate = api(dina).post(
        "/api/v1/memberships/", {"user": "dina", "org_unit": "CITY", "role": "bureau_admin"}, format="json"
    )
    assert escalate.status_code == 403
    assert "不在您的管理范围内" in escalate.json()["errors"]["org_unit"][0]
    own = Membership.objects.get(user=users.rita)
    moved = api(dina).patch(f"/api/v1/memberships/{own.pk}/", {"org_unit": "D2"}, format="json")
    assert moved.status_code == 403
    self_promotion = api(users.rita).post(
        "/api/v1/memberships/", {"user": "rita", "org_unit": "D1", "role": "bureau_admin"}, format="json"
    )
    assert self_promotion.status_code == 403
    assert not Membership.objects.filter(role=Role.BUREAU_ADMIN, user__in=[dina, users.rita], org_unit=tree.city)
    assert Membership.objects.get(pk=own.pk).org_unit == tree.d1


def test_the_membership_api_creates_patches_and_lists(tree: Tree, users: Personas, dina: Any) -> None:
    client = api(dina)
    created = client.post("/api/v1/memberships/", {"user": "kate", "org_unit": "T1", "role": "inspector"},
                          format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    duplicate = client.post("/api/v1/memberships/", {"user": "kate", "org_unit": "T1", "role": "inspector"},
                            format="json")  # fmt: skip
    assert duplicate.status_code == 400
    assert "已是督学" in duplicate.json()["errors"]["non_field_errors"][0]
    patched = client.patch(f"/api/v1/memberships/{pk}/", {"role": "reviewer"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["role"] == "reviewer"
    listed = client.get("/api/v1/memberships/?user=kate&cursor=").json()
    assert {row["org_unit"] for row in listed["results"]} == {"K1", "T1"}
    assert all(
        row["org_unit"] not in ("S3", "K2", "CITY") for row in client.get("/api/v1/memberships/").json()["results"]
    )
    assert client.delete(f"/api/v1/memberships/{pk}/").status_code == 405  # no DELETE in the API (removed on pages)
    assert [c.action for c in membership_changes(object_id=str(pk))] == ["create", "update"]
    assert {c.channel for c in membership_changes(object_id=str(pk))} == {"api"}


# --- Excel import ---


def workbook_bytes(rows: list[list[Any]], header: list[str] | None = None) -> io.BytesIO:
    workbook = Workbook()
    ws = workbook.active
    ws.title = "用户"
    ws.append(header or ["用户名", "姓名", "电子邮箱", "在用", "单位代码", "角色"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name = "users.xlsx"
    return out


def test_the_template_lists_the_users_in_scope_and_round_trips(users: Personas, dina: Any) -> None:
    response = web(dina).get("/schools/users/import/template/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["用户"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["用户名", "姓名", "电子邮箱", "在用", "单位代码", "角色"]
    assert ["alice", None, "alice@example.org", "是", "S1", "校长/园长"] in rows
    assert not any(row[0] == "bob" for row in rows)
    before = Membership.objects.count()
    result = user_import.import_users(dina, io.BytesIO(response.content))
    assert (result.users_created, result.memberships_added, Membership.objects.count()) == (0, 0, before)


def test_an_import_creates_users_and_memberships_audited_as_import(tree: Tree, users: Personas, dina: Any) -> None:
    upload = workbook_bytes(
        [
            ["wang", "王老师", "wang@example.org", "是", "S2", "校长/园长"],
            ["wang", None, None, None, "T1", "inspector"],
            ["alice", None, None, None, "K1", "校长/园长"],
        ]
    )
    response = web(dina).post("/schools/users/import/", {"file": upload})
    assert response.status_code == 302
    wang = User.objects.get(username="wang")
    assert wang.first_name == "王老师"
    assert set(Membership.objects.filter(user=wang).values_list("org_unit__code", "role")) == {
        ("S2", "principal"),
        ("T1", "inspector"),
    }
    assert Membership.objects.filter(user=users.alice, org_unit=tree.k1).exists()
    changes = membership_changes(action="create", object_repr__contains="wang")
    assert len(changes) == 2
    assert {(c.channel, c.user_id) for c in changes} == {("import", dina.pk)}


def test_an_import_with_one_bad_row_writes_nothing_and_locates_every_error(tree: Tree, dina: Any) -> None:
    upload = workbook_bytes(
        [
            ["ok1", "好", "ok1@example.org", "是", "S1", "校长/园长"],
            ["ok2", "好", "not-an-email", "也许", "S3", "校长/园长"],
            ["ok1", None, None, None, "S1", "principal"],
            ["ok3", None, None, None, "S2", "局长"],
            ["ok4", None, None, None, "CITY", "教育局管理员"],
            ["alice", None, None, None, '=HYPERLINK("x")', "principal"],
        ]
    )
    with pytest.raises(ImportErrors) as error:
        user_import.import_users(dina, upload)
    refs = error.value.errors
    assert "用户!C3" in refs
    assert "格式不正确" in refs["用户!C3"][0]
    assert "用户!D3" in refs
    assert "用户!E3" in refs
    assert "S3" in refs["用户!E3"][0]
    assert "与第 2 行重复" in refs["用户!E4"][0]
    assert "用户!F5" in refs
    assert "局长" in refs["用户!F5"][0]
    assert "用户!E6" in refs
    assert "用户!E7" in refs
    assert "公式" in refs["用户!E7"][0]
    assert not User.objects.filter(username__startswith="ok").exists()
    # The page shows the located errors and answers 400.
    upload.seek(0)
    response = web(dina).post("/schools/users/import/", {"file": upload})
    assert response.status_code == 400
    assert "第 3 行" in response.content.decode()


def test_an_import_cannot_take_over_a_user_outside_the_scope(users: Personas, dina: Any) -> None:
    with pytest.raises(ImportErrors) as error:
        user_import.import_users(dina, workbook_bytes([["bob", "坏人", "evil@example.org", "否", "S1", "principal"]]))
    assert "已被使用" in error.value.errors["用户!A2"][0]
    users.bob.refresh_from_db()
    assert (users.bob.email, users.bob.is_active) == ("bob@example.org", True)
    assert not Membership.objects.filter(user=users.bob, org_unit__code="S1").exists()


def test_an_unsafe_or_wrong_file_is_refused(dina: Any) -> None:
    with pytest.raises(ImportErrors) as error:
        user_import.import_users(dina, io.BytesIO(b"username,role\nx,principal\n"))
    assert "file" in error.value.errors
    with pytest.raises(ImportErrors) as error:
        user_import.import_users(dina, workbook_bytes([["x", None, None, None, "S1", "principal"]], header=["a"]))
    assert "用户" in error.value.errors
    assert not User.objects.filter(username="x").exists()


def test_non_admins_cannot_import_or_download(users: Personas) -> None:
    assert web(users.rita).get("/schools/users/import/template/").status_code == 403
    upload = workbook_bytes([["x", None, None, None, "S1", "principal"]])
    assert web(users.rita).post("/schools/users/import/", {"file": upload}).status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_an_upload_over_the_size_limit_is_refused_before_it_is_stored(dina: Any, settings: Any, tree: Tree) -> None:
    settings.MAX_UPLOAD_BYTES = 2048
    upload = workbook_bytes([[f"big{i}", "很长的名字" * 20, None, None, "S1", "principal"] for i in range(200)])
    response = web(dina).post("/schools/users/import/", {"file": upload})
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()
    assert not User.objects.filter(username__startswith="big").exists()


def test_a_template_downloaded_in_english_imports_in_chinese(users: Personas, dina: Any) -> None:
    from django.utils import translation

    with translation.override("en"):
        content = user_import.template(dina)
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet.title != "用户"  # the English sheet name and headers
    sheet.append(["eng", "Eng Lish", "eng@example.org", sheet["D2"].value, "S2", "principal"])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    result = user_import.import_users(dina, out)  # the page's language here is Chinese
    assert (result.users_created, result.memberships_added) == (1, 1)
    assert User.objects.get(username="eng").is_active is True


def test_the_api_list_and_the_export_do_not_grow_with_users(
    tree: Tree, users: Personas, django_assert_max_num_queries: Any
) -> None:
    for index in range(15):
        make_user(f"more{index}", tree.s3, Role.PRINCIPAL)
    client = api(users.bea)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/users/?limit=100").json()
    assert len(body["results"]) == body["count"] == 23
    export = web(users.bea).get("/schools/users/?_export=csv")
    assert export.status_code == 200
    text = export.content.decode("utf-8-sig")
    assert "more14" in text
    assert "西区实验小学 · 校长/园长" in text
