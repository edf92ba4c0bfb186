"""The indicator engine: set-based recompute of IndicatorValue for indicators × org units × periods.

How a value is made (all in SQL, one statement per tree level, every indicator at once):

1. ``eff`` — each reporting unit's effective figure values for every period needed: flow figures are
   the year-to-date sum of quarters Q1..q of that year, stock figures the latest non-null value up to
   the quarter within the year. Only approved submissions count (``INDICATORS_INCLUDE_SUBMITTED``
   adds submitted ones). Period offsets ``code[-k]`` read the effective value k quarters earlier.
   A stock value taken from an earlier quarter is flagged: ``IndicatorValue.carried_units`` counts the units
   whose own row reads one (summed up the tree like ``unit_count``) so that reports can say so.
2. ``own`` — per reporting unit and indicator, the numerator and denominator (or the value for max /
   min, 1/0 for a condition, the designation count) — the unit filter of the indicator applies to
   schools; closed (inactive) units contribute nothing.
3. aggregation up the tree, bottom-up by depth: a unit's row = its own contribution combined with
   its children's rows (sum of numerators and of denominators — a rate is never an average of
   rates —, max / min of values, sum of counts). Ratio = Σnum × factor / Σden, null when Σden is
   null or 0.
4. mean / stddev / cv (the 校际差异系数) spread each reporting unit's own value Xᵢ = num ÷ den × factor,
   weighted by Pᵢ (the ``weight`` expression, default the denominator). A unit carries PᵢXᵢ, Pᵢ and
   PᵢXᵢ² in numerator, denominator and ``moment2``; sums of those go up the tree like a ratio's, so the
   incremental path stays exact: X̄ = ΣPX ÷ ΣP, S = √(ΣPX² ÷ ΣP − X̄²), CV = S ÷ X̄. A unit that reported
   but has no value (zero or missing denominator, no positive weight) is left out and counted
   (``left_out_count``); fewer than two units counted → no value.

The same level statement serves the full recompute (all units of a depth at a time, fanned out per
district by the Celery task) and the incremental recompute after an approval (one unit, then its
ancestors one level at a time, reading their children's stored rows): both give identical rows.
Rows are upserted (``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE changed``) so ids stay stable,
unchanged rows are not rewritten and the run is idempotent; rows of the level the statement can no
longer produce (a closed school with no children rows) are deleted.

The statements are assembled as text (``# nosec B608`` marks them): everything interpolated is an int
(ids, offsets, quarter indexes), a status or filter code matching ``[a-z_]+`` (``_literal_list``), a
generated column name (``r0``, ``r1`` …), an ISO date, or SQL compiled from a parsed expression tree
(Decimal literals, those column names, a fixed set of operators) — never user text.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, overload

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from indicators import events
from indicators.models import DISPERSION_AGGREGATIONS, Aggregation, Indicator, IndicatorValue, IndicatorWindowValue
from indicators.unit_filter import UnitFilter
from portal import expressions
from portal.expressions import ExpressionError
from schools.models import DesignationLevel, Level, OrgUnit, Ownership, SchoolType
from submissions.models import Figure, Period, Submission, SubmissionStatus, TimeAggregation, Value

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

logger = logging.getLogger(__name__)

# Concurrent writers (per-district nightly tasks, approvals, a definition change's districts) take PostgreSQL
# advisory locks, always in the same order — the top-level subtrees (districts) they write into, sorted, then
# TOP_KEY for the rows above them — so they never deadlock. TOP_KEY is held briefly: an approval writes its
# district's rows under the district's key and commits, then combines the bureau's rows from the committed
# district rows in a second, short transaction under TOP_KEY alone (issue 17); the last writer to take TOP_KEY
# sees every district's commit, so the bureau's rows end equal to a full recompute.
LOCK_NAMESPACE = 0x7461_7267  # "targ"
TOP_KEY = 0  # org unit ids are positive
ANALYZE_AFTER_ROWS = 50_000
IV_TABLE = "targets_indicatorvalue"
# A typed NULL: PostgreSQL cannot UNION an untyped NULL column with numeric rows.
NULL_NUMERIC = "CAST(NULL AS NUMERIC)"
# The indicator-value columns a level statement computes: what "changed" and "unchanged" compare.
COMPUTED_COLUMNS = ("numerator", "denominator", "value", "unit_count", "moment2", "left_out_count", "carried_units")
_SAFE_LITERAL = re.compile(r"^[a-z_]+$")


# --- Periods ---


@dataclass(frozen=True)
class PeriodInfo:
    id: int
    idx: int  # year * 4 + quarter - 1
    year: int
    quarter: int
    end: datetime.date

    @property
    def year_start(self) -> datetime.date:
        return datetime.date(self.year, 1, 1)


def _period_info(period: Period) -> PeriodInfo:
    return PeriodInfo(period.pk, period.index, period.year, period.quarter, period.end_date)


def _year_quarter(idx: int) -> tuple[int, int]:
    return idx // 4, idx % 4 + 1


# --- Compiled indicators ---


@dataclass
class CompiledIndicator:
    indicator: Indicator
    numerator: expressions.Node | None
    denominator: expressions.Node | None
    condition: expressions.Node | None
    weight: expressions.Node | None = None

    @property
    def refs(self) -> list[tuple[str, int]]:
        found: dict[tuple[str, int], None] = {}
        for node in (self.numerator, self.denominator, self.condition, self.weight):
            if node is not None:
                for ref in expressions.references(node):
                    found.setdefault(ref, None)
        return list(found)


def compile_indicator(indicator: Indicator, known_codes: set[str] | None = None) -> CompiledIndicator:
    """Parse an indicator's expressions (raises ExpressionError on a bad one)."""
    mode = indicator.aggregation
    numerator = denominator = condition = weight = None
    if mode == Aggregation.COUNT_UNITS_WHERE:
        condition = expressions.parse(indicator.condition, known_codes, condition=True)
    elif mode not in (Aggregation.COUNT_DESIGNATIONS, Aggregation.COUNT_OPENED_UNITS):
        numerator = expressions.parse(indicator.numerator, known_codes)
        if (mode == Aggregation.RATIO or mode in DISPERSION_AGGREGATIONS) and indicator.denominator.strip():
            denominator = expressions.parse(indicator.denominator, known_codes)
        if mode in DISPERSION_AGGREGATIONS:
            if denominator is None:
                raise ExpressionError("no denominator")
            if (indicator.weight or "").strip():
                weight = expressions.parse(indicator.weight, known_codes)
    return CompiledIndicator(indicator, numerator, denominator, condition, weight)


# The unit filter's list fields and the codes each may hold (the form offers the same choices).
UNIT_FILTER_CHOICES = {
    "unit_filter_levels": Level,
    "unit_filter_school_types": SchoolType,
    "unit_filter_ownership": Ownership,
}


def validate_definition(indicator: Indicator, known_codes: set[str] | None = None) -> dict[str, list[str]]:
    """Field → messages for a definition that cannot be computed (positions named); {} when fine."""
    from django.utils.translation import gettext as _

    known = set(Figure.objects.values_list("code", flat=True)) if known_codes is None else known_codes
    errors: dict[str, list[str]] = {}
    mode = indicator.aggregation
    checks: list[tuple[str, str, bool]] = []
    if mode == Aggregation.COUNT_UNITS_WHERE:
        checks.append(("condition", indicator.condition, True))
    elif mode == Aggregation.COUNT_DESIGNATIONS:
        if indicator.designation_kind_id is None:
            errors["designation_kind"] = [_("“认定数”指标需要选择认定类别")]
    elif mode == Aggregation.COUNT_OPENED_UNITS:
        pass  # counts units by their opening date: no expression
    else:
        checks.append(("numerator", indicator.numerator, False))
        if mode == Aggregation.RATIO:
            if not (indicator.denominator or "").strip():
                errors["denominator"] = [_("比率指标需要分母表达式")]
            else:
                checks.append(("denominator", indicator.denominator, False))
        elif mode in DISPERSION_AGGREGATIONS:
            if not (indicator.denominator or "").strip():
                errors["denominator"] = [_("平均值、标准差和差异系数按各单位的值（分子 ÷ 分母）计算，需要分母表达式")]
            else:
                checks.append(("denominator", indicator.denominator, False))
        elif (indicator.denominator or "").strip():
            errors["denominator"] = [_("只有比率指标使用分母")]
    if (indicator.weight or "").strip():
        if mode in DISPERSION_AGGREGATIONS:
            checks.append(("weight", indicator.weight, False))
        else:
            errors["weight"] = [_("只有平均值、标准差和差异系数使用权重")]
    if indicator.designation_level and mode != Aggregation.COUNT_DESIGNATIONS:
        errors["designation_level"] = [_("只有“认定数”指标可以按认定级别统计")]
    elif indicator.designation_level and indicator.designation_level not in DesignationLevel.values:
        errors["designation_level"] = [_("未知的代码：{codes}").format(codes=indicator.designation_level)]
    for field_name, text, is_condition in checks:
        try:
            expressions.parse(text, known, condition=is_condition)
        except ExpressionError as error:
            errors[field_name] = [str(error)]
    if mode in DISPERSION_AGGREGATIONS and not errors:
        stages = set(figure_stages([compile_indicator(indicator, known)]).values())
        if len(stages) > 1:
            errors["numerator"] = [
                _("平均值、标准差和差异系数指标的填报项须属于同一学段（都是小学部、都是初中部或都不分学段）")
            ]
    if indicator.factor is not None and indicator.factor <= 0:
        errors["factor"] = [_("系数必须大于 0")]
    for field_name, choices in UNIT_FILTER_CHOICES.items():
        unknown = [str(code) for code in getattr(indicator, field_name) or [] if code not in choices.values]
        if unknown:
            errors[field_name] = [_("未知的代码：{codes}").format(codes="、".join(unknown))]
    return errors


def figure_stages(compiled: Sequence[CompiledIndicator]) -> dict[str, str]:
    """The stage (``Figure.stage``, "" for none) of every figure the indicators read, by code (one query)."""
    codes = {code for item in compiled for code, _offset in item.refs}
    return dict(Figure.objects.filter(code__in=codes).values_list("code", "stage")) if codes else {}


def indicator_stages(indicators: Sequence[Indicator]) -> dict[int, str]:
    """Each indicator's stage: the stage its figures share ("" when none or mixed; ``validate_definition``
    refuses a mean / stddev / cv indicator that mixes them). A 小学部 indicator's 九年一贯制 schools are their
    primary parts: their rows were computed from their 小学部 figures."""
    compiled = []
    for indicator in indicators:
        try:
            compiled.append(compile_indicator(indicator))
        except ExpressionError:
            continue
    stages = figure_stages(compiled)
    result = {}
    for item in compiled:
        found = {stages.get(code, "") for code, _offset in item.refs}
        result[item.indicator.pk] = found.pop() if len(found) == 1 else ""
    return result


def load_indicators(indicator_ids: Iterable[int] | None = None) -> list[CompiledIndicator]:
    """Active indicators that compile; a broken one is logged and skipped, never blocks the others."""
    queryset = Indicator.objects.filter(is_active=True)
    if indicator_ids is not None:
        queryset = queryset.filter(pk__in=list(indicator_ids))
    known = set(Figure.objects.values_list("code", flat=True))
    compiled = []
    for indicator in queryset:
        if indicator.aggregation == Aggregation.COUNT_DESIGNATIONS and indicator.designation_kind_id is None:
            logger.warning("indicator %s counts designations but has no kind; skipped", indicator.code)
            continue
        try:
            compiled.append(compile_indicator(indicator, known))
        except ExpressionError as error:
            logger.warning("indicator %s does not compile (%s); skipped", indicator.code, error)
    return compiled


# --- SQL building ---

_DISPERSION_CODES = ", ".join(f"'{code}'" for code in sorted(DISPERSION_AGGREGATIONS))
# ΣPX² ÷ ΣP − X̄² as (ΣPX²·ΣP − (ΣPX)²) ÷ (ΣP)², never below 0 (rounding of a zero spread).
_VARIANCE_SQL = (
    "(CASE WHEN agg.m2 * agg.den - agg.num * agg.num <= 0 THEN 0 "
    "ELSE (agg.m2 * agg.den - agg.num * agg.num) * 1.0 / (agg.den * agg.den) END)"
)
# SQRT: PostgreSQL's, and on SQLite the one Django registers on every connection.
_DISPERSION_VALUE_SQL = (
    "(CASE WHEN agg.cnt < 2 OR agg.den IS NULL OR agg.den <= 0 THEN NULL "
    "WHEN agg.aggregation = 'mean' THEN agg.num * 1.0 / agg.den "
    f"WHEN agg.aggregation = 'stddev' THEN SQRT({_VARIANCE_SQL}) "
    "WHEN agg.num = 0 THEN NULL "
    f"ELSE SQRT({_VARIANCE_SQL}) * agg.den / agg.num END)"
)


