"""Tables of the submissions pages (django-tables2); every HTML column also exports a plain value."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.columns import DecimalColumn, LocalizedColumn, StatusBadgeColumn
from portal.numbers import NO_DATA, format_number
from portal.tables import BaseTable
from submissions.models import Figure, Period, Submission, ValidationRule
from submissions.reporting import ReportedBy


class SubmissionTable(BaseTable):
    org_unit = tables.Column(
        verbose_name=_("单位"), linkify=lambda record: record.get_absolute_url(), order_by=("org_unit__name", "pk")
    )
    org_unit__code = tables.Column(verbose_name=_("单位代码"))
    district = tables.Column(
        verbose_name=_("上级单位"), accessor="org_unit__parent__name", order_by=("org_unit__path",)
    )
    period = tables.Column(verbose_name=_("周期"), order_by=("period__year", "period__quarter", "pk"))
    status = StatusBadgeColumn()
    has_explanations = tables.BooleanColumn(verbose_name=_("有说明"), accessor="explanations", yesno=(_("是"), ""))
    is_zero_report = tables.BooleanColumn(yesno=(_("是"), ""))
    submitted_at = tables.DateTimeColumn(verbose_name=_("提交时间"), format="Y-m-d H:i")
    version = tables.Column(attrs={"td": {"class": "num"}})

    class Meta(BaseTable.Meta):
        model = Submission
        fields = (
            "org_unit", "org_unit__code", "district", "period", "status", "has_explanations", "is_zero_report",
            "submitted_at", "version",
        )  # fmt: skip
        order_by = ("org_unit",)

    def render_has_explanations(self, value: dict[str, str]) -> str:
        return _("是") if value else ""

    def value_has_explanations(self, value: dict[str, str]) -> str:
        return "; ".join(f"{key}: {text}" for key, text in (value or {}).items())


class ReviewTable(SubmissionTable):
    """The reviewer's list: a checkbox per row for bulk approval."""

    select = tables.CheckBoxColumn(accessor="pk", attrs={"input": {"name": "ids"}}, exclude_from_export=True)

    class Meta(SubmissionTable.Meta):
        sequence = ("select", "...")


class FigureTable(BaseTable):
    code = tables.Column(linkify=("submissions:figure_update", {"code": tables.A("code")}))
    name = LocalizedColumn()
    reported_by = tables.Column(verbose_name=_("填报单位"), empty_values=(), orderable=False)
    min_value = DecimalColumn()
    max_value = DecimalColumn()

    class Meta(BaseTable.Meta):
        model = Figure
        fields = (
            "code", "name", "unit", "value_type", "time_aggregation", "unit_aggregation", "min_value", "max_value",
            "reported_by", "group", "order", "is_active",
        )  # fmt: skip
        order_by = ("group", "order")

    def value_reported_by(self, record: Figure) -> str:
        return ReportedBy.of(record).describe()

    def render_reported_by(self, record: Figure) -> str:
        return self.value_reported_by(record)


class ValidationRuleTable(BaseTable):
    code = tables.Column(linkify=("submissions:rule_update", {"pk": tables.A("pk")}))
    # English pages (and their exports) show the English name and message where one is filled in.
    name = LocalizedColumn()
    message = LocalizedColumn()
    expression = tables.Column(verbose_name=_("规则"), empty_values=(), orderable=False)

    class Meta(BaseTable.Meta):
        model = ValidationRule
        fields = ("code", "name", "expression", "severity", "message", "is_active")

    def render_expression(self, record: ValidationRule) -> Any:
        return format_html("<code>{} {} {}</code>", record.left, record.get_operator_display(), record.right)

    def value_expression(self, record: ValidationRule) -> str:
        return f"{record.left} {record.operator} {record.right}"


class PeriodTable(BaseTable):
    code = tables.Column(
        linkify=("submissions:period_update", {"code": tables.A("code")}), order_by=("year", "quarter")
    )

    class Meta(BaseTable.Meta):
        model = Period
        fields = ("code", "opens_on", "due_on", "locks_on")
        order_by = ("-code",)


class CompletenessTable(tables.Table):
    """Counts by status per district (rows are plain dicts computed by ``completeness.board``)."""

    name = tables.Column(verbose_name=_("区县/单位"))
    expected = tables.Column(verbose_name=_("应报"), attrs={"td": {"class": "num"}})
    not_started = tables.Column(verbose_name=_("未填报"), attrs={"td": {"class": "num"}})
    draft = tables.Column(verbose_name=_("草稿"), attrs={"td": {"class": "num"}})
    returned = tables.Column(verbose_name=_("已退回"), attrs={"td": {"class": "num"}})
    submitted = tables.Column(verbose_name=_("已提交"), attrs={"td": {"class": "num"}})
    approved = tables.Column(verbose_name=_("已审核"), attrs={"td": {"class": "num"}})
    zero_report = tables.Column(verbose_name=_("零报告"), attrs={"td": {"class": "num"}})
    rate = tables.Column(verbose_name=_("提交率"), attrs={"td": {"class": "num"}})

    class Meta(BaseTable.Meta):
        orderable = False
        per_page = 1000

    def render_rate(self, value: float | None) -> str:
        return format_number(value, 1, "%", empty=NO_DATA)


class MissingTable(tables.Table):
    """Units that have not submitted (no submission, draft or returned), overdue once the due date passed."""

    code = tables.Column(verbose_name=_("单位代码"))
    name = tables.Column(verbose_name=_("单位"))
    district = tables.Column(verbose_name=_("区县"))
    status = tables.Column(verbose_name=_("状态"))
    overdue = tables.BooleanColumn(verbose_name=_("逾期"), yesno=(_("是"), ""))
    # 催报: a button of the page's chase form (``form=``, so the table needs no form of its own); left out for
    # users who may not review and in exports.
    chase = tables.Column(verbose_name=_("催报"), accessor="code", orderable=False, exclude_from_export=True)

    class Meta(BaseTable.Meta):
        per_page = 100

    def render_chase(self, value: str) -> str:
        return format_html(
            '<button type="submit" form="chase-form" name="unit" value="{}" class="btn btn-small">{}</button>',
            value,
            _("催报"),
        )
