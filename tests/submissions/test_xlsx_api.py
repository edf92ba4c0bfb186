"""The Excel round-trip over the API: ``GET /api/v1/submissions/template.xlsx`` and ``POST …/upload/``.

Same template and import as the web page (``submissions.xlsx``); errors in the contract's shape with
the cell as key; nothing stored on any error.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from portal.xlsx import XLSX_CONTENT_TYPE
from submissions import workflow
from submissions.models import Channel, HistoryAction, Submission, SubmissionHistory, Value
from submissions.xlsx import DATA_SHEET, KEY_SHEET, TemplateKey
from tests.submissions.test_xlsx_support import columns, fill, rows

pytestmark = pytest.mark.django_db

TEMPLATE_URL = "/api/v1/submissions/template.xlsx"
UPLOAD_URL = "/api/v1/submissions/upload/"


def api_download(client: Any, period: str, unit: str | None = None, **headers: str) -> bytes:
    params = {"period": period} | ({"org_unit": unit} if unit else {})
    response = client.get(TEMPLATE_URL, params, **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return response.content


def api_upload(client: Any, content: bytes, **fields: str) -> Any:
    stream = io.BytesIO(content)
    stream.name = "filled.xlsx"
    return client.post(UPLOAD_URL, {"file": stream, **fields})


def cell(content: bytes, unit: str, code: str) -> str:
    """The reference of a unit's figure cell in a downloaded template (``填报!F5``)."""
    return f"{DATA_SHEET}!{get_column_letter(columns(content)[code])}{rows(content)[unit]}"


def nothing_stored(*units: Any) -> bool:
    return not Submission.objects.filter(org_unit__in=units).exists() and not Value.objects.exists()


D1_GOOD = {
    ("S1", "pri_new_entrants"): 100,
    ("S1", "pri_new_entrants_migrant"): 10,
    ("S1", "pri_enrolled"): 600,
    ("S1", "central_joint_research"): 3,
    ("S2", "pri_new_entrants"): 200,
    ("S2", "pri_enrolled"): 300,
}


def test_a_district_template_round_trips_through_the_api(client, users, setup, tree):
    # given: the bureau admin, acting as D1's data clerk, downloads D1's subtree over the API
    client.force_login(users.bea)
    content = api_download(client, "2023Q1", "D1")
    key = TemplateKey.unsign(load_workbook(io.BytesIO(content))[KEY_SHEET]["A1"].value)
    assert (key.period, key.units) == ("2023Q1", ["D1", "S1", "S2", "K1"])  # D1 reports population
    # when
    response = api_upload(client, fill(content, D1_GOOD | {("K1", "kg_enrolled"): 80}), period="2023Q1")
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["period"], body["rows"], body["unchanged"], body["values_changed"]) == ("2023Q1", 4, 1, 7)
    assert [(row["org_unit"], row["version"], sorted(row["changed"])) for row in body["saved"]] == [
        ("S1", 1, ["central_joint_research", "pri_enrolled", "pri_new_entrants", "pri_new_entrants_migrant"]),
        ("S2", 1, ["pri_enrolled", "pri_new_entrants"]),
        ("K1", 1, ["kg_enrolled"]),
    ]
    assert dict(Value.objects.filter(submission__org_unit=tree.s2).values_list("figure__code", "value")) == {
        "pri_new_entrants": Decimal(200),
        "pri_enrolled": Decimal(300),
    }
    changes = SubmissionHistory.objects.filter(action=HistoryAction.VALUE, figure__isnull=False)
    assert changes.count() == 7
    assert set(changes.values_list("channel", "user")) == {(Channel.EXCEL, users.bea.pk)}
    # S2's new entrants are more than half its enrolment: a warning located at its cell, not a refusal.
    assert body["warnings"] == {cell(content, "S2", "pri_new_entrants"): ["新生数超过在校生的一半，请核实"]}


