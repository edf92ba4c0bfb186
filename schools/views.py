from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from portal.scope import Perm, has_perm
from portal.views import ObjectListView
from schools.filters import OrgUnitFilterSet
from schools.models import OrgUnit
from schools.tables import OrgUnitTable
from schools.unit_search import SEARCH_LIMIT, search_units
from schools.unit_search import as_json as unit_json


class OrgUnitListView(ObjectListView):
    queryset = OrgUnit.objects.select_related("parent")
    filterset_class = OrgUnitFilterSet
    table_class = OrgUnitTable
    scope_field = ""
    export_name = "org_units"
    title = _("学校与组织")
    template_name = "schools/orgunit_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_admin"] = has_perm(self.request.user, Perm.ADMIN)
        return context


@login_required
@require_GET
def unit_search(request: HttpRequest) -> JsonResponse:
    """JSON for static/js/unit-picker.js: ``?q=`` (code prefix or part of the name), ``level=`` (repeatable or
    comma-separated), ``perm=admin`` for pickers of units one may administer, ``limit=`` (≤ 20).

    Only units inside the user's scope are ever returned (schools.unit_search through portal.scope).
    """
    levels = [level for value in request.GET.getlist("level") for level in value.split(",") if level]
    perm = Perm.ADMIN if request.GET.get("perm") == "admin" else Perm.VIEW
    raw_limit = request.GET.get("limit", "")
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) < 4 else SEARCH_LIMIT
    query = request.GET.get("q", "")[:100]
    units = search_units(request.user, query, levels=levels, perm=perm, limit=limit)
    return JsonResponse({"results": [unit_json(unit) for unit in units]})
