"""Filters of the indicator list."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from indicators.models import Aggregation, Indicator


class IndicatorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("名称"))
    aggregation = django_filters.ChoiceFilter(choices=Aggregation.choices, label=_("汇总方式"))
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = Indicator
        fields = ["q", "aggregation", "is_active"]
