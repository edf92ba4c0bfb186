"""The drill-down table of the target page: one row per unit, sortable by gap to the target."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tables2.utils import signature

from portal.numbers import NO_DATA, format_number, format_signed
from portal.tables import BaseTable
from schools.models import Level, OrgUnit
from targets import display
from targets.models import ProgressStatus, Target
from targets.queries import BELOW_TARGET, STATUS_LABELS


def table_kwargs(target: Target, rows_mode: str) -> dict[str, Any]:
    """The drill-down table's number format for ``target`` (the page and its exports alike): a per-unit rule's
    child rows show their share of units meeting it (``targets.display``), a school row its own value."""
    indicator = target.indicator if target.indicator_id else None
    return {
        "decimals": indicator.decimals if indicator else 1,
        "unit": indicator.unit if indicator else "",
        "target": target,
        "share": rows_mode != "schools" and display.is_share(target),
    }


class DrilldownTable(BaseTable):
    """Child units (or schools) with value, numerator, denominator, gap and status.

    Built per request with the target and its number format; small denominators are flagged and
    sorted after every ranked row (a rate over 12 children would otherwise top or tail the list).
    """

    rank = tables.Column(default="—", verbose_name=_("名次"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    code = tables.Column(verbose_name=_("代码"))
    name = tables.Column(verbose_name=_("单位"))
    school_type = tables.Column(verbose_name=_("学校类型"))
    ownership = tables.Column(verbose_name=_("办学性质"))
    value = tables.Column(
        default=NO_DATA, verbose_name=_("指标值"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    numerator = tables.Column(
        default=NO_DATA, verbose_name=_("分子"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    denominator = tables.Column(
        default=NO_DATA, verbose_name=_("分母"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    gap = tables.Column(verbose_name=_("与目标差距"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    status = tables.Column(verbose_name=_("状态"))
    flag = tables.Column(verbose_name=_("提示"), accessor="is_small", orderable=False)

    class Meta(BaseTable.Meta):
        model = OrgUnit
        fields = ("code", "name", "school_type", "ownership", "value", "numerator", "denominator", "gap", "status")
        sequence = (
            "code", "name", "school_type", "ownership", "value", "numerator", "denominator", "gap", "status", "rank"
        )  # fmt: skip
        order_by = ("gap",)
        # includes/table.html with the body rows rendered by rows_html() (the league table's hot path).
        template_name = "targets/_drilldown_table.html"

    def __init__(
        self,
        *args: Any,
        decimals: int = 1,
        unit: str = "",
        link_params: dict[str, str] | None = None,
        target: Target | None = None,
        share: bool = False,
        **kwargs: Any,
    ) -> None:
        self.decimals = decimals
        self.unit = unit
        # A per-unit rule's child rows show the share of units meeting it, in the dashboard's words.
        self.target = target
        self.share = share and target is not None
        self.link_params = link_params or {}
        super().__init__(*args, **kwargs)
        if self.share:  # the value is the share of units meeting the rule (targets.queries.drilldown_queryset)
            self.columns["value"].column.verbose_name = _("达标单位占比")

    def rows_html(self) -> SafeString:
        """The ``<tr>`` rows of the current page, the same HTML as django-tables2's row loop, faster.

        django-tables2 looks up each cell's render method signature, column attributes and model field
        for every cell, and the template loop adds its own cost: 50 rows × 10 columns were most of the
        league table's server time. Here they are looked up once per column per page. A test renders
        the same page both ways and compares the cells. A column this fast path does not know (a link,
        localize set, a dotted accessor, a render method asking for the bound row, attributes computed
        per cell) takes django-tables2's own path for its cells.
        """
        columns = [self._fast_column(bound) for bound in self.columns]
        parts: list[str] = []
        for row in self.paginated_rows:
            record = row.record
            parts.append(f"<tr {row.attrs.as_html()}>")
            for bound, td, fast in columns:
                if fast is None:
                    cell = row.get_cell(bound.name)
                else:
                    display, render, wanted = fast
                    value = getattr(record, display)() if display else getattr(record, bound.accessor, None)
                    if value in bound.column.empty_values:
                        cell = bound.default
                    else:
                        arguments = {"value": value, "record": record, "column": bound.column, "bound_column": bound}
                        cell = render(**{k: arguments[k] for k in wanted})
                parts.append(f"<td {td}>{conditional_escape(localize(cell))}</td>")
            parts.append("</tr>")
        if not parts and self.empty_text:
            parts.append(f'<tr><td colspan="{len(columns)}">{conditional_escape(self.empty_text)}</td></tr>')
        return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703  every cell went through conditional_escape

    def _fast_column(self, bound: Any) -> tuple[Any, str, tuple[str, Any, list[str]] | None]:
        """(bound column, its td attributes, (choices display method, render, its arguments) or None)."""
        attrs = bound.column.attrs.get("td", bound.column.attrs.get("cell", {}))
        td = bound.attrs["td"].as_html()
        accessor = str(bound.accessor)
        args, takes_kwargs = signature(bound.render)
        simple = (
            not bound.link
            and bound.column.localize is None
            and "." not in accessor
            and "__" not in accessor
            and not takes_kwargs
            and not set(args) - {"value", "record", "column", "bound_column"}
            and not any(callable(v) for v in attrs.values())
        )
        if not simple:
            return bound, td, None
        display = ""
        try:
            if self.Meta.model._meta.get_field(accessor).choices:
                display = f"get_{accessor}_display"
        except FieldDoesNotExist:
            pass
        return bound, td, (display, bound.render, list(args))

    # Sorting: flagged (small) rows always last, then the column, then path as a stable tie-breaker.
    def _order(self, queryset: QuerySet, name: str, is_descending: bool) -> tuple[QuerySet, bool]:
        key = F(name).desc(nulls_last=True) if is_descending else F(name).asc(nulls_last=True)
        return queryset.order_by("is_small", key, "path"), True

    def order_gap(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order(queryset, "gap", is_descending)

    def order_rank(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        # Unranked rows (no value, small denominators) last either way.
        key = F("rank").desc(nulls_last=True) if is_descending else F("rank").asc(nulls_last=True)
        return queryset.order_by(key, "path"), True

    def order_value(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order(queryset, "value", is_descending)

    def order_numerator(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order(queryset, "numerator", is_descending)

    def order_denominator(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order(queryset, "denominator", is_descending)

    # Non-unique text columns: the path keeps pages from skipping or repeating rows.
    def _order_text(self, queryset: QuerySet, name: str, is_descending: bool) -> tuple[QuerySet, bool]:
        return queryset.order_by(f"-{name}" if is_descending else name, "path"), True

    def order_name(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order_text(queryset, "name", is_descending)

    def order_school_type(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order_text(queryset, "school_type", is_descending)

    def order_ownership(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order_text(queryset, "ownership", is_descending)

    def order_status(self, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return self._order_text(queryset, "status", is_descending)

    def render_name(self, value: str, record: OrgUnit) -> str:
        if record.level != Level.SCHOOL:
            # A district or 学区: clicking goes one level down on the same target page.
            query = urlencode({**self.link_params, "unit": record.code})
            return format_html('<a href="?{}">{}</a>', query, value)
        url = reverse("reports:unit_detail", kwargs={"code": record.code})
        return format_html('<a href="{}">{}</a>', url, value)

    def _num(self, value: Decimal | None, unit: str = "") -> str:
        return format_number(value, self.decimals, unit, empty=NO_DATA)

    def render_value(self, value: Decimal | None) -> str:
        if self.target is not None:
            return display.actual_text(self.target, value, self.decimals, self.unit, as_share=self.share)
        return self._num(value, self.unit)

    def render_numerator(self, value: Decimal | None) -> str:
        return format_number(value, 0, empty=NO_DATA)

    def render_denominator(self, value: Decimal | None) -> str:
        return format_number(value, 0, empty=NO_DATA)

    def render_gap(self, value: Decimal | None) -> str:
        return format_signed(value, self.decimals, self.unit)

    def render_status(self, value: str, record: OrgUnit) -> str:
        badge = STATUS_BADGES.get(value, value)
        if getattr(record, "progress_status", value) is None:
            # No progress row of its own: the unit's value against the target value.
            return format_html(
                '<span class="badge badge-{}" title="{}">{}</span>',
                badge,
                _("本单位没有单独的进展记录：按本单位的指标值与目标值比较。"),
                STATUS_LABELS.get(value, value),
            )
        return format_html('<span class="badge badge-{}">{}</span>', badge, STATUS_LABELS.get(value, value))

    def render_flag(self, value: bool, record: OrgUnit) -> str:
        carried = carried_note(getattr(record, "carried_units", 0), record.level == Level.SCHOOL)
        if not value:
            return carried
        small = format_html(
            '<span class="flag-small" title="{}">⚠ {}</span>',
            _("分母过小，不参与排名"),
            _("样本过小（分母 {}）").format(format_number(record.denominator, 0)),
        )
        return format_html("{}{}", small, carried)

    # Export values: plain numbers and words (the export, portal.tables.export_table, keeps text as text).
    def value_name(self, value: str) -> str:
        return value

    def value_school_type(self, record: OrgUnit) -> str:
        return record.get_school_type_display()

    def value_ownership(self, record: OrgUnit) -> str:
        return record.get_ownership_display()

    def value_status(self, value: str) -> str:
        return str(STATUS_LABELS.get(value, value or ""))

    def value_flag(self, value: bool) -> str:
        return str(_("样本过小")) if value else ""

    # The export without django-tables2's per-cell path (accessor, signature lookup, gettext per cell took
    # 14.9 s at 100k rows): the same values as ``as_values()`` — a test compares both cell by cell.
    EXPORT_FIELDS = {
        "code": "code",
        "name": "name",
        "school_type": "school_type",
        "ownership": "ownership",
        "value": "value",
        "numerator": "numerator",
        "denominator": "denominator",
        "gap": "gap",
        "status": "status",
        "rank": "rank",
        "flag": "is_small",
    }

    def export_header(self) -> list[str]:
        return [str(column.header) for column in self._export_columns()]

    def _export_columns(self) -> list[Any]:
        return [column for column in self.columns.iterall() if not column.column.exclude_from_export]

    def export_rows(self) -> Iterator[list[Any]]:
        """The data rows of ``as_values()`` (header excluded), read as tuples in the table's order."""
        names = [column.name for column in self._export_columns()]
        school_types = {key: str(label) for key, label in OrgUnit._meta.get_field("school_type").choices}
        ownerships = {key: str(label) for key, label in OrgUnit._meta.get_field("ownership").choices}
        statuses = {key: str(label) for key, label in STATUS_LABELS.items()}
        small = str(_("样本过小"))
        # Choice fields show their label first (django-tables2 calls get_FOO_display); then an empty cell
        # (None or "") is None, as django-tables2's default, and the column's value_* runs on the rest.
        display: dict[str, Any] = {
            "school_type": lambda v: school_types.get(v, v),
            "ownership": lambda v: ownerships.get(v, v),
        }
        convert: dict[str, Any] = {
            "value": self._rounded,
            "numerator": plain,
            "denominator": plain,
            "gap": self._rounded,
            "status": lambda v: statuses.get(v, v),
            "flag": lambda v: small if v else "",
        }
        steps = [(display.get(name), convert.get(name)) for name in names]
        queryset = self.data.data.values_list(*(self.EXPORT_FIELDS[name] for name in names))
        for record in queryset.iterator(chunk_size=2000):
            row = []
            for (shown, function), value in zip(steps, record, strict=True):
                if shown is not None:
                    value = shown(value)
                if value is None or value == "":
                    row.append(None)
                else:
                    row.append(function(value) if function is not None else value)
            yield row

    def _rounded(self, value: Decimal | None) -> Decimal | None:
        # Exports carry the number as the page shows it (the indicator's decimals), not 6 places.
        return None if value is None else value.quantize(Decimal(1).scaleb(-self.decimals))

    def value_value(self, value: Decimal | None) -> Decimal | None:
        return self._rounded(value)

    def value_numerator(self, value: Decimal | None) -> Decimal | None:
        return plain(value)

    def value_denominator(self, value: Decimal | None) -> Decimal | None:
        return plain(value)

    def value_gap(self, value: Decimal | None) -> Decimal | None:
        return self._rounded(value)


# A status that is not a progress status takes the look of the one it resembles.
STATUS_BADGES = {BELOW_TARGET: ProgressStatus.OFF_TRACK.value}


def carried_note(count: int | None, own: bool) -> str:
    """The league table's note on a value carried forward from an earlier quarter (``carried_units``)."""
    if not count:
        return ""
    title = _("本季度没有经审核的新数据的单位，沿用其本年度最近一次审核通过的数值（存量数据，如在校生数）。")
    if own:
        text = _("沿用此前季度的数据")
    else:
        text = ngettext("含 %(n)s 个单位沿用此前季度的数据", "含 %(n)s 个单位沿用此前季度的数据", count) % {"n": count}
    return format_html('<span class="help carried" title="{}">{}</span>', title, text)


def plain(value: Decimal | None) -> Decimal | None:
    """1000.000000 → 1000, 12.500000 → 12.5 (no exponent)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
