"""Issue 13 "Done when", bad input: a figure scope that selects no unit is refused with a clear, translated error
and nothing is stored — through the web form (create and edit), the API (POST and PATCH) in both languages.

No Excel/workbook path creates figures: the plan workbook and the submission template only read them, and the
national catalogue installs figures through the same ``FigureForm`` (with ``require_units=False`` on purpose: its
definitions may name school types a bureau has not loaded yet — ``indicators/catalogue.py``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from schools.models import SchoolType
from submissions.models import Figure

ZH = "按这些条件没有任何单位填报此项，请调整填报条件"
EN = "No unit meets these conditions; change who reports this figure"


def form_post(**extra: Any) -> dict[str, Any]:
    data = {
        "code": "nobody", "name": "无人填报", "value_type": "integer", "time_aggregation": "flow",
        "unit_aggregation": "sum", "min_value": "0", "required": "on", "order": "0", "is_active": "on",
    }  # fmt: skip
    data.update(extra)
    return data


def test_the_web_form_refuses_a_scope_selecting_nobody_and_stores_nothing(client, users, setup, tree):
    client.force_login(users.bea)
    # public senior high schools in 东区: the tree has none
    data = form_post(reported_by_school_types=[SchoolType.SENIOR], reported_by_within="D1")
    response = client.post(reverse("submissions:figure_create"), data)
    assert response.status_code == 200  # the form again, not a redirect
    assert ZH in response.content.decode()
    assert not Figure.objects.filter(code="nobody").exists()
    # in English the same refusal is translated
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("submissions:figure_create"), data)
    assert EN in response.content.decode()
    assert not Figure.objects.filter(code="nobody").exists()
    # a scope that selects someone is saved with its region
    ok = form_post(reported_by_school_types=[SchoolType.KINDERGARTEN], reported_by_within="D2")
    assert client.post(reverse("submissions:figure_create"), ok).status_code == 302
    assert list(Figure.objects.get(code="nobody").reported_by_within.all()) == [tree.d2]


def test_editing_a_figure_into_a_scope_selecting_nobody_changes_nothing(client, users, setup, tree):
    figure = Figure.objects.create(code="kg_x", name="幼儿园项", reported_by_school_types=[SchoolType.KINDERGARTEN])
    figure.reported_by_within.set([tree.d2])
    client.force_login(users.bea)
    # kindergartens inside 东区第一学区 that are private: K1 is public, so nobody
    data = form_post(
        code="kg_x", name="改过的名字", reported_by_school_types=[SchoolType.KINDERGARTEN],
        reported_by_ownership=["private"], reported_by_within="T1",
    )  # fmt: skip
    response = client.post(reverse("submissions:figure_update", args=["kg_x"]), data)
    assert response.status_code == 200
    assert ZH in response.content.decode()
    figure.refresh_from_db()
    assert figure.name == "幼儿园项"
    assert figure.reported_by_ownership == []
    assert list(figure.reported_by_within.all()) == [tree.d2]


def test_the_api_refuses_a_scope_selecting_nobody_on_post_and_patch(users, setup, tree):
    api = APIClient()
    api.force_authenticate(users.bea)
    payload = {
        "code": "nobody", "name": "无人填报", "value_type": "integer", "time_aggregation": "flow",
        "unit_aggregation": "sum", "reported_by": {"levels": ["district"], "within": ["T1"]},
    }  # fmt: skip
    refused = api.post("/api/v1/figures/", payload, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["reported_by"] == [ZH]
    refused = api.post("/api/v1/figures/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert refused.json()["errors"]["reported_by"] == [EN]
    assert not Figure.objects.filter(code="nobody").exists()

    figure = Figure.objects.create(code="kg_x", name="幼儿园项", reported_by_school_types=[SchoolType.KINDERGARTEN])
    figure.reported_by_within.set([tree.d2])
    patch = {"name": "改过的名字", "reported_by": {"school_types": ["kindergarten"], "ownership": ["private"]}}
    refused = api.patch("/api/v1/figures/kg_x/", patch, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["reported_by"] == [ZH]
    figure.refresh_from_db()
    assert figure.name == "幼儿园项"
    assert figure.reported_by_ownership == []
    assert list(figure.reported_by_within.all()) == [tree.d2]
