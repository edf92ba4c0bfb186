"""The API's list filters are FilterSets (shared with the pages where a page filters the same list): they are in the
OpenAPI schema, and a value that is not one of a filter's choices is a translated 400, not a silent empty list."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import Personas

LIST_FILTERS = {
    "/api/v1/org-units/": {"parent", "level", "school_type", "ownership", "is_central", "q"},
    "/api/v1/designations/": {"org_unit", "kind"},
    "/api/v1/submissions/": {"period", "org_unit", "status"},
    "/api/v1/indicator-values/": {"indicator", "org_unit", "period", "parent"},
}


@pytest.mark.django_db
def test_every_list_filter_is_in_the_schema() -> None:
    out = StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out, stderr=StringIO())
    schema = json.loads(out.getvalue())
    for path, names in LIST_FILTERS.items():
        parameters = {p["name"] for p in schema["paths"][path]["get"].get("parameters", []) if p["in"] == "query"}
        assert names <= parameters, (path, names - parameters)


def test_a_filter_value_outside_its_choices_is_a_translated_400(users: Personas) -> None:
    client = APIClient()
    client.force_authenticate(users.bea)
    response = client.get("/api/v1/org-units/", {"level": "schol"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["level"]
    chinese = client.get("/api/v1/submissions/", {"status": "nope"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 400
    assert "status" in chinese.json()["errors"]


def test_filters_by_code_still_narrow_the_lists(users: Personas) -> None:
    client = APIClient()
    client.force_authenticate(users.bea)
    every = client.get("/api/v1/org-units/").json()["results"]
    parent = next(row["parent"] for row in every if row["parent"])
    children = client.get("/api/v1/org-units/", {"parent": parent}).json()["results"]
    assert children
    assert {row["parent"] for row in children} == {parent}
    assert len(children) < len(every)
