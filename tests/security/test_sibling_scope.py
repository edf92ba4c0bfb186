"""Sibling schools inside one township: a principal's scope is their own school, not the township.

The permission matrix (test_permission_matrix.py) compares the two *districts*: every text of
side A counts as "allowed" for alice, including her sibling schools S2 and K1, and the matrix
world holds no objects at S2 or K1. A scope that widened a principal to the parent township
(alice then sees S2, K1 and T1) went unnoticed for alice there; it was only caught through bob,
whose school hangs directly under his district. These tests give the siblings their own data
and check, end to end through the API and the pages, that a principal never sees or touches it.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from schools.models import OrgUnit, SchoolType
from submissions.models import Figure, Period, Submission, SubmissionStatus, Value
from tests.conftest import Personas, Tree

FAR = dt.date(2099, 12, 31)
# The township's own name may show (as the parent of S1); its other schools may not.
SIBLING_NAMES = ("东区第二小学", "东区第一幼儿园")


@pytest.fixture
def period(db: None) -> Period:
    return Period.objects.create(
        code="2023Q1", year=2023, quarter=1, opens_on=dt.date(2023, 1, 1), due_on=FAR, locks_on=FAR
    )


@pytest.fixture
def drafts(tree: Tree, period: Period) -> dict[str, Submission]:
    figure = Figure.objects.create(
        code="pri_enrolled", name="小学在校生数", reported_by_school_types=[SchoolType.PRIMARY]
    )
    result = {}
    for unit in (tree.s1, tree.s2, tree.k1):
        submission = Submission.objects.create(org_unit=unit, period=period, status=SubmissionStatus.DRAFT)
        Value.objects.create(submission=submission, figure=figure, value=Decimal(10))
        result[unit.code] = submission
    return result


def api_client(user: object) -> Client:
    token = Token.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def page_client(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(body: dict | list) -> list[dict]:
    return body["results"] if isinstance(body, dict) else body


def test_a_principal_lists_only_their_own_school(users: Personas, drafts: dict[str, Submission]) -> None:
    client = api_client(users.alice)
    units = rows(client.get(reverse("org-unit-list")).json())
    assert {row["code"] for row in units} == {"S1"}, "alice sees units outside her school"
    submissions = rows(client.get(reverse("submission-list"), {"period": "2023Q1"}).json())
    assert {row["org_unit"] for row in submissions} == {"S1"}, "alice sees her sibling schools' submissions"


def test_a_principal_cannot_read_or_write_a_sibling_schools_submission(
    users: Personas, drafts: dict[str, Submission]
) -> None:
    client = api_client(users.alice)
    for code in ("S2", "K1"):
        sibling = drafts[code]
        assert client.get(reverse("org-unit-detail", kwargs={"code": code})).status_code == 404
        assert client.get(reverse("submission-detail", kwargs={"pk": sibling.pk})).status_code == 404
        before = list(Value.objects.filter(submission=sibling).values_list("value", flat=True))
        response = client.patch(
            reverse("submission-detail", kwargs={"pk": sibling.pk}),
            json.dumps({"version": sibling.version, "values": {"pri_enrolled": 99}}),
            content_type="application/json",
        )
        assert response.status_code == 403, f"alice wrote {code}'s submission: {response.status_code}"
        assert list(Value.objects.filter(submission=sibling).values_list("value", flat=True)) == before


def test_sibling_schools_never_appear_on_a_principals_pages(
    users: Personas, tree: Tree, period: Period, drafts: dict[str, Submission]
) -> None:
    client = page_client(users.alice)
    for url in (
        reverse("schools:orgunit_list"),
        reverse("submissions:submission_list") + f"?period={period.pk}",
        reverse("submissions:my_submissions"),
        reverse("submissions:completeness") + f"?period={period.code}",
    ):
        body = client.get(url).content.decode()
        leaked = [name for name in SIBLING_NAMES if name in body]
        assert leaked == [], f"{url} shows alice's sibling schools {leaked}"


def test_a_kindergarten_principal_does_not_see_the_primary_schools_next_door(
    users: Personas, drafts: dict[str, Submission]
) -> None:
    client = api_client(users.kate)
    assert {row["code"] for row in rows(client.get(reverse("org-unit-list")).json())} == {"K1"}
    assert client.get(reverse("submission-detail", kwargs={"pk": drafts["S1"].pk})).status_code == 404
    assert OrgUnit.objects.get(code="K1").parent.code == "T1"  # the siblings really share a parent
