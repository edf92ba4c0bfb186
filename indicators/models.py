"""The indicator engine's models: indicator definitions, their values per unit and period, and the
recompute outbox. The tables keep their historical ``targets_`` names (the models moved here from ``targets``
without touching a row; see the migrations)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from schools.models import DesignationLevel, describe_units

# --- Indicators ---


class Aggregation(models.TextChoices):
    RATIO = "ratio", _("比率（分子和/分母和）")
    SUM = "sum", _("求和")
    MAX = "max", _("最大值")
    MIN = "min", _("最小值")
    COUNT_UNITS_WHERE = "count_units_where", _("满足条件的单位数")
    COUNT_DESIGNATIONS = "count_designations", _("认定数")
    COUNT_OPENED_UNITS = "count_opened_units", _("新建单位数")
    # Across the reporting units of the scope, of each unit's own value (numerator ÷ denominator × factor),
    # weighted by ``weight`` (default: the denominator). CV is the 校际差异系数: S ÷ X̄.
    MEAN = "mean", _("各单位值的加权平均")
    STDDEV = "stddev", _("各单位值的加权标准差")
    CV = "cv", _("差异系数（校际差异系数）")


# The aggregations across units: each unit's own value is one observation, weighted.
DISPERSION_AGGREGATIONS = frozenset({Aggregation.MEAN, Aggregation.STDDEV, Aggregation.CV})


class PeriodMode(models.TextChoices):
    QUARTER = "quarter", _("按季度")
    YEAR = "year", _("按年度")
    HALF = "half", _("按半年")


class Indicator(models.Model):
    """A measure computed from figures: numerator/denominator expressions over figure codes, aggregated up the tree."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    definition = models.TextField(_("口径说明"), blank=True)
    numerator = models.CharField(_("分子表达式"), max_length=1000, blank=True)
    denominator = models.CharField(_("分母表达式"), max_length=1000, blank=True)
    weight = models.CharField(
        _("权重表达式"),
        max_length=1000,
        blank=True,
        help_text=_("仅用于平均值、标准差、差异系数：各单位的权重，留空为分母（如在校生数）"),
    )
    factor = models.DecimalField(_("系数"), max_digits=12, decimal_places=4, default=Decimal(1))
    decimals = models.PositiveSmallIntegerField(_("小数位"), default=1)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    aggregation = models.CharField(_("汇总方式"), max_length=30, choices=Aggregation.choices, default=Aggregation.RATIO)
    condition = models.CharField(_("条件"), max_length=1000, blank=True, help_text=_("例如 pri_enrolled > 2000"))
    designation_kind = models.ForeignKey(
        "schools.DesignationKind", verbose_name=_("认定类别"), null=True, blank=True, on_delete=models.PROTECT
    )
    designation_level = models.CharField(
        _("认定级别"),
        max_length=20,
        choices=DesignationLevel.choices,
        blank=True,
        help_text=_("只统计该级别的认定（如省级）；留空统计所有级别"),
    )
    unit_filter_levels = models.JSONField(_("单位层级"), default=list, blank=True)
    unit_filter_school_types = models.JSONField(_("学校类型"), default=list, blank=True)
    unit_filter_ownership = models.JSONField(_("办学性质"), default=list, blank=True)
    unit_filter_central_only = models.BooleanField(_("仅中心校"), default=False)
    period_mode = models.CharField(_("周期"), max_length=10, choices=PeriodMode.choices, default=PeriodMode.QUARTER)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "targets_indicator"
        verbose_name = _("统计指标")
        verbose_name_plural = _("统计指标")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("indicators:indicator_detail", kwargs={"code": self.code})

    @property
    def counts_units(self) -> bool:
        """Can a count target ("单位数", e.g. "省优质园 20 所", "新建幼儿园 20 所") measure by this indicator?"""
        if self.aggregation == Aggregation.COUNT_OPENED_UNITS:
            return True
        return self.aggregation == Aggregation.COUNT_DESIGNATIONS and self.designation_kind_id is not None

    @property
    def unit_filter_text(self) -> str:
        """The units the indicator counts, in words ("" when it counts every unit)."""
        return describe_units(
            self.unit_filter_levels,
            self.unit_filter_school_types,
            self.unit_filter_ownership,
            central_only=self.unit_filter_central_only,
        )


