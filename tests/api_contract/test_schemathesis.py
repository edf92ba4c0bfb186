"""schemathesis against /api/schema/ (issue 8): every operation of the published schema, fuzzed from the schema.

The schema document is what ``/api/schema/`` serves (``test_the_served_schema_is_the_one_fuzzed`` checks
that they are identical); it is built in-process at collection time so that each operation becomes its
own test, named by the operation (``…[POST /api/v1/figures/]``). (schemathesis' lazy ``from_fixture``
fails on pytest 9: it sets ``request.node._nodeid``.) Requests go to our WSGI app — no server —
authenticated as the bureau
admin with an API token, so every operation is reachable. For each operation a bounded number of
generated requests (``CONTRACT_EXAMPLES``, 25 by default) must pass:

- ``not_a_server_error``: no 5xx, whatever the generated body, path or query;
- ``response_schema_conformance``: every documented response matches its schema (fields, types, nullability);
- ``content_type_conformance``: the response's media type is one the schema declares.

Runs against the test database inside each test's transaction: SQLite locally, PostgreSQL in CI. The fuzzing test
is in the deep lane (``make test-all``); the served-schema check and the regression tests below it are the fast
lane's contract smoke tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from indicators.models import RecomputeJob
from portal.wsgi import application
from tests.fuzz.conftest import FuzzWorld


def _schema_document() -> dict[str, Any]:
    # Through JSON, as a client receives it (dates, enums and lazy translations become plain JSON).
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, default=str))


DOCUMENT = _schema_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = application  # calls go through the WSGI app in-process

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))


@pytest.fixture(autouse=True)
def _the_wsgi_app_keeps_the_test_connection() -> Iterator[None]:
    """Calls through the WSGI app fire request_started/finished, whose close_old_connections closes a connection
    left in a transaction — the test's own on PostgreSQL (SQLite's in-memory database is never closed), so every
    later query failed with "connection already closed". Django's test Client disconnects it the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


def test_the_served_schema_is_the_one_fuzzed(client: Client, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/schema/?format=json", headers=admin_headers)
    assert response.status_code == 200
    assert json.loads(response.content) == DOCUMENT


# Operations with an open bug report (strict: the mark must go when the bug is fixed).
KNOWN_FAILURES: dict[str, str] = {}


def _operations() -> list[Any]:
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: (op.path, op.method))
    params = []
    for op in operations:
        reason = KNOWN_FAILURES.get(op.label)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(op, id=op.label, marks=marks))
    return params


def existing_path_parameters(path: str, world: FuzzWorld) -> dict[str, str]:
    """Path parameters naming objects of the world (by the collection the path starts with)."""
    params = {"id": str(world.draft.pk), "target": world.target.code}
    codes = {
        "/api/v1/figures/": "pri_classes",
        "/api/v1/periods/": world.period.code,
        "/api/v1/org-units/": world.tree.s1.code,
        "/api/v1/indicators/": world.indicator.code,
        "/api/v1/plans/": world.plan.code,
        "/api/v1/designation-kinds/": "standard_kg",
    }
    for prefix, code in codes.items():
        if path.startswith(prefix):
            params["code"] = code
    if "{job}" in path and path.startswith("/api/v1/recompute/"):
        # A recompute job of the whole tree, as POST /api/v1/recompute/ records one (the admin's to read).
        params["job"] = str(RecomputeJob.objects.create(requested_by=world.users.bea).pk)
    params["username"] = world.users.alice.username
    return {name: value for name, value in params.items() if "{" + name + "}" in path}


# One test per operation, named by it: schemathesis' own collector loses the operation in test ids on pytest 9.
@pytest.mark.parametrize("operation", _operations())
def test_every_operation_answers_without_5xx_and_as_documented(
    operation: Any, admin_headers: dict[str, str], contract_world: FuzzWorld
) -> None:
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    if operation.method.upper() == "GET":
        # First one request that finds a real object, so responses with data are always checked, not only 404s.
        params = existing_path_parameters(operation.path, contract_world)
        operation.Case(path_parameters=params).call_and_validate(headers=admin_headers, checks=checks)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=admin_headers, checks=checks)

    run()


# Was a ValueError → 500 (the id reached the ORM unparsed); kept as a regression test.
@pytest.mark.parametrize("suffix", ["", "submit/", "history/"])
def test_a_submission_id_that_is_not_a_number_is_a_404(
    client: Client, admin_headers: dict[str, str], suffix: str
) -> None:
    method = client.post if suffix == "submit/" else client.get
    response = method(f"/api/v1/submissions/abc/{suffix}", headers=admin_headers)
    assert response.status_code == 404


# Found by this test's schemathesis run; fixed in cf064cf (lists clamp ?limit to 1,000). Kept as a regression test.
@pytest.mark.parametrize("path", ["/api/v1/figures/", "/api/v1/submissions/", "/api/v1/org-units/"])
def test_a_huge_page_size_is_capped_not_a_server_error(
    client: Client, admin_headers: dict[str, str], path: str
) -> None:
    response = client.get(f"{path}?limit=99999999999999999999", headers=admin_headers)
    assert response.status_code < 500


# Was an IntegrityError (500, then 503): the range was checked on the fields sent, not on the model's default min 0.
@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "最大值不能小于最小值"), ("en", "The maximum cannot be less than the minimum")],
)
def test_a_figure_posted_without_min_value_is_checked_against_the_default_minimum(
    client: Client, admin_headers: dict[str, str], language: str, message: str
) -> None:
    body = {"code": "negative_max", "name": "负上限", "max_value": -1}
    headers = admin_headers | {"Accept-Language": language}
    response = client.post("/api/v1/figures/", body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"errors": {"max_value": [message]}}
    created = client.post("/api/v1/figures/", body | {"max_value": 5}, content_type="application/json", headers=headers)
    assert created.status_code == 201
    assert (created.json()["min_value"], created.json()["max_value"]) == (0, 5)