def dispersion_value(
    aggregation: str, weighted_sum: Decimal | None, weight: Decimal | None, moment2: Decimal | None, count: int
) -> Decimal | None:
    """The Python twin of ``_DISPERSION_VALUE_SQL`` (windows, computed on request)."""
    if count < 2 or weighted_sum is None or weight is None or moment2 is None or weight <= 0:
        return None
    mean = weighted_sum / weight
    if aggregation == Aggregation.MEAN:
        return mean
    variance = max(Decimal(0), (moment2 * weight - weighted_sum * weighted_sum) / (weight * weight))
    spread = variance.sqrt()
    if aggregation == Aggregation.STDDEV:
        return spread
    return None if weighted_sum == 0 else spread / mean


def _fence() -> str:
    """Keeps PostgreSQL from inlining a subquery into its caller: each column the caller names several times
    (a spread's n, d and w, with their 不适用 EXISTS tests) is then computed once per row, not once per use."""
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


def _literal_list(values: Iterable[str]) -> str:
    # Filter values are TextChoices codes; anything else is dropped rather than quoted.
    return ", ".join(f"'{value}'" for value in values if _SAFE_LITERAL.match(str(value)))


def _date_sql(value: datetime.date) -> str:
    if connection.vendor == "postgresql":
        return f"DATE '{value.isoformat()}'"
    return f"'{value.isoformat()}'"


def _designation_level_sql(indicator: Indicator) -> str:
    """`` AND d.level = '…'`` for an indicator counting one level of designation ("省优质园"), else ""."""
    level = indicator.designation_level
    if not level:
        return ""
    if level not in DesignationLevel.values:  # validated on save; never put an unknown string into SQL
        return " AND 1 = 0"
    return f" AND d.level = '{level}'"


def _filter_sql(indicator: Indicator) -> str:
    """The indicator's unit filter over ``base`` columns (``base`` holds open units only): ``UnitFilter``."""
    return UnitFilter.of(indicator).sql("base", open_check=False)


