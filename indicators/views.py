"""Indicator pages for bureau staff: list, detail with latest values, create/edit, a value's explanation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import CreateView, UpdateView
from django_tables2 import RequestConfig

from indicators import engine, explain, services
from indicators.filters import IndicatorFilterSet
from indicators.forms import IndicatorForm
from indicators.models import Indicator, IndicatorValue
from indicators.tables import IndicatorTable, IndicatorValueTable, WindowValueTable, formula_text
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from portal.views import ObjectListView
from schools.models import OrgUnit
from submissions.models import Period


class IndicatorListView(ObjectListView):
    # Indicators are the bureau's shared definitions: not scoped, every signed-in user may read them.
    queryset = Indicator.objects.select_related("designation_kind").annotate(target_count=Count("targets"))
    filterset_class = IndicatorFilterSet
    table_class = IndicatorTable
    scope_field = None
    export_name = "indicators"
    title = gettext_lazy("统计指标")
    template_name = "indicators/indicator_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_edit"] = scope.has_perm(self.request.user, Perm.ADMIN)
        return context


def _latest_period(indicator: Indicator) -> Period | None:
    period_id = (
        IndicatorValue.objects.filter(indicator=indicator, value__isnull=False)
        .order_by("-period__year", "-period__quarter")
        .values_list("period_id", flat=True)
        .first()
    )
    return Period.objects.filter(pk=period_id).first() if period_id else None


@login_required
def indicator_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Definition, formula and the values of the user's top units and their children for one period."""
    indicator = get_object_or_404(Indicator.objects.select_related("designation_kind"), code=code)
    periods = list(Period.objects.filter(indicator_values__indicator=indicator).distinct().order_by("year", "quarter"))
    top_ids = list(scope.top_units(request.user).values_list("pk", flat=True))
    # The half-years and years the indicator's period_mode allows, for the years it has values in.
    windows = [
        window
        for year in sorted({p.year for p in periods})
        for code_ in (f"{year}H1", f"{year}H2", str(year))
        if (window := engine.parse_window(code_)) is not None and engine.window_allowed(indicator, window)
    ]
    window = next((w for w in windows if w.code == request.GET.get("period")), None)
    if window is not None:
        units = (
            scope.visible_units(request.user)
            .filter(Q(pk__in=top_ids) | Q(parent_id__in=top_ids), is_active=True)
            .order_by("path")
        )
        window_table = WindowValueTable(engine.window_values([indicator], list(units), window))
        RequestConfig(request, paginate={"per_page": 100}).configure(window_table)
        context = {
            "indicator": indicator,
            "formula": formula_text(indicator),
            "period": window,
            "periods": periods,
            "windows": windows,
            "table": window_table,
            "can_edit": scope.has_perm(request.user, Perm.ADMIN),
        }
        return render(request, "indicators/indicator_detail.html", context)
    period = next((p for p in periods if p.code == request.GET.get("period")), None) or _latest_period(indicator)
    values = IndicatorValue.objects.none()
    if period is not None:
        values = scope.filter_by_scope(
            request.user,
            IndicatorValue.objects.filter(indicator=indicator, period=period)
            .filter(Q(org_unit_id__in=top_ids) | Q(org_unit__parent_id__in=top_ids))
            .select_related("indicator", "org_unit", "period"),
            "org_unit",
        ).order_by("org_unit__path")
    table = IndicatorValueTable(values)
    RequestConfig(request, paginate={"per_page": 100}).configure(table)
    context = {
        "indicator": indicator,
        "formula": formula_text(indicator),
        "period": period,
        "periods": periods,
        "windows": windows,
        "table": table,
        "can_edit": scope.has_perm(request.user, Perm.ADMIN),
    }
    return render(request, "indicators/indicator_detail.html", context)


class _IndicatorEditMixin(LoginRequiredMixin):
    model = Indicator
    form_class = IndicatorForm
    template_name = "indicators/indicator_form.html"
    slug_field = "code"
    slug_url_kwarg = "code"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            scope.require(request.user, Perm.ADMIN)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: IndicatorForm) -> HttpResponse:
        try:
            changed = services.save_indicator(form.instance, self.request.user)  # type: ignore[attr-defined]
        except ServiceError as error:
            for field, errors in error.errors.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
            return self.form_invalid(form)  # type: ignore[attr-defined]
        if changed:
            messages.success(self.request, _("已保存；指标值正在按新口径重新计算。"))  # type: ignore[attr-defined]
        else:
            messages.success(self.request, _("已保存。"))  # type: ignore[attr-defined]
        return HttpResponseRedirect(form.instance.get_absolute_url())


class IndicatorCreateView(_IndicatorEditMixin, CreateView):
    extra_context = {"title": gettext_lazy("新建统计指标")}


class IndicatorUpdateView(_IndicatorEditMixin, UpdateView):
    extra_context = {"title": gettext_lazy("修改统计指标")}


@login_required
def indicator_value_detail(request: HttpRequest, code: str, unit: str, period: str) -> HttpResponse:
    """One value with every unit and figure that went into it, so an inspector can check it by hand."""
    indicator = get_object_or_404(Indicator, code=code)
    org_unit = scope.get_in_scope(request.user, OrgUnit.objects.all(), "", code=unit)
    the_period = get_object_or_404(Period, code=period)
    explanation = explain.explain(indicator, org_unit, the_period)
    context = {
        "indicator": indicator,
        "formula": formula_text(indicator),
        "explanation": explanation,
        "detail_url": reverse("indicators:indicator_detail", kwargs={"code": indicator.code}),
    }
    return render(request, "indicators/indicatorvalue_detail.html", context)
