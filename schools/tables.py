from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from portal.tables import BaseTable
from schools.models import OrgUnit


class OrgUnitTable(BaseTable):
    code = tables.Column(linkify=True)
    name = tables.Column(linkify=True)
    parent = tables.Column(verbose_name=_("上级单位"), order_by=("parent__name", "pk"))
    is_central = tables.BooleanColumn(yesno=(_("是"), ""))

    class Meta(BaseTable.Meta):
        model = OrgUnit
        fields = ("code", "name", "level", "school_type", "ownership", "is_central", "parent", "is_active")
        order_by = ("path",)
