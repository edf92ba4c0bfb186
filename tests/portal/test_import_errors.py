"""One error type for every workbook importer: ``portal.xlsx.ImportErrors``, problems located by cell.

The submission template, the plan workbook and the upload checks used to raise three different
things (TemplateRejected, a ServiceError built from a private Errors class, UploadRejected); a page or
the API now reads any of them the same way: ``cell_errors`` (reference, row, column header, message)
and ``errors`` (reference → translated messages), with the importer's status code.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from plans.models import Plan, Section
from portal.errors import ServiceError
from portal.upload_safety import UploadRejected
from portal.xlsx import CellError, ImportErrors
from submissions.xlsx import DATA_SHEET, build_template, import_template
from targets.workbook import SECTION_SHEET, export_plan, import_plan
from tests.conftest import Personas, Tree
from tests.submissions.conftest import clock as clock  # noqa: PLC0414  (the fixture, used by name)
from tests.submissions.conftest import setup as setup  # noqa: PLC0414

pytestmark = pytest.mark.django_db


def test_collected_problems_are_raised_once_keyed_by_cell_sheet_or_file() -> None:
    errors = ImportErrors()
    errors.raise_if_any()  # nothing collected: nothing raised
    errors.add_cell("目标", 5, 8, "目标值", "请填写数字。")
    errors.add_sheet("章节", "缺少工作表“章节”。")
    errors.add_file("无法读取该工作簿。")
    with pytest.raises(ImportErrors) as caught:
        errors.raise_if_any()
    assert isinstance(caught.value, ServiceError)
    assert caught.value.status_code == 400
    assert caught.value.errors == {
        "目标!H5": ["“目标”表第 5 行 H 列（目标值）：请填写数字。"],
        "章节": ["缺少工作表“章节”。"],
        "file": ["无法读取该工作簿。"],
    }
    assert caught.value.cell_errors[0] == CellError(
        "目标!H5", 5, "目标值", "“目标”表第 5 行 H 列（目标值）：请填写数字。"
    )


def test_the_plan_workbook_import_raises_it_located_at_the_cell(users: Personas, tree: Tree) -> None:
    plan = Plan.objects.create(code="p", title="计划", year=2030, owner_unit=tree.city)
    Section.objects.create(plan=plan, code="s1", title="章节一", order=1)
    workbook = load_workbook(io.BytesIO(export_plan(plan)))
    workbook[SECTION_SHEET]["C2"] = "第一"  # 顺序 must be a whole number
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ImportErrors) as caught:
        import_plan(users.bea, io.BytesIO(buffer.getvalue()))
    assert [(e.ref, e.row, e.column) for e in caught.value.cell_errors] == [("章节!C2", 2, "顺序")]
    assert caught.value.errors == {"章节!C2": ["“章节”表第 2 行 C 列（顺序）：请填写数字。"]}


def test_the_template_import_and_the_upload_checks_raise_it_too(users: Personas, setup) -> None:
    with pytest.raises(ImportErrors) as caught:
        import_template(io.BytesIO(b"not a workbook"), user=users.bea, period=setup.q1)
    assert isinstance(caught.value, UploadRejected)
    assert [(e.ref, e.row, e.column) for e in caught.value.cell_errors] == [("file", None, "")]

    content = build_template(users.alice, setup.q1, None)
    workbook = load_workbook(io.BytesIO(content))
    workbook[DATA_SHEET]["D3"] = "=1+1"  # a formula where a number belongs
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ImportErrors) as caught:
        import_template(io.BytesIO(buffer.getvalue()), user=users.alice, period=setup.q1)
    assert [(e.ref, e.row, e.column) for e in caught.value.cell_errors] == [("填报!D3", 3, "小学新生数")]
    assert caught.value.errors == {"填报!D3": ["不能使用公式，请填写数值"]}
