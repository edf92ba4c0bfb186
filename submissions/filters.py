"""Filters of the submissions list pages."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from schools.models import OrgUnit
from submissions.models import Figure, Period, Submission, SubmissionStatus, TimeAggregation


class SubmissionFilterSet(django_filters.FilterSet):
    period = django_filters.ModelChoiceFilter(
        queryset=Period.objects.order_by("-year", "-quarter"), label=_("周期"), empty_label=_("全部周期")
    )
    status = django_filters.ChoiceFilter(choices=SubmissionStatus.choices, label=_("状态"))
    q = django_filters.CharFilter(field_name="org_unit__name", lookup_expr="icontains", label=_("单位名称"))
    district = django_filters.CharFilter(field_name="org_unit__path", method="filter_under", label=_("上级单位代码"))

    class Meta:
        model = Submission
        fields = ["period", "status", "q", "district"]

    def filter_under(self, queryset, name, value):
        unit = OrgUnit.objects.filter(code=value.strip()).first()
        if unit is None:
            return queryset.none()
        return queryset.filter(org_unit__path__startswith=unit.path)


class FigureFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("名称"))
    time_aggregation = django_filters.ChoiceFilter(choices=TimeAggregation.choices, label=_("时间汇总"))
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = Figure
        fields = ["q", "time_aggregation", "is_active"]


class SubmissionApiFilterSet(django_filters.FilterSet):
    """``GET /api/v1/submissions/?period=&org_unit=&status=``: the list page's status filter, periods and units by
    code (the API's natural keys)."""

    period = django_filters.CharFilter(field_name="period__code", method="filter_period", label=_("周期"))
    org_unit = django_filters.CharFilter(field_name="org_unit__code", label=_("单位代码"))
    status = SubmissionFilterSet.base_filters["status"]

    class Meta:
        model = Submission
        fields = ["period", "org_unit", "status"]

    def filter_period(self, queryset, name, value):
        return queryset.filter(**{name: value.strip().upper()})
