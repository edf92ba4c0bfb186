"""Org unit pages: creating inside one's scope only, readable duplicate codes, dates, the new unit types."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from schools.models import OrgUnit, Role
from tests.conftest import Personas, Tree, make_user


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dan(tree: Tree):  # noqa: ANN201
    return make_user("dan", tree.d1, Role.BUREAU_ADMIN)


NEW = {"code": "V1", "name": "东区职业学校", "level": "school", "school_type": "vocational", "ownership": "public",
       "is_active": "on", "opened_on": "2025-09-01"}  # fmt: skip


def test_a_district_admin_creates_units_in_the_district_only(tree: Tree, dan) -> None:  # noqa: ANN001
    client = signed_in(dan)
    url = reverse("schools:unit_create")
    page = client.get(url).content.decode()
    assert 'data-unit-picker="1"' in page
    assert "中职学校" in page  # the new unit types are offered
    orphan = client.post(url, NEW)  # no parent: would be a root the admin could never see again
    assert orphan.status_code == 200
    other = client.post(url, {**NEW, "parent": tree.d2.pk})
    assert other.status_code == 200
    assert not OrgUnit.objects.filter(code="V1").exists()
    created = client.post(url, {**NEW, "parent": tree.d1.pk})
    assert created.status_code == 302
    unit = OrgUnit.objects.get(code="V1")
    assert (unit.parent, unit.school_type, unit.opened_on) == (tree.d1, "vocational", datetime.date(2025, 9, 1))


def test_a_taken_code_and_bad_dates_read_clearly(tree: Tree, users: Personas) -> None:
    client = signed_in(users.bea)
    url = reverse("schools:unit_create")
    duplicate = client.post(url, {**NEW, "code": "S1", "parent": tree.d1.pk})
    assert "单位代码已被其他单位使用，请换一个代码。" in duplicate.content.decode()
    dates = client.post(url, {**NEW, "parent": tree.d1.pk, "closed_on": "2025-01-01"})
    assert "撤并日期不能早于建校日期" in dates.content.decode()
    assert not OrgUnit.objects.filter(code="V1").exists()


def test_only_a_superuser_creates_a_root_on_the_page(tree: Tree, users: Personas) -> None:
    body = {"code": "CITY2", "name": "新市", "level": "bureau", "is_active": "on"}
    assert signed_in(users.bea).post(reverse("schools:unit_create"), body).status_code == 200
    assert not OrgUnit.objects.filter(code="CITY2").exists()
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    assert signed_in(root).post(reverse("schools:unit_create"), body).status_code == 302
    assert OrgUnit.objects.get(code="CITY2").parent is None


def test_a_district_admin_edits_the_district_without_administering_its_parent(tree: Tree, dan) -> None:  # noqa: ANN001
    url = reverse("schools:unit_edit", kwargs={"code": "D1"})
    body = {"code": "D1", "name": "东城区", "level": "district", "parent": tree.city.pk, "is_active": "on"}
    assert signed_in(dan).post(url, body).status_code == 302
    api = APIClient()
    api.force_authenticate(dan)
    assert api.patch("/api/v1/org-units/D1/", {"name_en": "Dongcheng"}, format="json").status_code == 200
    # …but may not move it elsewhere, nor to the top.
    assert api.patch("/api/v1/org-units/D1/", {"parent": "D2"}, format="json").status_code == 400
    assert api.patch("/api/v1/org-units/D1/", {"parent": None}, format="json").status_code == 403
    d1 = OrgUnit.objects.get(code="D1")
    assert (d1.name, d1.name_en, d1.parent) == ("东城区", "Dongcheng", tree.city)
