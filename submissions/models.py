"""What units report each quarter: figure definitions, periods, submissions, values and their history."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schools.models import Stage


class ValueType(models.TextChoices):
    INTEGER = "integer", _("整数")
    DECIMAL = "decimal", _("小数")


class TimeAggregation(models.TextChoices):
    FLOW = "flow", _("流量（按季度累加）")
    STOCK = "stock", _("存量（取最新值）")


class UnitAggregation(models.TextChoices):
    SUM = "sum", _("求和")
    MAX = "max", _("最大值")
    MIN = "min", _("最小值")


class Figure(models.Model):
    """A data element units report (e.g. 小学新生数 ``pri_new_entrants``), with how it aggregates."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    unit = models.CharField(_("计量单位"), max_length=20, blank=True)
    value_type = models.CharField(_("数值类型"), max_length=10, choices=ValueType.choices, default=ValueType.INTEGER)
    time_aggregation = models.CharField(
        _("时间汇总"), max_length=10, choices=TimeAggregation.choices, default=TimeAggregation.FLOW
    )
    unit_aggregation = models.CharField(
        _("单位汇总"), max_length=10, choices=UnitAggregation.choices, default=UnitAggregation.SUM
    )
    min_value = models.DecimalField(_("最小值"), max_digits=20, decimal_places=4, null=True, blank=True, default=0)
    max_value = models.DecimalField(_("最大值"), max_digits=20, decimal_places=4, null=True, blank=True)
    # Who reports it: levels (e.g. ["district"] for population figures) and/or school types.
    reported_by_levels = models.JSONField(_("填报层级"), default=list, blank=True)
    reported_by_school_types = models.JSONField(_("填报学校类型"), default=list, blank=True)
    reported_by_central_only = models.BooleanField(_("仅中心校填报"), default=False)
    # Population figures come from the bureau's direct subdivisions, whatever their level: a district
    # (区) or a town (镇) directly under the bureau. Listing "township" in reported_by_levels instead
    # would also catch 学区 inside districts and count the population twice.
    reported_by_top_areas = models.BooleanField(
        _("由教育局直属区县/乡镇填报"), default=False, help_text=_("人口等数据由教育局下一级单位（区县或直属乡镇）填报")
    )
    # Further conditions, AND-ed with the ones above: ownership (公办/民办…) and region (one or more subtrees).
    reported_by_ownership = models.JSONField(_("填报办学性质"), default=list, blank=True)
    reported_by_within = models.ManyToManyField(
        "schools.OrgUnit",
        verbose_name=_("填报区域"),
        blank=True,
        related_name="+",
        help_text=_("只有这些单位（含下级）填报；留空表示全市"),
    )
    # 学段: a stage figure (小学部在校生数) is reported by the schools of that stage and, for their part of that
    # stage only, by schools spanning stages (九年一贯制): each part is one school in that stage's 差异系数.
    stage = models.CharField(
        _("学段"),
        max_length=10,
        choices=Stage.choices,
        default=Stage.NONE,
        blank=True,
        help_text=_("九年一贯制学校分小学部、初中部填报时选择；填报学校类型须是该学段的学校"),
    )
    required = models.BooleanField(_("必填"), default=True, help_text=_("必填项为空时不能提交"))
    allows_not_applicable = models.BooleanField(
        _("允许填“不适用”"), default=False, help_text=_("填报单位可选择“不适用”，不计入任何合计与分母")
    )
    # A figure added in 2024 does not make 2023 submissions incomplete: outside these periods nobody reports it.
    from_period = models.ForeignKey(
        "Period", verbose_name=_("起始周期"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    until_period = models.ForeignKey(
        "Period", verbose_name=_("截止周期"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Stock figures only: a move of more than this share from last quarter needs a written explanation.
    # Blank = the portal-wide STOCK_CHANGE_WARNING_SHARE setting.
    change_warning_share = models.DecimalField(
        _("环比变动预警比例"),
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("存量指标与上季度相比变动超过该比例时给出警告（0.3 即 30%），留空使用系统默认值"),
    )
    help_text = models.TextField(_("填报说明"), blank=True)
    group = models.CharField(_("分组"), max_length=100, blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("填报指标项")
        verbose_name_plural = _("填报指标项")
        ordering = ["group", "order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(max_value__gte=models.F("min_value")),
                name="submissions_figure_range_ordered",
                violation_error_message=_("最大值不能小于最小值"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def current_of(periods: Iterable[Period], on: datetime.date) -> Period | None:
    """THE rule for "which quarter is current" on day ``on``: the latest of ``periods`` that has opened for
    reporting (``opens_on``); before any has opened, the earliest. Every page, export and the target preview ask
    this (through ``Period.objects.current`` or, with periods already loaded, directly), so they never disagree."""
    ordered = sorted(periods, key=lambda period: period.index)
    opened = [period for period in ordered if period.opens_on <= on]
    if opened:
        return opened[-1]
    return ordered[0] if ordered else None


class PeriodQuerySet(models.QuerySet["Period"]):
    def current(self, year: int | None = None, on: datetime.date | None = None) -> Period | None:
        """The current quarter (``current_of``), of ``year`` when given; ``on`` defaults to today."""
        periods = self.filter(year=year) if year is not None else self.all()
        return current_of(periods, on or timezone.localdate())


class Period(models.Model):
    """A reporting quarter (``2023Q1``) with the dates it opens, is due and locks."""

    code = models.CharField(_("代码"), max_length=10, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    quarter = models.PositiveSmallIntegerField(_("季度"))
    opens_on = models.DateField(_("开始填报"))
    due_on = models.DateField(_("截止日期"))
    locks_on = models.DateField(_("锁定日期"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("填报周期")
        verbose_name_plural = _("填报周期")
        ordering = ["year", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter"], name="submissions_period_unique_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="submissions_period_quarter_1_4"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("opens_on")) & Q(locks_on__gte=models.F("due_on")),
                name="submissions_period_dates_ordered",
                violation_error_message=_("日期顺序应为：开始 ≤ 截止 ≤ 锁定"),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def index(self) -> int:
        """Quarters since year 0: period offsets (``code[-k]``) are index arithmetic."""
        return self.year * 4 + self.quarter - 1

    @property
    def start_date(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end_date(self) -> datetime.date:
        if self.quarter == 4:
            return datetime.date(self.year, 12, 31)
        return datetime.date(self.year, 3 * self.quarter + 1, 1) - datetime.timedelta(days=1)

    @staticmethod
    def code_for(year: int, quarter: int) -> str:
        return f"{year}Q{quarter}"


class PeriodException(models.Model):
    """Permission for one unit to edit a locked period, with the reason it was granted."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="exceptions")
    org_unit = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="period_exceptions")
    reason = models.CharField(_("原因"), max_length=500)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    until = models.DateField(_("有效至"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("锁定例外")
        verbose_name_plural = _("锁定例外")
        ordering = ["period", "org_unit", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["period", "org_unit"], name="submissions_periodexception_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.period} · {self.org_unit}"


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    APPROVED = "approved", _("已审核")
    RETURNED = "returned", _("已退回")


class Submission(models.Model):
    """One unit's figures for one period, moving draft → submitted → approved (or returned)."""

    org_unit = models.ForeignKey(
        "schools.OrgUnit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="submissions"
    )
    period = models.ForeignKey(Period, verbose_name=_("周期"), on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(
        _("状态"), max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    # Optimistic locking: every write must name the version it read; a stale one is a 409.
    version = models.PositiveIntegerField(_("版本"), default=1)
    is_zero_report = models.BooleanField(_("零报告"), default=False)
    # {rule_code: text} written by the principal for warnings; shown to the reviewer.
    explanations = models.JSONField(_("说明"), default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_reason = models.TextField(_("重新打开原因"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("填报")
        verbose_name_plural = _("填报")
        ordering = ["period", "org_unit__path", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "period"],
                name="submissions_submission_unique_unit_period",
                violation_error_message=_("该单位本周期已有填报"),
            ),
        ]
        indexes = [
            # Reviewer screen and completeness board: a period's submissions by status.
            models.Index(fields=["period", "status"], name="submissions_sub_period_status"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.period}"

    def get_absolute_url(self) -> str:
        return reverse("submissions:submission_detail", kwargs={"pk": self.pk})


class Value(models.Model):
    """One reported number: a submission's value for a figure (null = not reported)."""

    # No index of its own: the unique (submission, figure) constraint's index serves every lookup by
    # submission, and a second one only slows the bulk insert of a district's upload.
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="values", db_index=False)
    figure = models.ForeignKey(Figure, on_delete=models.PROTECT, related_name="values")
    value = models.DecimalField(_("数值"), max_digits=20, decimal_places=4, null=True, blank=True)
    # 不适用: a third state beside a number and empty. Its value is always null, so no SUM and no
    # denominator ever counts it; it answers the figure for completeness.
    not_applicable = models.BooleanField(_("不适用"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("填报数值")
        verbose_name_plural = _("填报数值")
        ordering = ["submission", "figure__order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "figure"], name="submissions_value_unique_figure"),
            models.CheckConstraint(
                condition=Q(not_applicable=False) | Q(value__isnull=True),
                name="submissions_value_not_applicable_has_no_value",
                violation_error_message=_("“不适用”的项目不能同时填写数值"),
            ),
        ]
        # The few 不适用 answers, by figure: the indicator engine asks which figures have any before it writes
        # a 不适用 test into its statements (planning those tests tripled the planning time of a recompute).
        indexes = [
            models.Index(fields=["figure"], condition=Q(not_applicable=True), name="submissions_value_na_figure"),
        ]

    def __str__(self) -> str:
        return f"{self.figure.code}={self.value}"


class Channel(models.TextChoices):
    WEB = "web", _("网页")
    EXCEL = "excel", _("Excel")
    API = "api", _("API")
    SYSTEM = "system", _("系统")


class HistoryAction(models.TextChoices):
    VALUE = "value", _("修改数值")
    SUBMIT = "submit", _("提交")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回")
    REOPEN = "reopen", _("重新打开")
    EXPLAIN = "explain", _("填写说明")


class SubmissionHistory(models.Model):
    """Audit trail: every value change and workflow action of a submission (who, when, channel, old → new)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(_("操作"), max_length=20, choices=HistoryAction.choices)
    figure = models.ForeignKey(Figure, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    old_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    new_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("填报历史")
        verbose_name_plural = _("填报历史")
        ordering = ["submission", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.submission} · {self.get_action_display()}"


class Operator(models.TextChoices):
    LE = "<=", "≤"
    LT = "<", "<"
    EQ = "==", "="
    NE = "!=", "≠"
    GE = ">=", "≥"
    GT = ">", ">"


class Severity(models.TextChoices):
    ERROR = "error", _("错误（阻止提交）")
    WARNING = "warning", _("警告（需填写说明）")


class ValidationRule(models.Model):
    """A check over a submission's figures: ``left operator right`` (e.g. 外来生 ≤ 新生数)."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    left = models.CharField(_("左侧表达式"), max_length=500)
    operator = models.CharField(_("运算符"), max_length=2, choices=Operator.choices)
    right = models.CharField(_("右侧表达式"), max_length=500)
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices, default=Severity.ERROR)
    message = models.CharField(_("提示信息"), max_length=500)
    message_en = models.CharField(
        _("英文提示信息"), max_length=500, blank=True, help_text=_("英文界面显示；留空则显示中文提示信息。")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("校验规则")
        verbose_name_plural = _("校验规则")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ReminderStage(models.TextChoices):
    BEFORE_DUE = "before_due", _("截止前提醒")
    OVERDUE = "overdue", _("逾期上报审核员")


class Reminder(models.Model):
    """A reminder e-mail sent for one unit, period and stage; the unique key makes sending idempotent."""

    org_unit = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20, choices=ReminderStage.choices)
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.TextField(blank=True)

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["period", "org_unit", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "period", "stage"], name="submissions_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.period} · {self.stage}"


def submission_counts_by_status() -> dict[str, int]:
    """Every status with its number of submissions, zero included (for /metrics)."""
    counts = dict.fromkeys(SubmissionStatus.values, 0)
    rows = Submission.objects.values_list("status").annotate(n=models.Count("pk")).order_by()
    counts.update(dict(rows))
    return counts
