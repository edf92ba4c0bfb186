"""Tables of the indicator pages."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from indicators.models import DISPERSION_AGGREGATIONS, Indicator, IndicatorValue
from portal.columns import DecimalColumn, LocalizedColumn
from portal.tables import BaseTable


class IndicatorTable(BaseTable):
    code = tables.Column(linkify=True)
    name = LocalizedColumn(linkify=lambda record: record.get_absolute_url())
    formula = tables.Column(verbose_name=_("公式"), accessor="numerator", orderable=False, empty_values=())
    target_count = tables.Column(verbose_name=_("关联目标"), attrs={"td": {"class": "num"}})

    class Meta(BaseTable.Meta):
        model = Indicator
        fields = ("code", "name", "aggregation", "formula", "unit", "target_count", "is_active")
        order_by = ("code",)

    def render_formula(self, record: Indicator) -> str:
        return formula_text(record)

    def value_formula(self, record: Indicator) -> str:
        return formula_text(record)


def formula_text(indicator: Indicator) -> str:
    if indicator.aggregation == "count_units_where":
        return f"count({indicator.condition})"
    if indicator.aggregation == "count_designations":
        return f"count({indicator.designation_kind_id and indicator.designation_kind})"
    if indicator.denominator:
        factor = f" × {format(indicator.factor.normalize(), 'f')}" if indicator.factor != 1 else ""
        if indicator.aggregation in DISPERSION_AGGREGATIONS:
            # Each unit's own value Xᵢ, weighted by Pᵢ (default: the denominator).
            weight = indicator.weight or indicator.denominator
            own = f"Xᵢ = ({indicator.numerator}) ÷ ({indicator.denominator}){factor}"
            return f"{indicator.get_aggregation_display()}({own}, Pᵢ = {weight})"
        return f"Σ({indicator.numerator}) ÷ Σ({indicator.denominator}){factor}"
    return f"{indicator.get_aggregation_display()}({indicator.numerator})"


class IndicatorValueTable(BaseTable):
    org_unit = tables.Column(verbose_name=_("单位"), order_by=("org_unit__path", "pk"))
    period = tables.Column(verbose_name=_("周期"), order_by=("period__year", "period__quarter", "pk"))
    value = DecimalColumn(verbose_name=_("指标值"), measure="indicator", default=_("无数据"))
    numerator = DecimalColumn(verbose_name=_("分子"), default="—")
    denominator = DecimalColumn(verbose_name=_("分母"), default="—")
    unit_count = tables.Column(verbose_name=_("参与单位数"), attrs={"td": {"class": "num"}})
    explain = tables.LinkColumn(
        "indicators:indicator_value_detail",
        text=_("计算明细"),
        args=[tables.A("indicator__code"), tables.A("org_unit__code"), tables.A("period__code")],
        orderable=False,
        empty_values=(),
        exclude_from_export=True,
        verbose_name="",
    )

    class Meta(BaseTable.Meta):
        model = IndicatorValue
        fields = ("org_unit", "period", "value", "numerator", "denominator", "unit_count", "explain")
        order_by = ("org_unit",)


class WindowValueTable(BaseTable):
    """Values over a half-year or year (``engine.WindowValue``, ``engine.window_values``: no explanation page)."""

    org_unit = tables.Column(verbose_name=_("单位"), orderable=False)
    period = tables.Column(verbose_name=_("周期"), orderable=False)
    value = DecimalColumn(verbose_name=_("指标值"), measure="indicator", default=_("无数据"), orderable=False)
    numerator = DecimalColumn(verbose_name=_("分子"), default="—", orderable=False)
    denominator = DecimalColumn(verbose_name=_("分母"), default="—", orderable=False)
    unit_count = tables.Column(verbose_name=_("参与单位数"), attrs={"td": {"class": "num"}}, orderable=False)