class _Plan:
    """Everything one recompute needs that does not depend on the level: periods, indicators, columns."""

    def __init__(self, indicators: list[CompiledIndicator], periods: list[PeriodInfo]) -> None:
        self.indicators = indicators
        self.periods = periods
        figures = {code: (pk, agg) for code, pk, agg in Figure.objects.values_list("code", "pk", "time_aggregation")}
        self.columns: dict[tuple[str, int], str] = {}
        self.figure_ids: dict[tuple[str, int], int] = {}
        for compiled in indicators:
            for ref in compiled.refs:
                if ref not in self.columns and ref[0] in figures:
                    self.columns[ref] = f"r{len(self.columns)}"
                    self.figure_ids[ref] = figures[ref[0]][0]
        # Figures with any 不适用 answer stored (a small partial index): only their references need a 不适用 test
        # in the statements. Planning those EXISTS subplans cost more than running the incremental statement;
        # a figure without any 不适用 answer cannot void a side, so leaving its test out changes no value.
        self.na_figure_ids = set(
            Value.objects.filter(not_applicable=True, figure_id__in=set(self.figure_ids.values()))
            .order_by()
            .values_list("figure_id", flat=True)
            .distinct()
        )
        used = {code for code, _offset in self.columns}
        self.flow_ids = sorted(figures[c][0] for c in used if figures[c][1] == TimeAggregation.FLOW)
        self.stock_ids = sorted(figures[c][0] for c in used if figures[c][1] != TimeAggregation.FLOW)
        self.offsets = sorted({offset for _code, offset in self.columns} | {0})
        statuses = [SubmissionStatus.APPROVED]
        if getattr(settings, "INDICATORS_INCLUDE_SUBMITTED", False):
            statuses.append(SubmissionStatus.SUBMITTED)
        self.status_values = statuses
        self.statuses = _literal_list(statuses)
        self.indicator_ids = [c.indicator.pk for c in indicators]
        self.period_ids = [p.id for p in periods]

    def column(self, code: str, offset: int) -> str:
        return f"base.{self.columns[(code, offset)]}"

    def _tp_sql(self) -> str:
        rows = [
            f"SELECT {p.id} AS period_id, {p.idx} AS idx, {_date_sql(p.year_start)} AS year_start, "
            f"{_date_sql(p.end)} AS period_end"
            for p in self.periods
        ]
        return " UNION ALL ".join(rows)

    def _need_sql(self) -> str:
        needed = sorted({p.idx - k for p in self.periods for k in self.offsets})
        return " UNION ALL ".join("SELECT {} AS idx, {} AS yr, {} AS qtr".format(i, *_year_quarter(i)) for i in needed)

    def _sv_sql(self) -> str:
        """The level's units' submitted values of the years ``need`` covers, each read once.

        Every value of a submission is taken (the submission's index entries are adjacent; a figure no indicator
        reads is dropped by ``eff``): filtering by figure here let PostgreSQL probe the (submission, figure) index
        once per figure, and joining ``need`` before reading the values read each value once per later quarter
        of its year. At one district's ~460 schools those probes made ``eff`` 4× its share of the whole tree's
        (BENCHMARKS.md, issue 17: the nightly run per district)."""
        return (
            "SELECT s.org_unit_id AS unit_id, p.year AS yr, p.quarter AS qtr, v.figure_id AS figure_id, "  # nosec B608
            "v.value AS value FROM submissions_submission s "
            "JOIN submissions_period p ON p.id = s.period_id "
            "JOIN submissions_value v ON v.submission_id = s.id "
            f"WHERE s.status IN ({self.statuses}) AND s.org_unit_id IN (SELECT unit_id FROM lvl) "
            "AND p.year IN (SELECT yr FROM need)"
        )

    def _eff_sql(self) -> str:
        parts = []
        joins = "FROM sv JOIN need n ON sv.yr = n.yr AND sv.qtr <= n.qtr "
        if self.flow_ids:
            parts.append(
                "SELECT sv.unit_id AS unit_id, n.idx AS idx, sv.figure_id AS figure_id, SUM(sv.value) AS value, "
                f"0 AS carried {joins} WHERE sv.figure_id IN ({', '.join(map(str, self.flow_ids))}) "
                "GROUP BY sv.unit_id, n.idx, sv.figure_id"
            )
        if self.stock_ids:
            parts.append(
                "SELECT unit_id, idx, figure_id, value, carried FROM ("  # nosec B608
                "SELECT sv.unit_id AS unit_id, n.idx AS idx, sv.figure_id AS figure_id, sv.value AS value, "
                f"{self._carried_flag_sql()} AS carried, "
                "ROW_NUMBER() OVER (PARTITION BY sv.unit_id, n.idx, sv.figure_id ORDER BY sv.qtr DESC) AS rn "
                f"{joins} WHERE sv.value IS NOT NULL "
                f"AND sv.figure_id IN ({', '.join(map(str, self.stock_ids))})"
                ") ranked WHERE rn = 1"
            )
        if not parts:
            return (
                "SELECT 0 AS unit_id, 0 AS idx, 0 AS figure_id, CAST(NULL AS NUMERIC) AS value, 0 AS carried "
                "WHERE 1 = 0"
            )
        return " UNION ALL ".join(parts)

    def _piv_sql(self) -> str:
        """One row per (unit, period): each referenced (figure, offset)'s effective value as a column.

        ``eff`` rows meet the periods that read them by equality on the quarter index (one row of ``tp`` per
        offset read, ``src`` = the quarter read): a hash join. A range (``e.idx BETWEEN tp.idx - max offset AND
        tp.idx``) let the planner only loop over every period for every ``eff`` row — 2.6 M rows looked at for
        651 K kept at 20,000 units (issue 17)."""
        cols = [
            f"MAX(CASE WHEN e.figure_id = {self.figure_ids[ref]} AND e.idx = tp.idx - {ref[1]} "
            f"THEN e.value END) AS {name}"
            for ref, name in self.columns.items()
        ]
        cols += self._carried_piv_columns()
        select = ", ".join(["e.unit_id AS unit_id", "tp.period_id AS period_id", *cols])
        offsets = " UNION ALL ".join(f"SELECT {int(k)} AS k" for k in self.offsets)
        return (
            f"SELECT {select} FROM eff e JOIN (SELECT tp.period_id AS period_id, tp.idx AS idx, "  # nosec B608
            f"tp.idx - o.k AS src FROM tp CROSS JOIN ({offsets}) o) tp ON e.idx = tp.src "
            "GROUP BY e.unit_id, tp.period_id"
        )

    def _not_applicable_sql(self, node: expressions.Node) -> str:
        """Did ``base``'s unit answer 不适用, this quarter, for a figure ``node`` reads (same-quarter refs only)?

        In a window (``window_values``) ``base.period_id`` is 0, so nothing matches there: a window sums
        quarters and a 不适用 of one quarter does not void the others."""
        ids = sorted({self.figure_ids[ref] for ref in expressions.references(node) if ref[1] == 0} & self.na_figure_ids)
        if not ids:
            return "1 = 0"
        return (
            "EXISTS (SELECT 1 FROM submissions_value nv JOIN submissions_submission ns ON ns.id = nv.submission_id "
            "WHERE ns.org_unit_id = base.unit_id AND ns.period_id = base.period_id AND nv.not_applicable "
            f"AND nv.figure_id IN ({', '.join(map(str, ids))}))"  # nosec B608 (integer ids only)
        )

    def _own_sql(self, compiled: CompiledIndicator, *, carried: bool = False) -> str | None:
        indicator = compiled.indicator
        if any(ref not in self.columns for ref in compiled.refs):
            return None  # a figure was deleted since the indicator was saved
        mode = indicator.aggregation
        if mode in DISPERSION_AGGREGATIONS:
            return self._dispersion_own_sql(compiled, carried=carried)
        if mode == Aggregation.COUNT_DESIGNATIONS:
            return self._designations_own_sql(compiled, carried=carried)
        if mode == Aggregation.COUNT_OPENED_UNITS:
            # "新建幼儿园 20 所": units (of the unit filter) opened from the start of the year to the period's end.
            num = (
                "(CASE WHEN base.opened_on >= base.year_start AND base.opened_on <= base.period_end THEN 1 ELSE 0 END)"
            )
            den, cnt = NULL_NUMERIC, num
        elif mode == Aggregation.COUNT_UNITS_WHERE:
            assert compiled.condition is not None
            cond = expressions.compile_condition_sql(compiled.condition, self.column)
            num = f"(CASE WHEN {cond} THEN 1 WHEN NOT {cond} THEN 0 END)"
            den, cnt = NULL_NUMERIC, f"CASE WHEN {num} IS NULL THEN 0 ELSE 1 END"
        else:
            assert compiled.numerator is not None
            num = expressions.compile_sql(compiled.numerator, self.column)
            den = NULL_NUMERIC
            if compiled.denominator is not None:
                den = expressions.compile_sql(compiled.denominator, self.column)
                # 不适用 is never a number: a unit that answered it for a figure of one side of a ratio is left
                # out of the other side too (3 schools, one 不适用 denominator: the rate of the other two). A
                # value merely missing keeps today's behaviour: the two sides may come from different units
                # (入园率: children at kindergartens over population reported by districts).
                num_na = self._not_applicable_sql(compiled.numerator)
                den_na = self._not_applicable_sql(compiled.denominator)
                num = f"(CASE WHEN {den_na} THEN NULL ELSE {num} END)"
                den = f"(CASE WHEN {num_na} THEN NULL ELSE {den} END)"
            cnt = f"CASE WHEN {num} IS NULL AND {den} IS NULL THEN 0 ELSE 1 END"
        return (
            f"SELECT {indicator.pk} AS indicator_id, base.unit_id AS unit_id, base.period_id AS period_id, "  # nosec B608
            f"{num} AS num, {den} AS den, {NULL_NUMERIC} AS m2, {cnt} AS cnt, 0 AS lo"
            f"{self._carried_own_sql(compiled) if carried else ''} "
            f"FROM base WHERE {_filter_sql(indicator)}"
        )

    def _designations_own_sql(self, compiled: CompiledIndicator, *, carried: bool = False) -> str:
        """A unit's grants of the indicator's designation kind (and level) held at the period's end.

        One join of ``base`` with the grants of that kind, counted per row (``COUNT(d.id)``: 0 when none). Until
        2026-12-05 a correlated subquery counted them, run once per unit and period: ~120 ms per designation
        indicator over the whole tree at 20,000 units, five of them (issue 17: the full recompute vs its floor)."""
        indicator = compiled.indicator
        grants = (
            "LEFT JOIN schools_designation d ON d.org_unit_id = base.unit_id "  # nosec B608
            f"AND d.kind_id = {int(indicator.designation_kind_id or 0)} "
            "AND d.granted_on >= base.year_start AND d.granted_on <= base.period_end "
            "AND (d.revoked_on IS NULL OR d.revoked_on > base.period_end)" + _designation_level_sql(indicator)
        )
        return (
            f"SELECT {indicator.pk} AS indicator_id, x.unit_id AS unit_id, x.period_id AS period_id, "  # nosec B608
            f"x.n AS num, {NULL_NUMERIC} AS den, {NULL_NUMERIC} AS m2, CASE WHEN x.n > 0 THEN 1 ELSE 0 END AS cnt, "
            f"0 AS lo{', 0 AS car' if carried else ''} FROM (SELECT base.unit_id AS unit_id, "
            f"base.period_id AS period_id, COUNT(d.id) AS n FROM base {grants} WHERE {_filter_sql(indicator)} "
            "GROUP BY base.unit_id, base.period_id) x"
        )

    def _dispersion_own_sql(self, compiled: CompiledIndicator, *, carried: bool = False) -> str:
        """A unit's observation for mean / stddev / cv: PᵢXᵢ, Pᵢ, PᵢXᵢ² with Xᵢ = num ÷ den × factor.

        Counted (cnt 1) when Xᵢ exists and Pᵢ > 0; a unit that reported either side but has no Xᵢ (a zero
        or missing denominator) or no positive weight is left out (lo 1); a unit that reported neither
        is not a reporting unit of this indicator (0, 0). 不适用 voids a side as in a ratio."""
        indicator = compiled.indicator
        assert compiled.numerator is not None
        assert compiled.denominator is not None
        num = expressions.compile_sql(compiled.numerator, self.column)
        den = expressions.compile_sql(compiled.denominator, self.column)
        num_na = self._not_applicable_sql(compiled.numerator)
        den_na = self._not_applicable_sql(compiled.denominator)
        num, den = (
            f"(CASE WHEN {den_na} THEN NULL ELSE {num} END)",
            f"(CASE WHEN {num_na} THEN NULL ELSE {den} END)",
        )
        weight = den
        if compiled.weight is not None:
            weight_sql = expressions.compile_sql(compiled.weight, self.column)
            weight = f"(CASE WHEN {self._not_applicable_sql(compiled.weight)} THEN NULL ELSE {weight_sql} END)"
        factor = Decimal(indicator.factor)  # a Decimal literal, never text
        # The carried-forward flag (``car``) is read from ``base`` and passed through both subqueries.
        car_in, car_y, car_x = (
            (self._carried_own_sql(compiled), ", y.car AS car", ", x.car AS car") if carried else ("", "", "")
        )
        inner = (
            f"SELECT base.unit_id AS unit_id, base.period_id AS period_id, {num} AS n, {den} AS d, {weight} AS w"  # nosec B608
            f"{car_in} FROM base WHERE {_filter_sql(indicator)}{_fence()}"
        )
        values = (
            f"SELECT y.unit_id AS unit_id, y.period_id AS period_id, y.n AS n, y.d AS d, y.w AS w{car_y}, "  # nosec B608
            f"CASE WHEN y.d <> 0 THEN y.n * {factor} * 1.0 / y.d END AS x FROM ({inner}) y"
        )
        ok = "x.x IS NOT NULL AND x.w > 0"
        return (
            f"SELECT {indicator.pk} AS indicator_id, x.unit_id AS unit_id, x.period_id AS period_id, "  # nosec B608
            f"CASE WHEN {ok} THEN x.w * x.x END AS num, CASE WHEN {ok} THEN x.w END AS den, "
            f"CASE WHEN {ok} THEN x.w * x.x * x.x END AS m2, CASE WHEN {ok} THEN 1 ELSE 0 END AS cnt, "
            f"CASE WHEN {ok} THEN 0 WHEN x.n IS NOT NULL OR x.d IS NOT NULL THEN 1 ELSE 0 END AS lo{car_x} "
            f"FROM ({values}) x"
        )

    # --- Carried forward: a stock figure's latest approved value from an earlier quarter (issue 14) ---

    @property
    def carried_columns(self) -> dict[tuple[str, int], str]:
        """Stock figures read for the quarter itself (offset 0) → the ``base`` column flagging a value carried
        forward from an earlier quarter of the year (``k`` + the value's column)."""
        stock = set(self.stock_ids)
        return {ref: f"k{name}" for ref, name in self.columns.items() if ref[1] == 0 and self.figure_ids[ref] in stock}

    @staticmethod
    def _carried_flag_sql() -> str:
        """In ``eff``'s stock part: 1 when the row's value comes from a quarter before the one it stands for."""
        return "CASE WHEN sv.qtr < n.qtr THEN 1 ELSE 0 END"

    def _carried_piv_columns(self) -> list[str]:
        return [
            f"MAX(CASE WHEN e.figure_id = {self.figure_ids[ref]} AND e.idx = tp.idx THEN e.carried END) AS {name}"
            for ref, name in self.carried_columns.items()
        ]

    def _carried_own_sql(self, compiled: CompiledIndicator) -> str:
        """``, … AS car``: 1 when the unit's own row reads a stock figure carried forward from an earlier
        quarter (summed up the tree into ``carried_units``, next to ``unit_count``)."""
        names = [self.carried_columns[ref] for ref in compiled.refs if ref in self.carried_columns]
        if not names:
            return ", 0 AS car"
        flags = " OR ".join(f"base.{name} = 1" for name in names)
        return f", CASE WHEN {flags} THEN 1 ELSE 0 END AS car"

    def level_sql(
        self,
        lvl_sql: str,
        *,
        with_children: bool = True,
        with_own: bool = True,
        upsert: bool = True,
        table: str = IV_TABLE,
        prune: bool = False,
    ) -> str:
        """One upsert statement computing every indicator's rows for the units ``lvl_sql`` selects.

        ``with_children=False`` (the deepest level: leaves only) leaves out the children's rows;
        ``with_own=False`` (an ancestor that reports nothing itself) leaves out its own figures, which
        would only add NULLs — a much smaller statement for the incremental path.
        ``upsert=False`` (a bulk load into a table known to hold none of these rows) is a plain INSERT.
        ``table``: where the rows go and where the children's rows are read — the staging table of a first
        build (``_StagedBuild``), else the indicator-value table itself.
        ``prune`` (PostgreSQL upserts only): the computed rows are full-joined with the level's stored rows
        (``cmp``) instead of the anti-join of ``_unchanged_sql``, and the stored rows it no longer computes (stale)
        are deleted by the same statement (``gone``), not by ``stale_candidates_sql`` afterwards.
        """
        if upsert and table != IV_TABLE:
            raise ValueError("only the indicator-value table is upserted into")
        if prune and not (upsert and connection.vendor == "postgresql" and with_own):
            raise ValueError("stale rows are pruned in the upsert itself on PostgreSQL only, with the units' own rows")
        names = [*self.columns.values(), *self.carried_columns.values()]
        columns = "".join(f", piv.{name} AS {name}" for name in names)
        owns = [sql for c in self.indicators if (sql := self._own_sql(c, carried=True)) is not None]
        if not owns:
            owns = [
                f"SELECT 0 AS indicator_id, 0 AS unit_id, 0 AS period_id, {NULL_NUMERIC} AS num, "
                f"{NULL_NUMERIC} AS den, {NULL_NUMERIC} AS m2, 0 AS cnt, 0 AS lo, 0 AS car WHERE 1 = 0"
            ]
        ids = ", ".join(map(str, self.indicator_ids)) or "NULL"
        pids = ", ".join(map(str, self.period_ids)) or "NULL"
        parts = (["SELECT * FROM own"] if with_own else []) + (["SELECT * FROM ch"] if with_children else [])
        own_ctes = f"""tp AS ({self._tp_sql()}),
need AS ({self._need_sql()}),
sv AS MATERIALIZED ({self._sv_sql()}),
eff AS MATERIALIZED ({self._eff_sql()}),
piv AS ({self._piv_sql()}),
base AS MATERIALIZED (
  SELECT u.id AS unit_id, u.level AS level, u.school_type AS school_type, u.ownership AS ownership,
         u.is_central AS is_central, u.opened_on AS opened_on, tp.period_id AS period_id, tp.year_start AS year_start,
         tp.period_end AS period_end{columns}
  FROM schools_orgunit u JOIN lvl ON lvl.unit_id = u.id CROSS JOIN tp
  LEFT JOIN piv ON piv.unit_id = u.id AND piv.period_id = tp.period_id
  WHERE {UnitFilter.open_sql("u", "tp.period_end")}
),
own AS ({" UNION ALL ".join(owns)}),
"""  # nosec B608
        conflict = (
            f"ON CONFLICT (indicator_id, org_unit_id, period_id) DO UPDATE SET {self.upsert_set_sql()}"  # nosec B608
            if upsert
            else ""
        )
        source, gone = "res", ""
        unchanged = self._unchanged_sql() if upsert and connection.vendor == "postgresql" and not prune else ""
        if prune:
            # One full join of the computed rows with the level's stored rows tells all three apart: computed only
            # (new), both (kept when equal), stored only (stale: ``gone``).
            listed = ", ".join(("id", "indicator_id", "org_unit_id", "period_id", *COMPUTED_COLUMNS))
            stored = (
                f"SELECT {listed} FROM {IV_TABLE} WHERE org_unit_id IN (SELECT unit_id FROM lvl) "  # nosec B608
                f"AND period_id IN ({pids}) AND indicator_id IN ({ids})"
            )
            gone = f""",
cmp AS (
  SELECT res.*, cur.id AS stored_id, CASE WHEN cur.id IS NOT NULL AND {self._same_sql()} THEN 1 ELSE 0 END AS same
  FROM res FULL JOIN ({stored}) cur ON cur.indicator_id = res.indicator_id AND cur.org_unit_id = res.org_unit_id
    AND cur.period_id = res.period_id
),
gone AS (DELETE FROM {IV_TABLE} WHERE id IN (SELECT stored_id FROM cmp WHERE indicator_id IS NULL))"""  # nosec B608
            source, unchanged = "cmp res", " AND res.indicator_id IS NOT NULL AND res.same = 0"
        # A bulk load (the staged first build) stores each unit's rows together, in the order of the (unit, period)
        # index: a unit's rows are then read from a few adjacent pages — by its parent's level statement, an
        # approval, a dashboard — not from one page per indicator (issue 17: the nightly run per district).
        order = "" if upsert else "ORDER BY res.org_unit_id, res.period_id, res.indicator_id"
        into = f"""INSERT INTO {table}
  (indicator_id, org_unit_id, period_id, numerator, denominator, value, unit_count, moment2, left_out_count,
   carried_units, computed_at)"""  # nosec B608
        # A data-modifying CTE (``gone``) needs the statement to begin with WITH; otherwise it begins with INSERT, as
        # Python's sqlite3 counts the rows written (``rowcount``) only of a statement that begins with INSERT.
        head, tail = ("", into) if prune else (into, "")
        return f"""{head}
WITH lvl AS ({lvl_sql}),
{own_ctes if with_own else ""}ch AS MATERIALIZED (
  SELECT iv.indicator_id AS indicator_id, c.parent_id AS unit_id, iv.period_id AS period_id,
         iv.numerator AS num, iv.denominator AS den, iv.moment2 AS m2, iv.unit_count AS cnt,
         iv.left_out_count AS lo, iv.carried_units AS car
  FROM {table} iv JOIN schools_orgunit c ON c.id = iv.org_unit_id
  WHERE c.parent_id IN (SELECT unit_id FROM lvl) AND iv.period_id IN ({pids}) AND iv.indicator_id IN ({ids})
),
allrows AS ({" UNION ALL ".join(parts)}),
agg AS ({self._agg_sql(with_children)}),
res AS (
  SELECT agg.indicator_id AS indicator_id, agg.unit_id AS org_unit_id, agg.period_id AS period_id,
         agg.num AS numerator, agg.den AS denominator,
         CASE WHEN agg.aggregation IN ({_DISPERSION_CODES}) THEN {_DISPERSION_VALUE_SQL}
              WHEN agg.aggregation <> 'ratio' THEN agg.num
              WHEN agg.num IS NULL OR agg.den IS NULL OR agg.den = 0 THEN NULL
              ELSE agg.num * agg.factor * 1.0 / agg.den END AS value,
         agg.cnt AS unit_count, agg.m2 AS moment2, agg.lo AS left_out_count, agg.car AS carried_units
  FROM agg
){gone}
{tail}
SELECT res.indicator_id, res.org_unit_id, res.period_id, res.numerator, res.denominator, res.value,
       res.unit_count, res.moment2, res.left_out_count, res.carried_units, %s
FROM {source} WHERE 1 = 1{unchanged}
{order}{conflict}
"""  # nosec B608

    @staticmethod
    def _agg_sql(with_children: bool) -> str:
        if not with_children:
            # Leaves: one own row per (indicator, unit, period) already, nothing to combine.
            return (
                "SELECT a.indicator_id AS indicator_id, a.unit_id AS unit_id, a.period_id AS period_id, "
                "a.num AS num, a.den AS den, a.m2 AS m2, a.cnt AS cnt, a.lo AS lo, a.car AS car, "
                "i.aggregation AS aggregation, "
                "i.factor AS factor "
                "FROM allrows a JOIN targets_indicator i ON i.id = a.indicator_id"
            )
        return (
            "SELECT a.indicator_id AS indicator_id, a.unit_id AS unit_id, a.period_id AS period_id, "
            # FILTER: each group's numerator is aggregated one way, not three ways with two results thrown away.
            "CASE i.aggregation WHEN 'max' THEN MAX(a.num) FILTER (WHERE i.aggregation = 'max') "
            "WHEN 'min' THEN MIN(a.num) FILTER (WHERE i.aggregation = 'min') "
            "ELSE SUM(a.num) FILTER (WHERE i.aggregation NOT IN ('max', 'min')) END AS num, "
            "SUM(a.den) AS den, SUM(a.m2) AS m2, SUM(a.cnt) AS cnt, SUM(a.lo) AS lo, SUM(a.car) AS car, "
            "i.aggregation AS aggregation, "
            "i.factor AS factor "
            "FROM allrows a JOIN targets_indicator i ON i.id = a.indicator_id "
            "GROUP BY a.indicator_id, a.unit_id, a.period_id, i.aggregation, i.factor"
        )

    @classmethod
    def upsert_set_sql(cls) -> str:
        """The ``DO UPDATE`` of an upsert into the indicator-value table: the computed columns, changed rows only."""
        return f"""
  numerator = excluded.numerator, denominator = excluded.denominator, value = excluded.value,
  unit_count = excluded.unit_count, moment2 = excluded.moment2, left_out_count = excluded.left_out_count,
  carried_units = excluded.carried_units, computed_at = excluded.computed_at
WHERE {cls._changed_sql()}"""  # nosec B608

    @staticmethod
    def _same_sql() -> str:
        """A computed row (``res``) equals its stored row (``cur``), compared as stored: cast to the columns' own
        types (from the model), which round them as the INSERT would."""
        return " AND ".join(
            f"cur.{column} IS NOT DISTINCT FROM "
            f"CAST(res.{column} AS {IndicatorValue._meta.get_field(column).db_type(connection)})"
            for column in COMPUTED_COLUMNS
        )

    @classmethod
    def _unchanged_sql(cls) -> str:
        """PostgreSQL: leave out the computed rows (``res``) equal to their stored row before the upsert sees them.

        ``ON CONFLICT DO UPDATE … WHERE changed`` does not rewrite an unchanged row, but it still locks it: a lock
        written into every page the conflicting rows are on (dirtied, written back, logged). The nightly run
        confirms ~1 M unchanged rows at 20,000 units; leaving them out here costs one index probe per row instead
        and writes nothing (issue 17: the nightly run vs the floor)."""
        return (
            f" AND NOT EXISTS (SELECT 1 FROM {IV_TABLE} cur WHERE cur.indicator_id = res.indicator_id "  # nosec B608
            f"AND cur.org_unit_id = res.org_unit_id AND cur.period_id = res.period_id AND {cls._same_sql()})"
        )

    @staticmethod
    def _changed_sql() -> str:
        # Rewriting an unchanged row costs a new tuple and index entries for nothing (the nightly run
        # confirms almost every value), so only changed rows are written; computed_at = last change.
        differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
        return " OR ".join(f"targets_indicatorvalue.{col} {differs} excluded.{col}" for col in COMPUTED_COLUMNS)

    def stale_candidates_sql(self, lvl_sql: str) -> str:
        """Rows of the level's units whose unit no longer contributes itself: closed, or outside the
        indicator's filter. Almost always none; only these are then checked for children rows."""
        ids = ", ".join(map(str, self.indicator_ids)) or "NULL"
        pids = ", ".join(map(str, self.period_ids)) or "NULL"
        own = [
            f"(iv.indicator_id = {c.indicator.pk} AND {_filter_sql(c.indicator)})"
            for c in self.indicators
            if all(ref in self.columns for ref in c.refs)
        ]
        return (
            f"WITH tp AS ({self._tp_sql()}) "  # nosec B608
            "SELECT iv.id FROM targets_indicatorvalue iv JOIN schools_orgunit base ON base.id = iv.org_unit_id "
            "JOIN tp ON tp.period_id = iv.period_id "
            f"WHERE iv.org_unit_id IN (SELECT unit_id FROM ({lvl_sql}) lvl) "
            f"AND iv.period_id IN ({pids}) AND iv.indicator_id IN ({ids}) "
            f"AND NOT ({UnitFilter.open_sql('base', 'tp.period_end')} AND ({' OR '.join(own) or '1 = 0'}))"
        )

    @staticmethod
    def delete_stale_sql(candidate_ids: Sequence[int]) -> str:
        """Of those candidates, the rows no child feeds any more (e.g. a school closed since last run)."""
        listed = ", ".join(str(int(pk)) for pk in candidate_ids)
        return (
            f"DELETE FROM targets_indicatorvalue WHERE id IN ({listed}) AND NOT EXISTS ("  # nosec B608
            "SELECT 1 FROM targets_indicatorvalue c JOIN schools_orgunit cu ON cu.id = c.org_unit_id "
            "WHERE cu.parent_id = targets_indicatorvalue.org_unit_id "
            "AND c.indicator_id = targets_indicatorvalue.indicator_id "
            "AND c.period_id = targets_indicatorvalue.period_id)"
        )


