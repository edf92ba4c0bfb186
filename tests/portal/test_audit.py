"""The audit trail of configuration changes (portal.audit): who changed what, when, old → new, through which
channel — recorded from the API, the portal's pages, the admin, tasks and commands; shown on the object's page
and through ``GET /api/v1/audit/``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from celery import shared_task
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from indicators.models import Indicator
from plans.models import Plan, Section
from portal import audit
from portal.models import ConfigChange
from schools.models import Membership, OrgUnit, Role
from submissions.models import Figure, Period
from tests.conftest import PASSWORD


@shared_task(name="tests.portal.test_audit.raise_figure_maximum")
def raise_figure_maximum(code: str, maximum: str) -> None:
    """A background task that changes configuration (the channel must say "task")."""
    figure = Figure.objects.get(code=code)
    figure.max_value = Decimal(maximum)
    figure.save()


@pytest.fixture
def figure(db: None) -> Figure:
    with audit.suppressed():  # the fixture's own creation is not what these tests look at
        return Figure.objects.create(code="pri_new_entrants", name="小学新生数", max_value=Decimal("5000"))


def changes_of(obj: object) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name))  # type: ignore[attr-defined]


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_an_api_update_records_user_channel_and_old_to_new(figure, users):
    response = token_client(users.bea).patch(
        "/api/v1/figures/pri_new_entrants/", {"max_value": 6000, "name": "小学一年级新生数"}, format="json"
    )
    assert response.status_code == 200, response.json()
    [change] = changes_of(figure)
    assert (change.action, change.channel, change.user, change.object_repr) == (
        "update",
        "api",
        users.bea,
        "小学一年级新生数 (pri_new_entrants)",
    )
    # Decimal as a plain string; only the fields that changed.
    assert change.changes == {"name": ["小学新生数", "小学一年级新生数"], "max_value": ["5000", "6000"]}
    assert change.request_id == response["X-Request-ID"]


def test_a_portal_page_edit_records_channel_web(figure, users):
    client = Client()
    client.force_login(users.bea)
    form = {
        "code": "pri_new_entrants",
        "name": "小学新生数",
        "value_type": "integer",
        "time_aggregation": "flow",
        "unit_aggregation": "sum",
        "min_value": "0",
        "max_value": "4000",
        "order": "0",
        "is_active": "on",
    }
    response = client.post("/submissions/figures/pri_new_entrants/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    [change] = changes_of(figure)
    assert (change.channel, change.user, change.changes["max_value"]) == ("web", users.bea, ["5000", "4000"])


def test_an_admin_edit_records_channel_admin(tree):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client()
    client.force_login(admin_user)
    s3 = tree.s3
    form = {
        "code": "S3",
        "name": "西区第一实验小学",
        "name_en": "",
        "level": "school",
        "school_type": s3.school_type,
        "ownership": s3.ownership,
        "is_active": "on",
        "closed_on": "",
        "parent": str(tree.d2.pk),
    }
    response = client.post(f"/admin/schools/orgunit/{s3.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    [change] = [c for c in changes_of(s3) if c.action == "update"]
    assert (change.channel, change.user) == ("admin", admin_user)
    assert change.changes == {"name": ["西区实验小学", "西区第一实验小学"]}


def test_a_task_records_channel_task(figure):
    raise_figure_maximum.delay("pri_new_entrants", "7000")  # eager in the tests: run through Celery's signals
    [change] = changes_of(figure)
    assert (change.channel, change.user, change.changes) == ("task", None, {"max_value": ["5000", "7000"]})


def test_a_management_command_records_channel_command(db):
    call_command("load_catalogue", "--only", "kg_3yr_rate", stdout=open("/dev/null", "w"))  # noqa: SIM115
    indicator = Indicator.objects.get(code="kg_3yr_rate")
    [change] = changes_of(indicator)
    assert (change.action, change.channel, change.user) == ("create", "command", None)
    assert change.changes["code"] == [None, "kg_3yr_rate"]


def test_a_save_that_changes_nothing_records_nothing(figure):
    figure.save()
    Figure.objects.get(pk=figure.pk).save()
    figure.max_value = Decimal("5000.00")  # the same number, written differently
    figure.save()
    assert changes_of(figure) == []


def test_a_delete_is_recorded_with_the_old_values(figure):
    pk = figure.pk
    figure.delete()
    [change] = ConfigChange.objects.filter(object_id=str(pk), content_type__model="figure")
    assert change.action == "delete"
    assert change.changes["code"] == ["pri_new_entrants", None]
    assert change.changes["max_value"] == ["5000", None]


def test_lock_dates_and_memberships_are_recorded(tree, users):
    import datetime as dt

    period = Period.objects.create(
        code="2024Q1", year=2024, quarter=1, opens_on=dt.date(2024, 3, 20), due_on=dt.date(2024, 4, 10),
        locks_on=dt.date(2024, 4, 30),
    )  # fmt: skip
    period.locks_on = dt.date(2024, 5, 15)
    period.save()
    update = [c for c in changes_of(period) if c.action == "update"]
    assert [c.changes for c in update] == [{"locks_on": ["2024-04-30", "2024-05-15"]}]

    membership = Membership.objects.get(user=users.rita)
    membership.role = Role.BUREAU_ADMIN
    membership.save()
    [change] = [c for c in changes_of(membership) if c.action == "update"]
    assert change.changes == {"role": ["reviewer", "bureau_admin"]}
    assert change.root == f"schools.orgunit:{tree.d1.pk}"  # shown on D1's page


def test_the_figure_page_shows_the_change_as_text(figure, users):
    figure.name = "<script>alert(1)</script>"
    figure.save()
    client = Client()
    client.force_login(users.bea)
    page = client.get("/submissions/figures/pri_new_entrants/").content.decode()
    assert "变更记录" in page
    assert "小学新生数 → &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_the_period_admin_page_shows_who_moved_the_lock_date(db):
    import datetime as dt

    period = Period.objects.create(
        code="2024Q2", year=2024, quarter=2, opens_on=dt.date(2024, 6, 20), due_on=dt.date(2024, 7, 10),
        locks_on=dt.date(2024, 7, 31),
    )  # fmt: skip
    admin_user = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    with audit.acting("web", admin_user):
        period.locks_on = dt.date(2024, 8, 15)
        period.save()
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/submissions/period/{period.pk}/change/").content.decode()
    assert "锁定日期：2024-07-31 → 2024-08-15" in page
    assert "root" in page


def test_a_plan_page_lists_its_sections_changes_with_labels(tree, users):
    plan = Plan.objects.create(code="p2024", title="2024年工作要点", year=2024, owner_unit=tree.city)
    section = Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    section.title = "一、主要目标"
    section.save()
    client = Client()
    client.force_login(users.bea)
    page = client.get(f"/plans/{plan.code}/").content.decode()
    assert "标题：主要目标 → 一、主要目标" in page


def test_history_is_one_query(figure, django_assert_num_queries):
    for maximum in ("6000", "7000", "8000"):
        figure.max_value = Decimal(maximum)
        figure.save()
    with django_assert_num_queries(1):
        rows = audit.history_for(figure)
    assert [row.fields[0].new for row in rows] == ["8000", "7000", "6000"]
    assert rows[0].fields[0].label == "最大值"


def test_the_api_gives_bureau_admins_the_history(figure, users):
    figure.max_value = Decimal("6000")
    figure.save()
    client = APIClient()
    client.force_authenticate(users.bea)
    body = client.get("/api/v1/audit/", {"model": "figure", "object": "pri_new_entrants"}).json()
    [row] = body["results"]
    assert (row["model"], row["action"], row["channel"], row["changes"]) == (
        "figure",
        "update",
        "command",
        {"max_value": ["5000", "6000"]},
    )


def test_the_api_is_scoped(figure, tree, users):
    district_admin = get_user_model().objects.create_user("dora", password=PASSWORD)
    Membership.objects.create(user=district_admin, org_unit=tree.d1, role=Role.BUREAU_ADMIN)
    tree.s1.name = "东区中心小学（新）"
    tree.s1.save()
    client = APIClient()
    client.force_authenticate(district_admin)
    own = client.get("/api/v1/audit/", {"model": "org_unit", "object": "S1"})
    assert own.status_code == 200
    assert [r["changes"] for r in own.json()["results"] if r["action"] == "update"] == [
        {"name": ["东区中心小学", "东区中心小学（新）"]}
    ]
    assert client.get("/api/v1/audit/", {"model": "org_unit", "object": "S3"}).status_code == 404
    # A figure belongs to no unit: bureau-wide administrators only.
    assert client.get("/api/v1/audit/", {"model": "figure", "object": "pri_new_entrants"}).status_code == 403
    client.force_authenticate(users.rita)  # a reviewer administers nothing
    assert client.get("/api/v1/audit/", {"model": "org_unit", "object": "S1"}).status_code == 403
    client.force_authenticate(users.bea)
    bad = client.get("/api/v1/audit/", {"model": "nope", "object": "x"})
    assert bad.status_code == 400
    assert "model" in bad.json()["errors"]


def test_seed_data_is_not_recorded(db):
    with audit.suppressed():
        unit = OrgUnit.objects.create(code="X", name="X", level="bureau")
        unit.name = "Y"
        unit.save()
    assert changes_of(unit) == []


def test_record_bulk_keeps_only_tracked_fields_that_changed(tree):
    OrgUnit.objects.filter(pk=tree.s2.pk).update(name="东区第二实验小学", parent=tree.city)  # no signal
    audit.record_bulk(
        [
            (
                tree.s2,
                {
                    "name": ("东区第二小学", "东区第二实验小学"),
                    "parent": (tree.t1, tree.city),
                    "is_active": (True, True),  # unchanged: dropped
                    "path": ("a", "b"),  # not tracked: dropped
                },
            )
        ]
    )
    [change] = [c for c in changes_of(tree.s2) if c.action == "update"]
    assert change.changes == {"name": ["东区第二小学", "东区第二实验小学"], "parent": ["东区第一学区", "市教育局"]}


def test_a_tracked_update_costs_one_read_and_one_insert(figure, django_assert_num_queries):
    ContentType.objects.get_for_model(Figure)  # cached per process after its first use
    figure.max_value = Decimal("6000")
    with django_assert_num_queries(3):  # the stored tracked columns, the UPDATE, the ConfigChange INSERT
        figure.save()
    figure.group = "入学"  # not a tracked field: update_fields naming only it skips the read
    with django_assert_num_queries(1):
        figure.save(update_fields=["group"])


def test_the_plan_workbook_import_records_channel_import(tree, users):
    import io

    from openpyxl import load_workbook

    from targets.workbook import PLAN_SHEET, export_plan, import_plan

    plan = Plan.objects.create(code="p2024", title="2024年工作要点", year=2024, owner_unit=tree.city)
    Section.objects.create(plan=plan, code="goals", title="主要目标", order=1)
    workbook = load_workbook(io.BytesIO(export_plan(plan)))
    for row in workbook[PLAN_SHEET].iter_rows():
        if row[0].value == "标题":
            row[1].value = "2024年工作要点（修订）"
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    import_plan(users.bea, out)
    [change] = [c for c in changes_of(plan) if c.action == "update"]
    assert (change.channel, change.user, change.changes) == (
        "import",
        users.bea,
        {"title": ["2024年工作要点", "2024年工作要点（修订）"]},
    )


def test_who_reports_a_figure_is_recorded_region_and_flags_included(figure, tree, users):
    """Issue 13's figure scope moves numbers too: ownership, required, not-applicable and the region (a
    many-to-many field, which sends no save signal) are in the history, named as on the page."""
    response = token_client(users.bea).patch(
        "/api/v1/figures/pri_new_entrants/",
        {"reported_by": {"levels": ["school"], "ownership": ["public"], "within": [tree.d1.code]}, "required": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    merged: dict[str, list[Any]] = {}
    for change in changes_of(figure):
        assert (change.channel, change.user) == ("api", users.bea)
        merged.update(change.changes)
    assert merged["reported_by_within"] == [[], [str(tree.d1)]]
    assert merged["required"] == [True, False]
    assert merged["reported_by_ownership"] == [[], ["public"]]
    page = "".join(f"{field.old}→{field.new}" for row in audit.history_for(figure) for field in row.fields)
    assert "公办" in page
    assert "public" not in page
