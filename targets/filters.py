"""Filters of the drill-down table: school type and ownership of the listed units."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from schools.models import OrgUnit, Ownership, SchoolType


class DrilldownFilterSet(django_filters.FilterSet):
    """Narrow the drill-down rows; the same filters apply to its CSV/XLSX export."""

    school_type = django_filters.ChoiceFilter(label=_("学校类型"), choices=SchoolType.choices)
    ownership = django_filters.ChoiceFilter(label=_("办学性质"), choices=Ownership.choices)

    class Meta:
        model = OrgUnit
        fields = ["school_type", "ownership"]
