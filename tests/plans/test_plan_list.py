"""The plan list page renders, filters and exports for any signed-in user."""

from __future__ import annotations

from django.test import Client

from plans.models import Plan
from tests.conftest import Personas, Tree


def test_plan_list_renders_filters_and_exports(client: Client, tree: Tree, users: Personas) -> None:
    Plan.objects.create(code="p2023", title="2023年工作要点", year=2023, owner_unit=tree.city)
    Plan.objects.create(code="p2015", title="2015年工作意见", year=2015, owner_unit=tree.city)
    client.force_login(users.alice)
    page = client.get("/plans/?year=2023").content.decode()
    assert "2023年工作要点" in page
    assert "2015年工作意见" not in page
    export = client.get("/plans/?_export=csv")
    assert export.status_code == 200
    assert "2015年工作意见" in export.content.decode()