class IndicatorValue(models.Model):
    """An indicator's value for one org unit (its whole subtree) and period; value is null when undefined."""

    # No single-column indexes on indicator and org unit: the unique constraint (indicator, period, org unit) and
    # the (org unit, period) index below start with them and serve every lookup (deleting an indicator or a unit
    # included). Two fewer indexes to maintain on every write and to build after a first build (issue 17).
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values", db_index=False)
    org_unit = models.ForeignKey(
        "schools.OrgUnit", on_delete=models.CASCADE, related_name="indicator_values", db_index=False
    )
    period = models.ForeignKey("submissions.Period", on_delete=models.CASCADE, related_name="indicator_values")
    numerator = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    denominator = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    unit_count = models.PositiveIntegerField(_("参与单位数"), default=0)
    # Of those units, how many gave the quarter a stock figure from an earlier quarter of the year (the latest
    # approved value carried forward, ``indicators.engine``): pages say "含 N 所学校沿用上季度数据".
    carried_units = models.PositiveIntegerField(_("沿用前期数据的单位数"), default=0)
    # Mean / stddev / cv rows: numerator = ΣPᵢXᵢ, denominator = ΣPᵢ, moment2 = ΣPᵢXᵢ² over the units counted
    # (unit_count); left_out_count = units that reported but were left out (zero or missing denominator).
    moment2 = models.DecimalField(max_digits=32, decimal_places=8, null=True, blank=True)
    left_out_count = models.PositiveIntegerField(_("未计入单位数"), default=0)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "targets_indicatorvalue"
        verbose_name = _("指标值")
        verbose_name_plural = _("指标值")
        ordering = ["indicator", "period", "org_unit", "pk"]
        constraints = [
            # In (indicator, period, unit) order, the unique index also serves the drill-down tables (one indicator
            # and period, the children of a unit): until issue 17 a second index (targets_iv_ind_period_unit) held
            # that order, one more index to build after a first build and to update on every write.
            models.UniqueConstraint(fields=["indicator", "period", "org_unit"], name="targets_indicatorvalue_unique"),
        ]
        indexes = [
            # Unit page: every indicator of one unit.
            models.Index(fields=["org_unit", "period"], name="targets_iv_unit_period"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.org_unit_id} · {self.period_id} = {self.value}"


class RecomputeKind(models.TextChoices):
    """What made a (unit, period) stale, and so which indicators its recompute runs."""

    FIGURES = "figures", _("上报数据变更")
    DESIGNATIONS = "designations", _("认定变更")


class PendingRecompute(models.Model):
    """A stale (unit, period): written in the approving transaction, cleared by the engine (the outbox)."""

    org_unit = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey("submissions.Period", on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=RecomputeKind.choices, default=RecomputeKind.FIGURES)
    # Informational only (the history action: approve, reopen, designation); ``kind`` steers the recompute.
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "targets_pendingrecompute"
        verbose_name = _("待重算")
        verbose_name_plural = _("待重算")
        ordering = ["requested_at", "pk"]
        indexes = [
            # The sweep's query: work not done yet.
            models.Index(fields=["requested_at"], condition=Q(done_at__isnull=True), name="targets_pending_open"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_id} · {self.period_id}"


class NightlyRun(models.Model):
    """One nightly full recompute: counts its districts down so that the last one announces the values once."""

    started_at = models.DateTimeField(auto_now_add=True)
    remaining = models.PositiveIntegerField()
    period_ids = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("夜间重算")
        verbose_name_plural = _("夜间重算")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.remaining}"


class RecomputeJobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class RecomputeJob(models.Model):
    """A recompute asked for through ``POST /api/v1/recompute/``: recorded before it is enqueued, so a broker that
    is down delays it (the sweep runs queued jobs) instead of losing it, and its outcome can be looked up."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Empty period: every period; empty unit: the whole tree.
    period = models.ForeignKey("submissions.Period", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    org_unit = models.ForeignKey("schools.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=RecomputeJobStatus.choices, default=RecomputeJobStatus.QUEUED)
    rows = models.PositiveIntegerField(null=True, blank=True)
    units = models.PositiveIntegerField(null=True, blank=True)
    periods = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("重算任务")
        verbose_name_plural = _("重算任务")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sweep's query: jobs queued or running.
            models.Index(
                fields=["created_at"], condition=Q(status__in=["queued", "running"]), name="indicators_rjob_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} · {self.status}"


class IndicatorWindowValue(models.Model):
    """An indicator's value over a year (``half`` 0) or half-year (1, 2) for one unit's subtree (issue 17).

    Stored only where no quarter row is that value: every H2 and, for an indicator that reads a figure with
    不适用 answers or an offset that is not whole years, its year and H1 (``indicators.windows``). Written by the
    engine bottom-up — the sums of the children's rows plus the unit's own — in the full and the incremental
    recompute; the same columns as ``IndicatorValue``.
    """

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="window_values")
    org_unit = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="indicator_window_values")
    year = models.PositiveSmallIntegerField()
    half = models.PositiveSmallIntegerField(default=0)  # 0 the whole year, 1 H1, 2 H2
    numerator = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    denominator = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    unit_count = models.PositiveIntegerField(default=0)
    moment2 = models.DecimalField(max_digits=32, decimal_places=8, null=True, blank=True)
    left_out_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("年度/半年指标值")
        verbose_name_plural = _("年度/半年指标值")
        ordering = ["indicator", "year", "half", "org_unit", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "year", "half", "org_unit"], name="indicators_windowvalue_unique"
            ),
        ]
        indexes = [
            # An approval's update: the rows of its unit and ancestors (and their children).
            models.Index(fields=["org_unit", "year", "half"], name="indicators_wv_unit_window"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.org_unit_id} · {self.year}/{self.half} = {self.value}"
