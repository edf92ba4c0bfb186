"""The permission matrix's world: one copy of every kind of object on each side of the tree.

Side A lives in district D1 (school S1, alice's; district reviewer rita), side B in district D2
(school S3, bob's; reviewer rob). ivan (inspector) and bea (bureau admin) hold the whole CITY.
Every URL parameter (<pk>, <code>, <period>, ...) can so be filled with an object inside one
persona's scope and outside another's. Texts that only exist on one side (``Side.markers``) let
the matrix check that a list never shows the other side's rows.

Periods are open until 2099 so that every workflow step is possible; nothing here depends on today.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from indicators.models import Indicator, IndicatorValue, RecomputeJob
from plans.models import Plan, Section, WorkItem
from reports.models import ExportJob, ExportStatus
from schools.models import Designation, DesignationKind, OrgUnit, SchoolType
from submissions import xlsx
from submissions.models import Figure, Period, Submission, SubmissionStatus, ValidationRule, Value
from targets.models import Comparator, NoteReview, Target, TargetKind, TargetNote
from tests import conftest as shared
from tests.conftest import Personas, Tree

FAR = dt.date(2099, 12, 31)


@dataclass
class Side:
    """The objects of one side of the tree (A = D1/S1, B = D2/S3)."""

    school: OrgUnit
    district: OrgUnit
    draft: Submission  # 2023Q2, complete and clean: can be saved and submitted
    submitted: Submission  # 2023Q1: can be approved or returned
    approved: Submission  # 2023Q3: can be reopened
    designation: Designation
    value: IndicatorValue
    plan: Plan  # owned by the district
    section: Section
    work_item: WorkItem
    target: Target  # threshold target, scope = the district
    milestone: Target  # scope = the district, owner = the school
    note: TargetNote
    job: ExportJob  # a finished export of the district
    recompute_job: RecomputeJob  # bea's recompute of the district (POST /api/v1/recompute/)
    template: bytes  # the school's Excel template for 2023Q2 (the draft) with one value filled in
    markers: list[str] = field(default_factory=list)  # texts that exist only on this side


@dataclass
class World:
    tree: Tree
    users: Personas
    q1: Period
    q2: Period
    q3: Period
    q4: Period  # no submissions yet: for "open a submission"
    figure: Figure
    rule: ValidationRule
    indicator: Indicator
    kind: DesignationKind
    tokens: dict[str, str]
    a: Side
    b: Side
    plan_draft: Any = None  # bea's plan draft (targets.models.PlanDraft), not committed

    def side(self, name: str) -> Side:
        return {"A": self.a, "B": self.b}[name]


def _period(year: int, quarter: int) -> Period:
    start = dt.date(year, 3 * quarter - 2, 1)
    return Period.objects.create(
        code=Period.code_for(year, quarter),
        year=year,
        quarter=quarter,
        opens_on=start,
        due_on=FAR,
        locks_on=FAR,
    )


def _submission(unit: OrgUnit, period: Period, status: str, figures: list[Figure], value: int) -> Submission:
    submission = Submission.objects.create(org_unit=unit, period=period, status=status)
    Value.objects.bulk_create([Value(submission=submission, figure=f, value=Decimal(value)) for f in figures])
    return submission


def _template(user: object, period: Period, unit: OrgUnit, figure: Figure) -> bytes:
    """The unit's template as the portal builds it, with one value written in as a user would."""
    workbook = load_workbook(io.BytesIO(xlsx.build_template(user, period, unit)))
    sheet = workbook[xlsx.DATA_SHEET]
    column = {cell.value: cell.column for cell in sheet[xlsx.CODE_ROW] if cell.value}[figure.code]
    row = next(
        r for r in range(xlsx.FIRST_DATA_ROW, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == unit.code
    )
    sheet.cell(row=row, column=column, value=77)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _side(
    w: dict[str, object], school: OrgUnit, district: OrgUnit, label: str, figures: list[Figure], users: Personas
) -> Side:
    q1, q2, q3 = w["q1"], w["q2"], w["q3"]
    indicator = w["indicator"]
    now = timezone.now()
    IndicatorValue.objects.create(
        indicator=indicator, org_unit=district, period=q1, numerator=5, denominator=10, value=50, computed_at=now
    )
    plan = Plan.objects.create(code=f"plan-{district.code.lower()}", title=f"{district.code} 工作要点", year=2023,
                               owner_unit=district)  # fmt: skip
    section = Section.objects.create(plan=plan, code="equity", title="教育公平", order=1)
    item = WorkItem.objects.create(section=section, number=1, title="扩大资源")
    target = Target.objects.create(
        plan=plan, section=section, work_item=item, code="rate", text=f"{label}秘密目标达 99% 以上",
        kind=TargetKind.THRESHOLD, indicator=indicator, comparator=Comparator.GTE, target_value=Decimal(99),
        scope=district,
    )  # fmt: skip
    milestone = Target.objects.create(
        plan=plan, section=section, code="build", text=f"{label}新校秋季交付", kind=TargetKind.MILESTONE,
        scope=district, owner_unit=school,
    )  # fmt: skip
    note = TargetNote.objects.create(target=milestone, text=f"{label}进展记录", review_status=NoteReview.PENDING)
    job = ExportJob.objects.create(
        plan=plan, scope=district, period=q1, requested_by=users.bea, status=ExportStatus.DONE, rows_total=1,
        rows_done=1, finished_at=now,
    )  # fmt: skip
    job.file.save(f"{plan.code}.xlsx", ContentFile(b"PK-not-really-a-workbook"), save=True)
    return Side(
        school=school,
        district=district,
        draft=_submission(school, q2, SubmissionStatus.DRAFT, figures, 40),
        submitted=_submission(school, q1, SubmissionStatus.SUBMITTED, figures, 30),
        approved=_submission(school, q3, SubmissionStatus.APPROVED, figures, 20),
        designation=Designation.objects.create(org_unit=school, kind=w["kind"], granted_on=dt.date(2023, 1, 5)),
        value=IndicatorValue.objects.create(
            indicator=indicator, org_unit=school, period=q1, numerator=3, denominator=5, value=60, computed_at=now
        ),
        plan=plan,
        section=section,
        work_item=item,
        target=target,
        milestone=milestone,
        note=note,
        job=job,
        recompute_job=RecomputeJob.objects.create(requested_by=users.bea, org_unit=district, period=q1),
        template=_template(users.bea, q2, school, figures[1]),  # enrolled 40 → 77: passes the rule
    )


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once per test module inside a transaction that is rolled back at the end of the module.

    The matrix sends ~1,600 requests; rebuilding the world for each URL would double its run time.
    Each cell rolls its own writes back (see ``run_rules``), so every cell sees this same world.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        tree = shared.tree.__wrapped__(None)  # the shared fixtures' own code: same tree, same personas
        users = shared.users.__wrapped__(tree)
        yield build_world(tree, users)
        transaction.set_rollback(True)


def build_world(tree: Tree, users: Personas) -> World:
    q1, q2, q3, q4 = (_period(2023, quarter) for quarter in (1, 2, 3, 4))
    figures = [
        Figure.objects.create(
            code="pri_new_entrants", name="小学新生数", reported_by_school_types=[SchoolType.PRIMARY]
        ),
        Figure.objects.create(code="pri_enrolled", name="小学在校生数", reported_by_school_types=[SchoolType.PRIMARY]),
    ]
    rule = ValidationRule.objects.create(
        code="entrants_le_enrolled", name="新生不超过在校生", left="pri_new_entrants", operator="<=",
        right="pri_enrolled", message="新生数不能超过在校生数",
    )  # fmt: skip
    indicator = Indicator.objects.create(
        code="entrant_share", name="新生占比", numerator="pri_new_entrants", denominator="pri_enrolled", factor=100
    )
    kind = DesignationKind.objects.create(code="std_school", name="标准化学校")
    w: dict[str, object] = {"q1": q1, "q2": q2, "q3": q3, "indicator": indicator, "kind": kind}
    a = _side(w, tree.s1, tree.d1, "东区", figures, users)
    b = _side(w, tree.s3, tree.d2, "西区", figures, users)
    # Names show on pages; the API answers with codes (quoted, as they appear in JSON).
    a.markers = ["东区中心小学", "东区第二小学", "东区第一幼儿园", "东区秘密目标", "东区新校秋季交付", "东区进展记录",
                 '"S1"', '"S2"', '"K1"']  # fmt: skip
    b.markers = ["西区实验小学", "西区阳光幼儿园", "西区秘密目标", "西区新校秋季交付", "西区进展记录", '"S3"', '"K2"']
    tokens = {
        name: Token.objects.create(user=getattr(users, name)).key
        for name in ("alice", "bob", "kate", "rita", "rob", "ivan", "bea", "nobody")
    }
    from targets import plan_drafts

    plan_draft = plan_drafts.create_draft(users.bea, text=PLAN_TEXT)
    return World(
        tree=tree, users=users, q1=q1, q2=q2, q3=q3, q4=q4, figure=figures[0], rule=rule, indicator=indicator,
        kind=kind, tokens=tokens, a=a, b=b, plan_draft=plan_draft,
    )  # fmt: skip


# A plan document for the plan-draft pages and API.
PLAN_TEXT = "2024年教育工作要点\n一、主要目标\n学前三年毛入园率达到95%以上，新建幼儿园2所。\n"