def _run_level(
    plan: _Plan,
    lvl_sql: str,
    params: Sequence[object],
    now: datetime.datetime,
    *,
    check_stale: bool = True,
    with_children: bool = True,
    with_own: bool = True,
    upsert: bool = True,
    table: str = IV_TABLE,
    small: bool = True,
) -> int:
    """One level's statement (``_Plan.level_sql``), then its stale rows removed; returns the rows written.

    ``small=False``: the level spans the whole tree (``_write_subtrees`` from a root). Its stale rows are then
    found by the separate statements (``stale_candidates_sql``) after an anti-join upsert; a smaller level (a
    district's, an approval's) finds them in the upsert itself (``prune``): for one district's ~470 schools
    (EXPLAIN ANALYZE, 20,000 units) the leaf statement took 170 ms against 245 ms for the anti-join upsert (whose
    planner probed the index once per computed row) plus the separate check, while over the whole tree the full
    join of 1 M rows took 7.1 s against 5.9 s for the anti-join and the check (BENCHMARKS.md, issue 17)."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    # PostgreSQL prunes the stale rows in the upsert itself; SQLite (no data-modifying CTEs) checks after it.
    prune = small and check_stale and upsert and with_own and connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        sql = plan.level_sql(
            lvl_sql, with_children=with_children, with_own=with_own, upsert=upsert, table=table, prune=prune
        )
        cursor.execute(sql, [*params, stamp])
        written = max(cursor.rowcount, 0)
        if not upsert and connection.vendor == "postgresql":
            # The next level reads these rows back (its children); without statistics the planner
            # takes the freshly filled table for empty. ANALYZE counts this transaction's own rows. Only when the
            # statistics would be off by more than half: the deepest level writes ~95 % of the rows, the levels
            # above add a few percent each (an ANALYZE samples the whole table again: ~0.1 s each at 20,000 units).
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            if written > cursor.fetchone()[0]:
                cursor.execute(f"ANALYZE {table}")
        if not check_stale or not upsert or prune:  # a bulk load starts from no rows: nothing can be stale
            return written
        cursor.execute(plan.stale_candidates_sql(lvl_sql), params)
        candidates = [row[0] for row in cursor.fetchall()]
        if candidates:
            cursor.execute(plan.delete_stale_sql(candidates))
    return written


def _tune_session() -> None:
    """PostgreSQL fast path: enough memory for the level statements' hash aggregates not to spill
    to disk (the default 4 MB does at a few thousand schools), no JIT, and no parallel workers: the level
    statements (INSERT … SELECT) never get any, and the stale-row check of one district got two that each
    built the same hash table — over twice its CPU time for no gain, on workers that already run districts
    side by side (BENCHMARKS.md, issue 17). Scoped to this transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        _no_jit()


