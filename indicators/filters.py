"""Filters of the indicator list page and of the indicator API."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from indicators.models import Aggregation, Indicator, IndicatorValue


class IndicatorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("名称"))
    aggregation = django_filters.ChoiceFilter(choices=Aggregation.choices, label=_("汇总方式"))
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = Indicator
        fields = ["q", "aggregation", "is_active"]


class IndicatorValueFilterSet(django_filters.FilterSet):
    """``GET /api/v1/indicator-values/?indicator=&org_unit=&period=&parent=`` (codes)."""

    indicator = django_filters.CharFilter(field_name="indicator__code", label=_("指标代码"))
    org_unit = django_filters.CharFilter(field_name="org_unit__code", label=_("单位代码"))
    period = django_filters.CharFilter(field_name="period__code", label=_("周期"))
    parent = django_filters.CharFilter(field_name="org_unit__parent__code", label=_("上级单位代码"))

    class Meta:
        model = IndicatorValue
        fields = ["indicator", "org_unit", "period", "parent"]
