from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from schools.models import Level, OrgUnit, Ownership, SchoolType


class OrgUnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("名称"))
    level = django_filters.ChoiceFilter(choices=Level.choices, label=_("层级"))
    school_type = django_filters.ChoiceFilter(choices=SchoolType.choices, label=_("学校类型"))
    ownership = django_filters.ChoiceFilter(choices=Ownership.choices, label=_("办学性质"))
    is_central = django_filters.BooleanFilter(label=_("中心校"))

    class Meta:
        model = OrgUnit
        fields = ["q", "level", "school_type", "ownership", "is_central"]