def _no_jit() -> None:
    """PostgreSQL: no JIT compilation for the engine's statements. Their 不适用 EXISTS subplans push the planner's
    cost estimate over ``jit_above_cost``, and compiling their hundreds of expressions took 12.6 s of a 12.8 s
    statement that runs in 0.2 s without (500 schools, one indicator). Scoped to this transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def _commit_without_waiting(own_transaction: bool) -> None:
    """PostgreSQL: don't wait for the WAL flush at commit — only when the transaction is the engine's own.

    The rows are derived data: a crash in the instant after commit loses at most this recompute, and
    whatever asked for it is still there to redo it — the pending row is marked done by a later,
    ordinary commit (whose flush carries this one's WAL), and the nightly run recomputes everything.
    A caller's surrounding transaction keeps its own durability (hence ``own_transaction``).
    """
    if own_transaction and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


# --- The first build: a staging table, swapped in (issue 17) ---

# The first build never WAITS for a table lock while it holds the engine's advisory keys: another session may hold
# a lock on that table (every approval reads org units) while it waits for one of our keys, and a lock_timeout
# shorter than deadlock_timeout is no protection — that session's deadlock check, due a second after ITS wait
# began, can fall inside our short wait and abort it (test_engine_concurrency found it). So its table locks are
# taken NOWAIT: refused at once, tried again LOCK_ATTEMPTS times, LOCK_RETRY_PAUSE_S apart (each attempt a
# savepoint, released when refused), and then the build does without (merge instead of swap). No reader ever
# queues behind such a request either. STAGED_LOCK_TIMEOUT bounds the incidental waits left (a sequence's lock).
LOCK_ATTEMPTS = 20
LOCK_RETRY_PAUSE_S = 0.1
STAGED_LOCK_TIMEOUT = "200ms"
# Staging table UNLOGGED during the load (set LOGGED before its indexes are built) or logged from the start: the
# measured choice is in BENCHMARKS.md (issue 17, "the first build and dashboard reads").
STAGING_UNLOGGED = False
_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock refused (NOWAIT) or given up (lock_timeout)
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)( USING .*)$", re.DOTALL)
_REPLACED_PREFIX = f"{IV_TABLE}_old_"


class _SwapRefused(Exception):
    """The swap cannot happen (rows in the live table, a lock not granted): its savepoint is rolled back."""


def _lock_not_available(error: DatabaseError) -> bool:
    cause = error.__cause__
    return getattr(cause, "pgcode", None) == _LOCK_NOT_AVAILABLE


def _without_waiting(step: Callable[[], None], what: str) -> bool:
    """Run ``step`` — which takes its locks NOWAIT — in a savepoint until they are granted (True), or give up after
    LOCK_ATTEMPTS refusals (False). A refused attempt's savepoint rollback releases what it had locked."""
    for attempt in range(LOCK_ATTEMPTS):
        if attempt:
            time.sleep(LOCK_RETRY_PAUSE_S)
        try:
            with transaction.atomic():
                step()
            return True
        except OperationalError as error:
            if not _lock_not_available(error):
                raise
            logger.info("first build: %s busy (attempt %d of %d)", what, attempt + 1, LOCK_ATTEMPTS)
    return False


@contextmanager
def _short_lock_waits() -> Iterator[None]:
    """Lock waits inside the block end after STAGED_LOCK_TIMEOUT; the transaction's own setting is back after.

    Use inside a savepoint: after an error the transaction cannot run the restore, the savepoint's rollback
    restores the setting instead (PostgreSQL undoes a rolled-back subtransaction's settings)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [STAGED_LOCK_TIMEOUT])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


class _StagedBuild:
    """PostgreSQL, the first build into an EMPTY indicator-value table, without blocking the table's readers.

    The rows go into a staging table of this session, ``CREATE TABLE … (LIKE targets_indicatorvalue INCLUDING ALL
    EXCLUDING INDEXES)`` — the same columns, defaults, identity and CHECK constraints —, level by level, as plain
    INSERTs that the level statements also read back (their children's rows): no index, no conflict probe, no
    foreign-key trigger per row, what makes a first build fast. Its primary key, unique constraint and indexes are
    then built once each (one sort each), under temporary names (index names are unique per schema, and the live
    table still holds Django's); its foreign keys are added under their own names (constraint names are per table).

    The swap is short: lock the live table (ACCESS EXCLUSIVE), check it is still empty, rename it and its indexes,
    constraints and identity sequence away, and give the staging table the names — the schema afterwards is the
    migrated one, names included (tests/indicators/test_first_build.py compares them); the sequence, owned by the
    table's identity column as before, continues after every id the old one handed out. Readers of the live table
    only ever wait for that step: until then the build holds ACCESS SHARE on it (the emptiness check), which
    conflicts with no reader and no writer. A reader waiting for the swap's lock then reads the new table
    (PostgreSQL looks the name up again when the relation it waited for was renamed). The old, empty table is
    dropped after commit (``_drop_replaced_tables``): dropping it removes its foreign keys' triggers from the
    referenced tables, which takes ACCESS EXCLUSIVE on them (org units: every page reads them) — never under the
    engine's keys.

    Everything happens in the caller's transaction (DDL is transactional): an error rolls the staging table back
    with it. If the live table got rows meanwhile (a writer that takes none of the engine's advisory keys, or the
    build of another district that swapped first), or a lock is still refused after LOCK_ATTEMPTS tries (a reader
    in a long transaction), the foreign keys and the swap are rolled back and the staged rows are merged into the
    live table instead (``INSERT … ON CONFLICT DO UPDATE``, the upsert path's statement): the rows written meanwhile
    are kept, readers never wait, the build is slower.

    Lock order (deadlock safety, as for every writer of the engine): the caller's district keys, then TOP_KEY (from
    the depth-0 level on, or before the swap); table locks only after the keys and only NOWAIT (see LOCK_ATTEMPTS):
    SHARE ROW EXCLUSIVE on the tables the foreign keys reference (writers of org units wait for the rest of the
    build's transaction, readers do not), then ACCESS EXCLUSIVE on the live table.
    """

    def __init__(self, schema: str, name: str, live_sequence: str) -> None:
        self.schema = schema  # quoted: the live table's schema, where the staging table goes too
        self.name = name
        self.table = f"{schema}.{name}"
        self.live_sequence = live_sequence  # the live identity sequence's (unqualified) name, kept after the swap
        self.keys: list[tuple[str, str, str]] = []  # primary key, unique: (temporary name, Django's name, definition)
        self.indexes: list[tuple[str, str, str]] = []  # the other indexes: (temporary name, Django's name, CREATE …)
        self.foreign_keys: list[tuple[str, str]] = []  # (name, definition)
        self.referenced: list[str] = []  # the tables the foreign keys reference
        self.grants: list[tuple[str, str, str, bool]] = []  # (TABLE or SEQUENCE, privilege, grantee, grantable)

    @classmethod
    def begin(cls) -> _StagedBuild | None:
        """The staging table, created in the caller's transaction; None when the live table holds rows."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {IV_TABLE})")  # nosec B608
            if cursor.fetchone()[0]:
                return None
            pk = IndicatorValue._meta.pk.column
            cursor.execute(
                "SELECT quote_ident(n.nspname), pg_backend_pid(), pg_get_serial_sequence(%s, %s) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass",
                [IV_TABLE, pk, IV_TABLE],
            )
            schema, pid, live_sequence = cursor.fetchone()
            cursor.execute("SELECT relname FROM pg_class WHERE oid = %s::regclass", [live_sequence])
            build = cls(schema, f"{IV_TABLE}_stage_{pid}", cursor.fetchone()[0])
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), contype, conindid, confrelid::regclass::text "
                "FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') "
                "ORDER BY contype DESC, conname",
                [IV_TABLE],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid, c.relname, pg_get_indexdef(indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass ORDER BY c.relname",
                [IV_TABLE],
            )
            owned = {indid for _name, _def, _type, indid, _ref in constraints}
            for oid, index, definition in cursor.fetchall():
                if oid in owned:
                    continue
                match = _INDEX_DEF.match(definition)
                if match is None:
                    raise DatabaseError(f"unexpected index definition: {definition}")
                temporary = f"{build.name}_i{len(build.indexes)}"
                create = f"{match[1]}{temporary}{match[3]}{build.table}{match[5]}"
                build.indexes.append((temporary, index, create))
            for name, definition, contype, _indid, referenced in constraints:
                if contype == "f":
                    build.foreign_keys.append((name, definition))
                    build.referenced.append(referenced)
                else:
                    build.keys.append((f"{build.name}_k{len(build.keys)}", name, definition))
            build.referenced = sorted(set(build.referenced))
            build.grants = build._grants(cursor, IV_TABLE, "TABLE") + build._grants(cursor, live_sequence, "SEQUENCE")
            unlogged = "UNLOGGED " if STAGING_UNLOGGED else ""
            cursor.execute(f"CREATE {unlogged}TABLE {build.table} (LIKE {IV_TABLE} INCLUDING ALL EXCLUDING INDEXES)")
            # The staged rows' ids continue the live sequence's, so an id is never handed out twice over the
            # table's life (the old sequence goes with the old table).
            next_sql = f"SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {live_sequence}"  # nosec B608
            cursor.execute(next_sql)
            cursor.execute(f"ALTER TABLE {build.table} ALTER COLUMN {pk} RESTART WITH {int(cursor.fetchone()[0])}")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        return build

    @staticmethod
    def _grants(cursor: CursorWrapper, relation: str, kind: str) -> list[tuple[str, str, str, bool]]:
        """The privileges roles other than its owner hold on ``relation`` (the swap grants them again)."""
        cursor.execute(
            "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, "
            "a.is_grantable FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
            [relation],
        )
        return [(kind, privilege, grantee, grantable) for privilege, grantee, grantable in cursor.fetchall()]

    def index(self) -> None:
        """Logged (if it was not), primary key, unique constraint and indexes: once each over the loaded rows."""
        with connection.cursor() as cursor:
            if STAGING_UNLOGGED:
                cursor.execute(f"ALTER TABLE {self.table} SET LOGGED")  # before the indexes: one rewrite, the heap
            for temporary, _name, definition in self.keys:
                cursor.execute(f"ALTER TABLE {self.table} ADD CONSTRAINT {temporary} {definition}")
            for _temporary, _name, create in self.indexes:
                cursor.execute(create)

    def swap_in(self) -> bool:
        """Foreign keys, then the swap, in one savepoint: True, or False with both rolled back (merge instead).

        Rolling back the foreign keys (rather than dropping them with the staging table) never needs a lock on the
        tables they reference: a DROP would take ACCESS EXCLUSIVE there."""
        try:
            with transaction.atomic(), _short_lock_waits():
                # Foreign-key checks this transaction has deferred so far (e.g. an indicator just created) must run
                # now: PostgreSQL refuses ALTER TABLE on a referenced table with pending trigger events. Django's
                # foreign keys are all INITIALLY DEFERRED, so DEFERRED afterwards is the mode they had.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                if not _without_waiting(self._add_foreign_keys, "a table the foreign keys reference"):
                    raise _SwapRefused
                if not _without_waiting(self._swap, "the indicator-value table"):
                    raise _SwapRefused
            return True
        except _SwapRefused:
            return False

    def _add_foreign_keys(self) -> None:
        """The foreign keys, validated once over the loaded rows (one join each)."""
        with connection.cursor() as cursor:
            if self.referenced:  # what ADD FOREIGN KEY takes on them, taken here without waiting
                cursor.execute(f"LOCK TABLE {', '.join(self.referenced)} IN SHARE ROW EXCLUSIVE MODE NOWAIT")
            for name, definition in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')

    def _swap(self) -> None:
        pk = IndicatorValue._meta.pk.column
        live = f"{self.schema}.{IV_TABLE}"
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {IV_TABLE} IN ACCESS EXCLUSIVE MODE NOWAIT")
            # Now that no one else can: did a writer commit rows since the build began?
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {IV_TABLE})")  # nosec B608
            if cursor.fetchone()[0]:
                raise _SwapRefused
            sequence = self.live_sequence
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence}")  # nosec B608
            next_id = int(cursor.fetchone()[0])
            # The old table and everything named after it step aside (dropped after commit).
            cursor.execute("SELECT %s::regclass::oid", [live])
            old = f"{_REPLACED_PREFIX}{cursor.fetchone()[0]}"
            cursor.execute(f"ALTER TABLE {live} RENAME TO {old}")
            cursor.execute(f"ALTER SEQUENCE {self.schema}.{self.live_sequence} RENAME TO {old}_seq")
            for n, (_temporary, name, _definition) in enumerate(self.keys):  # renames the constraint's index too
                cursor.execute(f'ALTER TABLE {self.schema}.{old} RENAME CONSTRAINT "{name}" TO {old}_k{n}')
            for n, (_temporary, name, _create) in enumerate(self.indexes):
                cursor.execute(f'ALTER INDEX {self.schema}."{name}" RENAME TO {old}_i{n}')
            # The staging table takes the names.
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [self.table, pk])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"ALTER TABLE {self.table} RENAME TO {IV_TABLE}")
            cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {self.live_sequence}")
            for temporary, name, _definition in self.keys:
                cursor.execute(f'ALTER TABLE {live} RENAME CONSTRAINT {temporary} TO "{name}"')
            for temporary, name, _create in self.indexes:
                cursor.execute(f'ALTER INDEX {self.schema}.{temporary} RENAME TO "{name}"')
            for kind, privilege, grantee, grantable in self.grants:
                target = live if kind == "TABLE" else f"{self.schema}.{self.live_sequence}"
                option = " WITH GRANT OPTION" if grantable else ""
                cursor.execute(f"GRANT {privilege} ON {kind} {target} TO {grantee}{option}")
            # Past every id handed out: the staged rows' and any the old sequence gave meanwhile (rows since deleted).
            cursor.execute(
                f"SELECT setval(%s, GREATEST((SELECT MAX({pk}) + 1 FROM {live}), %s), false)",  # nosec B608
                [f"{self.schema}.{self.live_sequence}", next_id],
            )
        transaction.on_commit(_drop_replaced_tables)

    def merge(self) -> None:
        """The staged rows into the live table (which got rows meanwhile), then the staging table dropped.

        The upsert path's statement: rows of the same (indicator, unit, period) take the computed values, every
        other row written meanwhile stays; ids come from the live table's sequence. ROW EXCLUSIVE on the live table
        conflicts with no reader and no writer."""
        columns = ", ".join(
            f.column for f in IndicatorValue._meta.concrete_fields if f.column != IndicatorValue._meta.pk.column
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {IV_TABLE} ({columns}) SELECT {columns} FROM {self.table} "  # nosec B608
                f"ON CONFLICT (indicator_id, org_unit_id, period_id) DO UPDATE SET {_Plan.upsert_set_sql()}"
            )
            cursor.execute(f"DROP TABLE {self.table}")  # no foreign keys (rolled back): locks nothing else
            cursor.execute(f"ANALYZE {IV_TABLE}")


def _drop_replaced_tables() -> None:
    """Drop the empty tables first builds swapped out (after their commit, outside any transaction).

    Dropping one removes its foreign keys' triggers from the tables they reference, which takes ACCESS EXCLUSIVE
    on them — org units are read by every page. Taken NOWAIT (no reader queues behind the request) and retried; a
    table still busy after LOCK_ATTEMPTS is left for the next full recompute to drop, and logged."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid::regclass::text, COALESCE(array_agg(DISTINCT f.confrelid::regclass::text) "
            "FILTER (WHERE f.oid IS NOT NULL), '{}') FROM pg_class c "
            "LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f' "
            "WHERE c.relkind = 'r' AND c.relname LIKE %s GROUP BY c.oid",
            [_REPLACED_PREFIX.replace("_", r"\_") + "%"],
        )
        replaced = cursor.fetchall()
    for table, referenced in replaced:

        def drop(table: str = table, referenced: list[str] = referenced) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join([table, *sorted(referenced)])} IN ACCESS EXCLUSIVE MODE NOWAIT")
                cursor.execute(f"DROP TABLE {table}")

        try:
            if not _without_waiting(drop, f"dropping {table}: a table it references"):
                logger.warning("first build: %s not dropped (tables busy); the next full recompute drops it", table)
        except DatabaseError:
            logger.exception("first build: %s not dropped", table)


def _lock(keys: Iterable[int]) -> None:
    """Take the transaction's advisory locks in ascending key order (PostgreSQL; SQLite has one writer anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key in sorted(set(keys)):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, key])


