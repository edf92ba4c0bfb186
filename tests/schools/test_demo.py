"""The demo loads a realistic bureau, and loading it twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.schools import DEMO_PASSWORD
from plans.models import Plan, WorkItem
from schools.models import Designation, Level, Membership, OrgUnit, Role


def _snapshot() -> dict[str, object]:
    return {
        "units": list(OrgUnit.objects.order_by("code").values_list("code", "name", "path", "school_type", "ownership")),
        "designations": Designation.objects.count(),
        "memberships": list(Membership.objects.order_by("pk").values_list("user__username", "org_unit__code", "role")),
        "work_items": list(WorkItem.objects.order_by("pk").values_list("number", "title", "text")),
    }


@pytest.mark.django_db
def test_demo_is_idempotent_and_realistic() -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = _snapshot()
    call_command("load_demo", stdout=StringIO())
    assert _snapshot() == first

    schools = OrgUnit.objects.filter(level=Level.SCHOOL)
    assert schools.count() >= 300
    assert OrgUnit.objects.filter(level__in=[Level.DISTRICT, Level.TOWNSHIP], parent__code="CITY").count() >= 6
    assert set(schools.values_list("school_type", flat=True)) >= {
        "kindergarten",
        "primary",
        "junior",
        "special",
    }
    assert set(schools.values_list("ownership", flat=True)) == {"public", "inclusive_private", "private"}
    assert schools.filter(is_central=True).count() >= 6
    assert Designation.objects.exists()

    plan = Plan.objects.get(code="2023-chuyou")
    assert plan.title == "2023年初等与学前教育工作要点"
    assert list(plan.sections.values_list("code", flat=True)) == ["goals", "equity", "management", "quality"]
    items = WorkItem.objects.filter(section__plan=plan).order_by("number")
    assert list(items.values_list("number", flat=True)) == list(range(1, 19))
    assert items.get(number=1).title == "扩大小学教育资源"
    assert "第五小学2023年秋季交付办学" in items.get(number=1).text
    # Per-unit rules at a level and a rhythm, and a target without a number (issue 13 §3).
    shown = dict(plan.targets.filter(code__in=["PU1", "PU2", "PU3"]).values_list("code", "each_unit_level"))
    assert shown == {"PU1": "district", "PU2": "township", "PU3": ""}
    assert plan.targets.get(code="PU2").rhythm == "month"
    pu3 = plan.targets.get(code="PU3")
    assert set(pu3.progress.filter(org_unit=pu3.scope).values_list("status", flat=True)) == {"tracked"}

    # one log-in per role, printed with the password, and it works
    printed = out.getvalue()
    assert DEMO_PASSWORD in printed
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {Role.BUREAU_ADMIN, Role.REVIEWER, Role.PRINCIPAL, Role.INSPECTOR}
    for username in ["admin", "reviewer", "principal", "kgprincipal", "inspector"]:
        assert username in printed
        assert get_user_model().objects.get(username=username).check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_the_demo_bureau_admin_can_use_django_admin(client) -> None:
    call_command("load_demo", stdout=StringIO())
    admin = get_user_model().objects.get(username="admin")
    assert not admin.is_superuser
    client.force_login(admin)
    assert client.get("/admin/schools/orgunit/").status_code == 200
    client.force_login(get_user_model().objects.get(username="principal"))
    assert client.get("/admin/schools/orgunit/").status_code == 302  # not staff: sent to the admin log-in


@pytest.mark.django_db
def test_generate_dataset_is_deterministic_for_a_seed() -> None:
    from schools.dataset import generate

    counts = generate(500, seed=7)
    assert counts["total"] == OrgUnit.objects.filter(code__startswith="GEN").count() == 500
    first = list(
        OrgUnit.objects.filter(level=Level.SCHOOL).order_by("code").values_list("code", "school_type", "ownership")
    )
    for depth in (3, 2, 1, 0):  # children first: parents are protected
        OrgUnit.objects.filter(code__startswith="GEN", depth=depth).delete()
    generate(500, seed=7)
    second = list(
        OrgUnit.objects.filter(level=Level.SCHOOL).order_by("code").values_list("code", "school_type", "ownership")
    )
    assert first == second
    root = OrgUnit.objects.get(code="GEN")
    assert OrgUnit.objects.subtree_of(root).count() == 500
