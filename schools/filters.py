from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from schools.models import Designation, Level, OrgUnit, Ownership, SchoolType


class OrgUnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("名称"))
    level = django_filters.ChoiceFilter(choices=Level.choices, label=_("层级"))
    school_type = django_filters.ChoiceFilter(choices=SchoolType.choices, label=_("学校类型"))
    ownership = django_filters.ChoiceFilter(choices=Ownership.choices, label=_("办学性质"))
    is_central = django_filters.BooleanFilter(label=_("中心校"))

    class Meta:
        model = OrgUnit
        fields = ["q", "level", "school_type", "ownership", "is_central"]


class OrgUnitApiFilterSet(OrgUnitFilterSet):
    """The unit list page's filters, and the parent by code (``GET /api/v1/org-units/?parent=&level=&school_type=``)."""

    parent = django_filters.CharFilter(field_name="parent__code", label=_("上级单位代码"))

    class Meta(OrgUnitFilterSet.Meta):
        fields = ["parent", *OrgUnitFilterSet.Meta.fields]


class DesignationFilterSet(django_filters.FilterSet):
    """``GET /api/v1/designations/?org_unit=&kind=`` (codes)."""

    org_unit = django_filters.CharFilter(field_name="org_unit__code", label=_("单位代码"))
    kind = django_filters.CharFilter(field_name="kind__code", label=_("认定类别"))

    class Meta:
        model = Designation
        fields = ["org_unit", "kind"]