def _subtree_keys(unit: OrgUnit) -> list[int]:
    """The top-level subtrees (a root's children: the districts) that writing ``unit``'s subtree touches."""
    ids = unit.ancestor_ids
    if len(ids) >= 2:
        return [ids[1]]
    return list(OrgUnit.objects.filter(parent_id=unit.pk).values_list("pk", flat=True))


def _after_update(period_ids: list[int], indicator_ids: list[int], **scope: object) -> None:
    """Announce the rewritten values (the targets' progress follows them: see ``indicators.events``)."""
    events.values_changed.send(sender=Indicator, period_ids=period_ids, indicator_ids=indicator_ids, **scope)


def _ids_sql(ids: Iterable[int]) -> str:
    listed = ", ".join(str(int(i)) for i in ids) or "NULL"
    return f"SELECT id AS unit_id FROM schools_orgunit WHERE id IN ({listed})"  # nosec B608


def _write_levels(plan: _Plan, roots: Sequence[OrgUnit], now: datetime.datetime, *, ancestors: bool = True) -> int:
    """Every level of the roots' subtrees bottom-up, then (``ancestors``) the roots' ancestors from their children's
    rows (upserts)."""
    written = _write_subtrees(plan, roots, now)
    return written + (_write_ancestors(plan, roots, now) if ancestors else 0)


def _write_subtrees(
    plan: _Plan, roots: Sequence[OrgUnit], now: datetime.datetime, *, upsert: bool = True, table: str = IV_TABLE
) -> int:
    """Every level of the roots' subtrees bottom-up; TOP_KEY taken before a root's own level (rows above the
    districts), held to commit."""
    written = 0
    for root in roots:
        depths = set(OrgUnit.objects.filter(path__startswith=root.path).values_list("depth", flat=True))
        deepest = max(depths, default=root.depth)
        for depth in sorted(depths, reverse=True):
            if depth == 0:
                _lock([TOP_KEY])
            lvl = "SELECT id AS unit_id FROM schools_orgunit WHERE depth = %s AND path LIKE %s"
            written += _run_level(
                plan,
                lvl,
                [depth, root.path + "%"],
                now,
                with_children=depth != deepest,
                upsert=upsert,
                table=table,
                small=root.depth > 0,
            )
    return written


def _write_ancestors(plan: _Plan, roots: Sequence[OrgUnit], now: datetime.datetime) -> int:
    """The roots' ancestors (a district's bureau), upserted from their children's rows under TOP_KEY."""
    written = 0
    ancestor_ids = {pk for root in roots for pk in root.ancestor_ids[:-1]}
    if ancestor_ids:
        _lock([TOP_KEY])
        by_depth = OrgUnit.objects.filter(pk__in=ancestor_ids).values_list("depth", "pk")
        for depth in sorted({d for d, _pk in by_depth}, reverse=True):
            ids = [pk for d, pk in by_depth if d == depth]
            written += _run_level(plan, _ids_sql(ids), [], now)
    return written


def _try_staged_build(plan: _Plan, roots: Sequence[OrgUnit], now: datetime.datetime) -> int | None:
    """The first build through a staging table (``_StagedBuild``) inside a savepoint; None when it does not apply
    (the table holds rows, nested roots) or the database refused a step (e.g. a foreign key's lock not granted in
    STAGED_LOCK_TIMEOUT) — the caller then takes the ordinary upsert path, with nothing of the attempt left behind.

    The caller holds the roots' district keys. The roots must not nest (no row may be staged twice)."""
    paths = sorted(root.path for root in roots)
    if connection.vendor != "postgresql" or not roots:
        return None
    if any(b.startswith(a) for a, b in zip(paths, paths[1:], strict=False)):
        return None
    try:
        with transaction.atomic():
            build = _StagedBuild.begin()
            if build is None:
                return None
            # The levels write the staging table and read their children back from it. TOP_KEY is taken before
            # the roots' own level (depth 0) as on every path: an approval of the bureau's own figures waits for
            # this build's commit instead of writing a row our staged row would then overwrite.
            written = _write_subtrees(plan, roots, now, upsert=False, table=build.table)
            build.index()
            _lock([TOP_KEY])  # held already for a whole tree; a district's build takes it here, last of the keys
            swapped = build.swap_in()
            if not swapped:
                build.merge()
            # A district's bureau: from the live table's rows (other districts' rows are there, not staged). After a
            # swap this runs under its lock (readers wait for these few rows too), until commit.
            written += _write_ancestors(plan, roots, now)
            logger.info("first build: %d rows %s", written, "swapped in" if swapped else "merged")
            return written
    except DatabaseError as error:
        logger.info("staged first build not possible (%s); upserting instead", error)
        return None


# --- Public API ---


def full_recompute(
    period_ids: Iterable[int] | None = None,
    indicator_ids: Iterable[int] | None = None,
    root_unit_ids: Iterable[int] | None = None,
    *,
    announce: bool = True,
    ancestors: bool = True,
) -> int:
    """Recompute every value of the given indicators and periods in the roots' subtrees (default: all).

    ``announce=False`` (the nightly run's districts): no ``values_changed`` after commit — the nightly run
    announces once, when its last district is done, so that progress is computed once, not once per district.
    ``ancestors=False`` (the same districts): the rows above the roots are left to ``recompute_ancestors``, run once
    after the last district instead of once per district (the bureau's statement 42 times at 20,000 units).

    The roots' ancestors are then recomputed from their children's rows, so a per-district run
    leaves the bureau's row right too. Returns the number of rows written.
    """
    _drop_replaced_tables()  # a first build's old table left behind (its referenced tables were busy), if any
    periods_qs = Period.objects.all()
    if period_ids is not None:
        periods_qs = periods_qs.filter(pk__in=list(period_ids))
    periods = [_period_info(p) for p in periods_qs]
    indicators = load_indicators(indicator_ids)
    if not periods or not indicators:
        return 0
    if (
        root_unit_ids is None
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and IndicatorValue.objects.exists()  # the first build is staged and swapped in: see _StagedBuild
    ):
        return _full_recompute_by_district(periods, indicators, announce=announce)
    plan = _Plan(indicators, periods)
    if root_unit_ids is None:
        roots = list(OrgUnit.objects.filter(parent__isnull=True))
    else:
        roots = list(OrgUnit.objects.filter(pk__in=list(root_unit_ids)))
    now = timezone.now()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        _tune_session()
        _commit_without_waiting(own_transaction)
        _lock(key for root in roots for key in _subtree_keys(root))
        written: int | None = None
        if connection.vendor == "postgresql":
            written = _try_staged_build(plan, roots, now)  # analyzed level by level (staged) or after a merge
        if written is None:
            written = _write_levels(plan, roots, now, ancestors=ancestors)
            if written > ANALYZE_AFTER_ROWS and connection.vendor == "postgresql":
                # Fresh statistics, or the incremental path's small statements get plans for an empty table.
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {IV_TABLE}")
        if announce:
            transaction.on_commit(lambda: _after_update(plan.period_ids, plan.indicator_ids))
            # The stored H2 / year rows (issue 17): their own task, after this commit (indicators.windows).
            root_ids = [root.pk for root in roots]
            transaction.on_commit(lambda: _after_levels(plan.period_ids, root_ids))
    return written


def _after_levels(period_ids: list[int], root_unit_ids: list[int] | None) -> None:
    events.levels_written.send(sender=Indicator, period_ids=period_ids, root_unit_ids=root_unit_ids)


def _full_recompute_by_district(
    periods: list[PeriodInfo], indicators: list[CompiledIndicator], *, announce: bool
) -> int:
    """The whole tree on PostgreSQL, district by district, each in its own transaction under its own key:
    approvals in the other districts proceed meanwhile (one transaction would hold every district's key).

    Not for the first build (an empty table): that is one staged build swapped in (``_StagedBuild``), which blocks
    no reader. Built district by district instead (the first district bulk, the others upserting into the indexed
    table) it was 4–5 × slower at 20,000 units (146–187 s against 38 s, BENCHMARKS.md issue 17).
    """
    period_ids = [p.id for p in periods]
    indicator_ids = [c.indicator.pk for c in indicators]
    written = 0
    unit_ids = fan_out_unit_ids()
    for unit_id in unit_ids:
        written += full_recompute(period_ids, indicator_ids, [unit_id], announce=False, ancestors=False)
    written += recompute_ancestors(unit_ids, period_ids, indicator_ids)
    if written > ANALYZE_AFTER_ROWS:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE targets_indicatorvalue")
    if announce:
        transaction.on_commit(lambda: _after_update(sorted(period_ids), sorted(indicator_ids)))
        transaction.on_commit(lambda: _after_levels(sorted(period_ids), None))  # the window rows: one rebuild
    return written


def recompute_ancestors(
    root_unit_ids: Iterable[int], period_ids: Iterable[int] | None = None, indicator_ids: Iterable[int] | None = None
) -> int:
    """The rows above the given subtrees (their bureau), from their children's committed rows, in one short
    transaction under TOP_KEY: the end of a run of per-district recomputes (``full_recompute(ancestors=False)``).
    Announces nothing. Returns the rows written."""
    periods_qs = Period.objects.all()
    if period_ids is not None:
        periods_qs = periods_qs.filter(pk__in=list(period_ids))
    periods = [_period_info(p) for p in periods_qs]
    indicators = load_indicators(indicator_ids)
    roots = list(OrgUnit.objects.filter(pk__in=list(root_unit_ids)))
    if not periods or not indicators or not roots:
        return 0
    plan = _Plan(indicators, periods)
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        _tune_session()
        _commit_without_waiting(own_transaction)
        return _write_ancestors(plan, roots, timezone.now())


