from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from portal.views import ObjectListView
from schools.filters import OrgUnitFilterSet
from schools.models import OrgUnit
from schools.tables import OrgUnitTable


class OrgUnitListView(ObjectListView):
    queryset = OrgUnit.objects.select_related("parent")
    filterset_class = OrgUnitFilterSet
    table_class = OrgUnitTable
    scope_field = ""
    export_name = "org_units"
    title = _("学校与组织")