def test_a_principal_gets_their_school_template_when_asking_for_xlsx(client, users, setup):
    client.force_login(users.alice)
    content = api_download(client, "2023Q1", "S1", HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert load_workbook(io.BytesIO(content))[DATA_SHEET]["A3"].value == "S1"


def test_one_bad_cell_stores_nothing_and_names_the_cell(client, users, setup, tree):
    client.force_login(users.bea)
    content = api_download(client, "2023Q1", "D1")
    bad = fill(content, D1_GOOD | {("S2", "pri_enrolled"): 300.5})

    response = api_upload(client, bad)

    assert response.status_code == 400
    assert response.json() == {"errors": {cell(content, "S2", "pri_enrolled"): ["须为整数"]}}
    assert nothing_stored(tree.s1, tree.s2)


def test_a_template_with_a_unit_outside_the_uploaders_scope_is_refused_with_403(client, users, setup, tree):
    # bea downloads D1 (S1 and S2); alice, principal of S1 only, tries to upload it
    client.force_login(users.bea)
    content = fill(api_download(client, "2023Q1", "D1"), D1_GOOD)
    client.force_login(users.alice)

    response = api_upload(client, content)

    assert response.status_code == 403
    assert "东区第二小学" in response.json()["errors"]["file"][0]
    assert nothing_stored(tree.s1, tree.s2)


def test_a_template_of_a_unit_outside_the_callers_scope_is_not_found(client, users, setup):
    client.force_login(users.alice)
    response = client.get(TEMPLATE_URL, {"period": "2023Q1", "org_unit": "S3"})
    assert response.status_code == 404
    assert "errors" in response.json()


def test_an_oversized_file_is_refused_before_it_is_read(client, users, setup, tree, settings):
    client.force_login(users.alice)
    content = fill(api_download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): 100})
    settings.MAX_UPLOAD_BYTES = len(content) - 1

    response = api_upload(client, content)

    assert response.status_code == 400
    assert response.json()["errors"]["file"][0].startswith("文件过大")
    assert nothing_stored(tree.s1)


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"unit,name\nS1,x\n", "csv"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "xls")],
    ids=["csv", "legacy-xls"],
)
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(client, users, setup, tree, content, name):
    client.force_login(users.alice)
    response = api_upload(client, content)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]
    assert nothing_stored(tree.s1)


def test_a_missing_file_or_a_template_of_another_period_is_a_400(client, users, setup, tree):
    client.force_login(users.alice)
    assert list(client.post(UPLOAD_URL, {}).json()["errors"]) == ["file"]
    content = fill(api_download(client, "2023Q1", "S1"), {("S1", "pri_new_entrants"): 100})
    response = api_upload(client, content, period="2022Q4")
    assert response.status_code == 400
    assert "2023Q1" in response.json()["errors"]["file"][0]
    assert nothing_stored(tree.s1)


def test_a_row_changed_since_the_download_is_a_409_and_nothing_is_stored(client, users, setup, tree):
    client.force_login(users.alice)
    content = api_download(client, "2023Q1", "S1")
    # someone saves S1 in the browser after the download
    submission = workflow.open_submission(users.alice, tree.s1, setup.q1)
    workflow.save_values(submission, users.alice, {"pri_new_entrants": 1}, version=submission.version)
    submission.refresh_from_db()
    before = (submission.version, list(Value.objects.values_list("figure__code", "value")))

    response = api_upload(client, fill(content, {("S1", "pri_new_entrants"): 100}))

    assert response.status_code == 409
    assert response.json()["errors"]
    submission.refresh_from_db()
    assert (submission.version, list(Value.objects.values_list("figure__code", "value"))) == before


def test_the_schema_documents_both_endpoints(client, users):
    client.force_login(users.alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    upload = schema["paths"]["/api/v1/submissions/upload/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"200", "400", "403", "409"} <= set(upload["responses"])
    template = schema["paths"]["/api/v1/submissions/template.xlsx"]["get"]
    assert XLSX_CONTENT_TYPE in template["responses"]["200"]["content"]
    assert {p["name"] for p in template["parameters"]} >= {"period", "org_unit"}


def test_a_draft_opened_but_empty_since_the_download_does_not_block_the_upload(client, users, setup, tree):
    client.force_login(users.alice)
    content = api_download(client, "2023Q1", "S1")
    workflow.open_submission(users.alice, tree.s1, setup.q1)  # e.g. the principal looked at the web form

    response = api_upload(client, fill(content, {("S1", "pri_new_entrants"): 100}))

    assert response.status_code == 200, response.json()
    assert response.json()["saved"][0]["version"] == 2