def affected_periods(period: Period, offsets: Iterable[int]) -> list[Period]:
    """Periods whose values read ``period``: later quarters of its year, and those ``k`` quarters on."""
    base = list(range(period.index, period.year * 4 + 4))
    indexes = {i + k for i in base for k in {0, *offsets}}
    years = {i // 4 for i in indexes}
    return [p for p in Period.objects.filter(year__in=years) if p.index in indexes]


def recompute_for(org_unit_id: int, period_id: int, *, designations: bool = False) -> int:
    """After a unit's figures changed for a period: that unit and its ancestors, for every period
    that depends on it (later quarters of the year, period offsets). Returns rows written.

    ``designations=True`` (a designation of the unit was granted, changed or revoked): the
    count-of-designation indicators instead, the only ones a designation feeds.
    """
    return recompute_units([(org_unit_id, period_id)], designations=designations)


def district_key(unit: OrgUnit) -> int:
    """The lock key of the district subtree ``unit`` lies in (its ancestor just below a root); TOP_KEY for a root."""
    ids = unit.ancestor_ids
    return ids[1] if len(ids) >= 2 else TOP_KEY


def recompute_units(changes: Sequence[tuple[int, int]], *, designations: bool = False) -> int:
    """``recompute_for`` for several (unit, period) changes at once — the merged approvals of one district.

    Every changed unit and every ancestor is recomputed once, for the union of the periods the changes
    affect and the indicators any changed unit feeds (a superset is harmless: each row is recomputed
    exactly as a full recompute would write it). Two transactions, so that approvals in different
    districts never wait for each other (issue 17):

    1. the rows inside the districts (the changed units, their townships and districts) under the
       districts' advisory keys only;
    2. the rows above the districts (the bureau), combined from the committed district rows, under
       TOP_KEY: a short transaction of one statement per level. The last writer to take TOP_KEY reads
       every district's committed rows, so the bureau's row always ends equal to a full recompute.

    Inside a caller's transaction both are savepoints of it (the locks are then held until its commit,
    as before). Progress follows after commit, once per changed unit (its own values before and after).
    """
    if not changes:
        return 0
    units = OrgUnit.objects.in_bulk({unit_id for unit_id, _period in changes})
    periods_by_id = Period.objects.in_bulk({period_id for _unit, period_id in changes})
    changed = sorted(units.values(), key=lambda u: u.pk)
    # Only indicators these units' data feeds: a kindergarten's approval cannot move a primary-school
    # rate, approvals never change designation counts and designations never change figures. The filter
    # alone (``covers``), not whether the unit is open: that is per period and the statements' job — a unit
    # just closed or deactivated is recomputed to remove its rows from its ancestors' sums.
    indicators = [
        c
        for c in load_indicators()
        if (c.indicator.aggregation == Aggregation.COUNT_DESIGNATIONS) == designations
        and any(UnitFilter.of(c.indicator).covers(unit) for unit in changed)
    ]
    if not indicators or not changed:
        return 0
    offsets = {offset for c in indicators for _code, offset in c.refs}
    period_rows: dict[int, Period] = {}
    for unit_id, period_id in changes:
        if unit_id in units and period_id in periods_by_id:
            for affected in affected_periods(periods_by_id[period_id], offsets):
                period_rows[affected.pk] = affected
    periods = [_period_info(p) for p in sorted(period_rows.values(), key=lambda p: p.index)]
    if not periods:
        return 0
    plan = _Plan(indicators, periods)
    changed_ids = {u.pk for u in changed}
    with_kids = set(OrgUnit.objects.filter(parent_id__in=changed_ids).values_list("parent_id", flat=True))
    ancestors = {pk for u in changed for pk in u.ancestor_ids[:-1]} - changed_ids
    reporting_ancestors = set(
        Submission.objects.filter(
            org_unit_id__in=ancestors,
            status__in=plan.status_values,
            period__year__in={(p.idx - k) // 4 for p in periods for k in plan.offsets},
        ).values_list("org_unit_id", flat=True)
    )
    depth_of = {pk: depth for u in changed for depth, pk in enumerate(u.ancestor_ids)}
    # (check_stale, with_children, with_own) per unit: only a changed unit can have become closed; an ancestor
    # that reports no figures of its own is combined from its children's rows alone (a smaller statement).
    # A changed unit closed or deactivated by some period's end feeds its ancestors nothing there any more. Where it
    # was their only contributor, a statement combining children's rows alone would leave the old row standing:
    # then the ancestors are computed as a full recompute writes them — own row included, stale rows removed.
    dropped = any(not UnitFilter.is_open(unit, p.end) for unit in changed for p in periods)
    flags = {pk: (dropped, True, dropped or designations or pk in reporting_ancestors) for pk in ancestors}
    flags.update({pk: (True, pk in with_kids or pk in ancestors, True) for pk in changed_ids})
    now = timezone.now()
    written = 0
    previous: dict[int, dict[tuple[int, int], Decimal | None]] = {pk: {} for pk in changed_ids}
    after: dict[int, dict[tuple[int, int], Decimal | None]] = {pk: {} for pk in changed_ids}
    district_keys = sorted({district_key(u) for u in changed} - {TOP_KEY})

    def run_depths(depths: Iterable[int]) -> int:
        done = 0
        for depth in sorted(depths, reverse=True):  # deepest first: each level reads its children's fresh rows
            groups: dict[tuple[bool, bool, bool], list[int]] = {}
            for pk, (stale, kids, own) in flags.items():
                if depth_of[pk] == depth:
                    groups.setdefault((stale, kids, own), []).append(pk)
            for (stale, kids, own), ids in sorted(groups.items()):
                done += _run_level(
                    plan, _ids_sql(sorted(ids)), [], now, check_stale=stale, with_children=kids, with_own=own
                )
        return done

    def read_values(ids: Iterable[int], into: dict[int, dict[tuple[int, int], Decimal | None]]) -> None:
        # The units' own values before (and after) this recompute, read under the locks: what progress needs to
        # update a per-school fact (pass/fail of "every school must …") without reading every school again — and,
        # with the values after, to tell whether a later approval of the same unit has moved them since.
        for unit_id, ind, per, val in IndicatorValue.objects.filter(
            org_unit_id__in=list(ids), indicator_id__in=plan.indicator_ids, period_id__in=plan.period_ids
        ).values_list("org_unit_id", "indicator_id", "period_id", "value"):
            into[unit_id][(ind, per)] = val

    def announce() -> None:
        for unit in changed:
            _after_update(
                plan.period_ids,
                plan.indicator_ids,
                unit_ids=list(unit.ancestor_ids),
                changed_unit_id=unit.pk,
                previous=previous[unit.pk],
                after=after[unit.pk],
                since=now,
            )

    inside = {d for d in set(depth_of.values()) if d >= 1}
    above = {d for d in set(depth_of.values()) if d < 1}
    own_transaction = not connection.in_atomic_block
    if inside:
        with transaction.atomic():
            _commit_without_waiting(own_transaction)
            _no_jit()
            _lock(district_keys)
            read_values((pk for pk in changed_ids if depth_of[pk] >= 1), previous)
            written += run_depths(inside)
            read_values((pk for pk in changed_ids if depth_of[pk] >= 1), after)
            if not above:
                transaction.on_commit(announce)
    if above:
        with transaction.atomic():
            _commit_without_waiting(own_transaction)
            _no_jit()
            _lock([TOP_KEY])
            read_values((pk for pk in changed_ids if depth_of[pk] < 1), previous)
            written += run_depths(above)
            read_values((pk for pk in changed_ids if depth_of[pk] < 1), after)
            transaction.on_commit(announce)
    # The stored H2 / year rows (indicators.windows): one task for the whole batch, after the values' commit.
    batch = list(changes)
    transaction.on_commit(lambda: events.levels_written.send(sender=Indicator, changes=batch))
    return written


def recompute_indicator(indicator_id: int) -> int:
    """After a definition change: every value of one indicator (all units, all periods), district by district.

    Each district runs in its own transaction under its own key (and TOP_KEY only for the short update of the
    rows above it at its end), so approvals elsewhere proceed meanwhile; progress follows once, at the end.
    """
    if not load_indicators([indicator_id]):
        return 0
    written = 0
    for unit_id in fan_out_unit_ids():
        written += full_recompute(indicator_ids=[indicator_id], root_unit_ids=[unit_id], announce=False)
    period_ids = list(Period.objects.order_by("pk").values_list("pk", flat=True))
    if period_ids:
        transaction.on_commit(lambda: _after_update(period_ids, [indicator_id]))
        transaction.on_commit(lambda: _after_levels(period_ids, None))  # the window rows: one rebuild
    return written


def fan_out_unit_ids() -> list[int]:
    """The units a full recompute is split into, following the tree's real shape.

    From each root, a unit is split into its children while it is a bureau (a province's or a city's bureau is
    above county level: its children are the next bureaus or the districts) or has exactly one child (a chain
    that does not divide the work); the units where real work splits — the districts (counties), and any
    school directly under a bureau — are the ones returned, in tree order. A root without children is
    returned itself. One small query per unit split (bureaus and single-child chains: a handful).

    The engine's locks still order writers by top-level subtree (``district_key``, ``_subtree_keys``): the
    counties of one city run one after another, different cities in parallel.
    """
    ids: list[int] = []
    stack = list(reversed(OrgUnit.objects.filter(parent__isnull=True).order_by("pk").values_list("pk", "level")))
    while stack:
        pk, level = stack.pop()
        children = list(OrgUnit.objects.filter(parent_id=pk).order_by("pk").values_list("pk", "level"))
        if children and (level == Level.BUREAU or len(children) == 1):
            stack.extend(reversed(children))
        else:
            ids.append(pk)
    return ids


# --- Half-year and whole-year values (computed on request, not stored) ---

_WINDOW_CODE = re.compile(r"^(\d{4})(?:H([12]))?$")
# period_mode → the windows an indicator may be asked for besides its quarters (see API.md: ``2023`` for
# the whole year, ``2023H1``/``2023H2`` for halves where an indicator allows it).
WINDOWS_ALLOWED = {"quarter": {"year"}, "year": {"year"}, "half": {"year", "half"}}


@dataclass(frozen=True)
class Window:
    """A run of quarters of one year: ``2023`` (Q1–Q4), ``2023H1`` (Q1–Q2) or ``2023H2`` (Q3–Q4)."""

    code: str
    kind: str  # "year" | "half"
    year: int
    first_quarter: int
    last_quarter: int

    @property
    def first_idx(self) -> int:
        return self.year * 4 + self.first_quarter - 1

    @property
    def last_idx(self) -> int:
        return self.year * 4 + self.last_quarter - 1

    @property
    def end(self) -> datetime.date:
        return Period(year=self.year, quarter=self.last_quarter).end_date


def parse_window(code: str) -> Window | None:
    """``2023`` / ``2023H1`` / ``2023H2`` → a Window; None for anything else (a quarter code included)."""
    match = _WINDOW_CODE.match(code.strip().upper())
    if match is None:
        return None
    year, half = int(match.group(1)), match.group(2)
    if half is None:
        return Window(str(year), "year", year, 1, 4)
    first = 1 if half == "1" else 3
    return Window(f"{year}H{half}", "half", year, first, first + 1)


def window_allowed(indicator: Indicator, window: Window) -> bool:
    return window.kind in WINDOWS_ALLOWED.get(indicator.period_mode, set())


@dataclass
class WindowValue:
    indicator: Indicator
    org_unit: OrgUnit
    period: str
    numerator: object
    denominator: object
    value: object
    unit_count: int
    computed_at: datetime.datetime
    left_out_count: int = 0  # mean / stddev / cv: units that reported but had no value of their own


def window_values(indicators: Sequence[Indicator], units: Sequence[OrgUnit], window: Window) -> list[WindowValue]:
    """Each indicator's value over ``window`` for each unit's subtree, by the quarters' rules widened:
    flow figures summed over the window's quarters, stock figures the latest value within it,
    ``code[-k]`` the same window k quarters earlier, designations granted in the year up to its end.

    The year is the stored Q4 row and H1 the stored Q2 row (flow year-to-date = the window's sum, stock latest
    within the year = latest within the window, the same open units and designations), read as stored whenever
    that identity holds for the indicator: every offset a whole number of years and no 不适用 answer stored for
    a figure it reads (a quarter row applies 不适用, a window does not). Otherwise — H2, an offset like
    ``[-1]``, 不适用 answers, a unit with no stored row (not computed yet, or nothing to compute) — one
    set-based statement computes it (``_computed_window_values``), linear in the subtree's size.
    """
    compiled = [c for c in load_indicators([i.pk for i in indicators]) if window_allowed(c.indicator, window)]
    if not compiled or not units:
        return []
    plan = _Plan(compiled, [])
    found: dict[tuple[int, int], tuple[object, ...]] = {}
    windowed = [c for c in compiled if window_row_stored(plan, c, window)]
    stored = [c for c in compiled if c not in windowed]
    if stored:
        found.update(_stored_window_rows(stored, units, window))
    if windowed:  # H2, 不适用, offsets: the engine's stored window rows (indicators.windows)
        found.update(_stored_window_value_rows(windowed, units, window))
    pending = [(c, u) for c in compiled for u in units if (c.indicator.pk, u.pk) not in found]
    if pending:
        wanted = [c for c in compiled if any(pc is c for pc, _u in pending)]
        wanted_units = [u for u in units if any(pu is u for _c, pu in pending)]
        for key, row in _computed_window_values(plan, wanted, wanted_units, window).items():
            found.setdefault(key, row)
    now = timezone.now()
    result = []
    for c in compiled:
        indicator = c.indicator
        for unit in units:
            num, den, cnt, m2, left_out, *stored_value = found.get((indicator.pk, unit.pk), (None, None, 0, None, 0))
            num, den = _decimal(num), _decimal(den)
            computed_at = now
            if stored_value:  # a stored row: its value and time as written by the engine
                value, computed_at = stored_value
            else:
                value = value_from_sums(indicator, num, den, _decimal(m2), int(cnt or 0))
            result.append(
                WindowValue(
                    indicator, unit, window.code, num, den, value, int(cnt or 0), computed_at, int(left_out or 0)
                )
            )
    return result


def value_from_sums(
    indicator: Indicator, num: Decimal | None, den: Decimal | None, m2: Decimal | None, count: int
) -> Decimal | None:
    """An indicator's value over a window from its summed numerator, denominator and (cv, stddev) second moment."""
    if indicator.aggregation in DISPERSION_AGGREGATIONS:
        return dispersion_value(indicator.aggregation, num, den, m2, count)
    if indicator.aggregation != Aggregation.RATIO:
        return num
    if num is None or den is None or den == 0:
        return None  # "无数据", never 0 and never an error
    return num * indicator.factor / den


def _window_is_stored_row(plan: _Plan, compiled: CompiledIndicator) -> bool:
    """Is ``compiled``'s value over a year or H1 exactly its stored row of the window's last quarter?"""
    refs = compiled.refs
    if any(ref not in plan.columns for ref in refs):
        return False
    if any(offset % 4 for _code, offset in refs):
        return False  # "[-1]" of a window is the window a quarter earlier, not the previous quarter's YTD
    return not any(offset == 0 and plan.figure_ids[(code, offset)] in plan.na_figure_ids for code, offset in refs)


def _stored_window_rows(
    compiled: Sequence[CompiledIndicator], units: Sequence[OrgUnit], window: Window
) -> dict[tuple[int, int], tuple[object, ...]]:
    """The stored rows of the window's last quarter (Q4 for the year, Q2 for H1; none for H2: it does not
    start the year), keyed (indicator id, unit id): one query."""
    if window.first_quarter != 1:
        return {}
    found: dict[tuple[int, int], tuple[object, ...]] = {}
    unit_ids = [u.pk for u in units]
    for start in range(0, len(unit_ids), STORED_WINDOW_CHUNK):  # an API list of every unit: bounded IN lists
        rows = IndicatorValue.objects.filter(
            indicator_id__in=[c.indicator.pk for c in compiled],
            org_unit_id__in=unit_ids[start : start + STORED_WINDOW_CHUNK],
            period__year=window.year,
            period__quarter=window.last_quarter,
        ).values_list("indicator_id", "org_unit_id", *WINDOW_SUM_FIELDS, "value", "computed_at")
        found.update({(row[0], row[1]): row[2:] for row in rows})
    return found


STORED_WINDOW_CHUNK = 5000
# A window's sums as stored (quarter rows and window rows alike), in the order the readers unpack them: num, den,
# count, second moment, left out.
WINDOW_SUM_FIELDS = ("numerator", "denominator", "unit_count", "moment2", "left_out_count")


def window_half(window: Window) -> int:
    """``IndicatorWindowValue.half`` of a window: 0 for the whole year, 1 for H1, 2 for H2."""
    if window.kind == "year":
        return 0
    return 1 if window.first_quarter == 1 else 2


def window_row_stored(plan: _Plan, compiled: CompiledIndicator, window: Window) -> bool:
    """Is ``compiled``'s value over ``window`` an ``IndicatorWindowValue`` row (``indicators.windows`` writes
    them), not a quarter row: every H2, and a year or H1 whose last quarter's row is not its value?"""
    if not window_allowed(compiled.indicator, window):
        return False
    if window.first_quarter != 1:
        return True  # H2 does not start the year: no year-to-date quarter row is its value
    return not _window_is_stored_row(plan, compiled)


def _stored_window_value_rows(
    compiled: Sequence[CompiledIndicator], units: Sequence[OrgUnit], window: Window
) -> dict[tuple[int, int], tuple[object, ...]]:
    """The stored window rows (num, den, cnt, m2, left out, value, computed at) keyed (indicator id, unit id)."""
    found: dict[tuple[int, int], tuple[object, ...]] = {}
    by_id = {c.indicator.pk: c.indicator for c in compiled}
    unit_ids = [u.pk for u in units]
    for start in range(0, len(unit_ids), STORED_WINDOW_CHUNK):
        rows = IndicatorWindowValue.objects.filter(
            indicator_id__in=list(by_id),
            org_unit_id__in=unit_ids[start : start + STORED_WINDOW_CHUNK],
            year=window.year,
            half=window_half(window),
        ).values_list("indicator_id", "org_unit_id", *WINDOW_SUM_FIELDS, "value", "computed_at")
        for row in rows:
            num, den, cnt, m2, left_out, value, computed_at = row[2:]
            indicator = by_id[row[0]]
            if indicator.aggregation == Aggregation.RATIO:
                # From the exact sums, not the stored value: rounded to 6 places, it would round again on a page.
                value = value_from_sums(indicator, num, den, m2, int(cnt or 0))
            found[(row[0], row[1])] = (num, den, cnt, m2, left_out, value, computed_at)
    return found


_PATH_TEXT = re.compile(r"^[0-9.]+$")


def _computed_window_values(
    plan: _Plan,
    compiled: Sequence[CompiledIndicator],
    units: Sequence[OrgUnit],
    window: Window,
    *,
    scope: str = "units",
) -> dict[tuple[int, int], tuple[object, ...]]:
    """The window's sums per (indicator id, unit id) — num, den, count, m2, left out — in one statement.

    ``scope``: "units" the requested units' subtrees; "own" each
    requested unit's own row alone (its subtree's other members left out: the stored rows' incremental update
    adds its children's rows); "own_subtrees" the own row of every unit in the requested units' subtrees, with
    no subtree join (the stored rows' full build, ``indicators.windows.rebuild``, combines them bottom-up).

    Linear at every size, with no plan that depends on an estimate: the members are the units under the
    requested units' paths (``path LIKE 'p%'`` literals: the path index, and the planner's statistics count
    them), their values are read once and combined into each member's own row, and those rows are summed
    per path prefix (one hash aggregate per distinct path length of the requested units) before the
    prefixes are matched to the requested units — no member × unit join.
    """
    owns = [sql for c in compiled if (sql := plan._own_sql(c)) is not None]
    if not owns:
        return {}
    paths = sorted({u.path for u in units if _PATH_TEXT.match(u.path)})
    outermost: list[str] = []
    for path in paths:  # sorted: a subtree's paths follow its root's
        if not outermost or not path.startswith(outermost[-1]):
            outermost.append(path)
    if not outermost:
        return {}
    in_scope = " OR ".join(f"m.path LIKE '{path}%'" for path in outermost)
    if scope == "own":
        in_scope = "m.id IN (" + ", ".join(str(int(u.pk)) for u in units) + ")"
    unit_ids = ", ".join(str(int(u.pk)) for u in units)
    # The quarters each offset reads, as period ids (an equality the planner can count, not a range over a
    # computed quarter index): (k, period id, quarter index) rows.
    periods = {p.index: p.pk for p in Period.objects.all()}
    win_rows = [
        f"SELECT {k} AS k, {periods[idx]} AS period_id, {idx} AS idx"
        for k in plan.offsets
        for idx in range(window.first_idx - k, window.last_idx - k + 1)
        if idx in periods
    ]
    if not win_rows:
        win_rows = ["SELECT 0 AS k, 0 AS period_id, 0 AS idx WHERE 1 = 0"]
    wins = " UNION ALL ".join(win_rows)
    quarter_idx = "w.idx"
    joins = (
        "FROM submissions_value v JOIN submissions_submission s ON s.id = v.submission_id "
        "JOIN win w ON w.period_id = s.period_id "
    )
    where = f"s.status IN ({plan.statuses}) AND s.org_unit_id IN (SELECT member_id FROM mem)"  # nosec B608
    eff_parts = []
    if plan.flow_ids:
        eff_parts.append(
            "SELECT s.org_unit_id AS unit_id, w.k AS k, v.figure_id AS figure_id, SUM(v.value) AS value "
            f"{joins} WHERE {where} AND v.figure_id IN ({', '.join(map(str, plan.flow_ids))}) "
            "GROUP BY s.org_unit_id, w.k, v.figure_id"
        )
    if plan.stock_ids:
        eff_parts.append(
            "SELECT unit_id, k, figure_id, value FROM (SELECT s.org_unit_id AS unit_id, w.k AS k, "  # nosec B608
            "v.figure_id AS figure_id, v.value AS value, ROW_NUMBER() OVER (PARTITION BY s.org_unit_id, w.k, "
            f"v.figure_id ORDER BY {quarter_idx} DESC) AS rn {joins} WHERE {where} AND v.value IS NOT NULL "
            f"AND v.figure_id IN ({', '.join(map(str, plan.stock_ids))})) ranked WHERE rn = 1"
        )
    if not eff_parts:
        eff_parts.append(f"SELECT 0 AS unit_id, 0 AS k, 0 AS figure_id, {NULL_NUMERIC} AS value WHERE 1 = 0")
    cols = "".join(
        f", MAX(CASE WHEN e.figure_id = {plan.figure_ids[ref]} AND e.k = {ref[1]} THEN e.value END) AS {name}"
        for ref, name in plan.columns.items()
    )
    base_cols = "".join(f", piv.{name} AS {name}" for name in plan.columns.values())
    rolled = " UNION ALL ".join(
        f"SELECT own.indicator_id AS indicator_id, SUBSTR(u.path, 1, {length}) AS prefix, "  # nosec B608
        "SUM(own.num) AS s_num, MAX(own.num) AS mx, MIN(own.num) AS mn, SUM(own.den) AS den, "
        "SUM(own.cnt) AS cnt, SUM(own.m2) AS m2, SUM(own.lo) AS lo "
        f"FROM own JOIN schools_orgunit u ON u.id = own.unit_id WHERE LENGTH(u.path) >= {length} "
        f"GROUP BY own.indicator_id, SUBSTR(u.path, 1, {length})"
        for length in sorted({len(path) for path in paths})
    )
    targets = f"t.id IN ({unit_ids})"
    sql = f"""
WITH mem AS (
  SELECT m.id AS member_id FROM schools_orgunit m
  WHERE ({in_scope}) AND {UnitFilter.open_sql("m", _date_sql(window.end))}
),
win AS ({wins}),
eff AS ({" UNION ALL ".join(eff_parts)}),
piv AS (SELECT e.unit_id AS unit_id{cols} FROM eff e GROUP BY e.unit_id),
base AS (
  SELECT u.id AS unit_id, u.level AS level, u.school_type AS school_type, u.ownership AS ownership,
         u.is_central AS is_central, u.opened_on AS opened_on, 0 AS period_id,
         {_date_sql(datetime.date(window.year, 1, 1))} AS year_start,
         {_date_sql(window.end)} AS period_end{base_cols}
  FROM schools_orgunit u LEFT JOIN piv ON piv.unit_id = u.id
  WHERE u.id IN (SELECT member_id FROM mem)
),
own AS ({" UNION ALL ".join(owns)}),
rolled AS ({rolled})
SELECT r.indicator_id, t.id,
       CASE i.aggregation WHEN 'max' THEN MAX(r.mx) WHEN 'min' THEN MIN(r.mn) ELSE SUM(r.s_num) END,
       SUM(r.den), SUM(r.cnt), SUM(r.m2), SUM(r.lo)
FROM rolled r JOIN schools_orgunit t ON t.path = r.prefix JOIN targets_indicator i ON i.id = r.indicator_id
WHERE {targets}
GROUP BY r.indicator_id, t.id, i.aggregation
"""  # nosec B608
    if scope in ("own", "own_subtrees"):
        sql = sql[: sql.index("rolled AS (")].rstrip().rstrip(",") + (
            "\nSELECT own.indicator_id, own.unit_id, own.num, own.den, own.cnt, own.m2, own.lo FROM own"  # nosec B608
        )
    if scope == "own":  # a few units' own rows (an approval's): no session tuning, no savepoint round trips
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return {(row[0], row[1]): tuple(row[2:]) for row in cursor.fetchall()}
    with transaction.atomic(), connection.cursor() as cursor:
        _tune_session()  # the bureau's window reads a year of every school's values: sort in memory
        cursor.execute(sql)
        return {(row[0], row[1]): tuple(row[2:]) for row in cursor.fetchall()}


class WindowValues(Sequence[WindowValue]):
    """``window_values(indicators, units, window)`` as a lazy list, computed slice by slice (issue 17).

    The same rows in the same order (indicator by indicator, units by path), but a slice computes only its own
    units: a page of the API's window list costs its units' subtrees, not the whole scope's. ``units`` is a
    queryset (counted once; each slice reads its units by offset). An indicator whose figures are gone gives
    rows without values, as it does among others in ``window_values``.
    """

    def __init__(self, indicators: Sequence[Indicator], units: QuerySet[OrgUnit], window: Window) -> None:
        compiled = {c.indicator.pk for c in load_indicators([i.pk for i in indicators])}
        self.indicators = [i for i in indicators if i.pk in compiled and window_allowed(i, window)]
        self.units = units.order_by("path")
        self.unit_count = self.units.count() if self.indicators else 0
        self.window = window

    def __len__(self) -> int:
        return len(self.indicators) * self.unit_count

    @overload
    def __getitem__(self, index: int) -> WindowValue: ...

    @overload
    def __getitem__(self, index: slice) -> list[WindowValue]: ...

    def __getitem__(self, index: int | slice) -> WindowValue | list[WindowValue]:
        if isinstance(index, int):
            position = range(len(self))[index]  # IndexError out of range, negatives counted from the end
            return self[position : position + 1][0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("WindowValues slices have no step")
        rows: list[WindowValue] = []
        while start < stop:
            which, first = divmod(start, self.unit_count)
            last = min(self.unit_count, first + stop - start)
            indicator, units = self.indicators[which], list(self.units[first:last])
            found = window_values([indicator], units, self.window)
            if not found:
                now = timezone.now()
                found = [WindowValue(indicator, unit, self.window.code, None, None, None, 0, now) for unit in units]
            rows.extend(found)
            start += last - first
        return rows


def _decimal(value: object) -> Decimal | None:
    """SQLite hands back floats for computed numerics: through str, so 0.1 stays 0.1."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))
