"""The plan's targets, their expected path, progress per period and unit, history and notes."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.numbers import format_margin, format_number
from targets import progress_detail
from targets.progress_detail import ProgressDetail

# --- Targets ---


class TargetKind(models.TextChoices):
    THRESHOLD = "threshold", _("比率/数值达标")
    QUANTITY = "quantity", _("数量（年内累计）")
    COUNT_UNITS = "count_units", _("单位数（认定/创建）")
    LIMIT = "limit", _("控制/零容忍")
    FREQUENCY = "frequency", _("每单位频次")
    MILESTONE = "milestone", _("里程碑")
    NARRATIVE = "narrative", _("定性工作")


class Comparator(models.TextChoices):
    GTE = "gte", "≥"
    LTE = "lte", "≤"
    EQ = "eq", "="
    RANGE = "range", _("区间")
    # "有一定提高": strictly better than a baseline (the same quarter a year earlier unless the target gives one),
    # better meaning higher or lower as the target's ``direction`` says; no target value.
    IMPROVES = "improves", _("较上年有提高")


class Direction(models.TextChoices):
    """Which way is better for an ``improves`` target."""

    HIGHER = "higher", _("越高越好（提高）")
    LOWER = "lower", _("越低越好（降低）")


class Rhythm(models.TextChoices):
    """How often a frequency target's per-unit count starts again."""

    MONTH = "month", _("每月")
    QUARTER = "quarter", _("每季度")
    SEMESTER = "semester", _("每学期")
    YEAR = "year", _("每年")


class EachUnitLevel(models.TextChoices):
    """The level a per-unit rule names ("每个区县", "每个学区", "每所学校")."""

    DISTRICT = "district", _("每个区县")
    TOWNSHIP = "township", _("每个乡镇/学区")
    SCHOOL = "school", _("每所学校/幼儿园")


class PathMode(models.TextChoices):
    LINEAR = "linear", _("从基线线性推进")
    MILESTONES = "milestones", _("按季度节点")
    FLAT = "flat", _("每期均须达标")


class MilestoneStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("推进中")
    DONE = "done", _("已完成")
    BLOCKED = "blocked", _("受阻")


class Target(models.Model):
    """A target of a plan, its sentence kept verbatim, bound to what measures it."""

    plan = models.ForeignKey("plans.Plan", verbose_name=_("工作要点"), on_delete=models.CASCADE, related_name="targets")
    section = models.ForeignKey(
        "plans.Section", verbose_name=_("部分"), on_delete=models.PROTECT, related_name="targets"
    )
    work_item = models.ForeignKey(
        "plans.WorkItem",
        verbose_name=_("工作任务"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    code = models.SlugField(_("代码"), max_length=60)
    text = models.TextField(_("目标原文"))
    kind = models.CharField(_("类型"), max_length=20, choices=TargetKind.choices)
    indicator = models.ForeignKey(
        "indicators.Indicator",
        verbose_name=_("统计指标"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    comparator = models.CharField(_("比较"), max_length=10, choices=Comparator.choices, blank=True)
    target_value = models.DecimalField(_("目标值"), max_digits=20, decimal_places=4, null=True, blank=True)
    target_value_max = models.DecimalField(_("目标上限"), max_digits=20, decimal_places=4, null=True, blank=True)
    # Per-unit frequency: the count each qualifying unit must reach per semester.
    # Only for comparator ``improves``: higher or lower is better ("" reads as higher).
    direction = models.CharField(
        _("改进方向"),
        max_length=10,
        choices=Direction.choices,
        blank=True,
        help_text=_("仅“较上年有提高”时使用：数值越高越好，还是越低越好"),
    )
    per_unit_minimum = models.DecimalField(_("每单位最低次数"), max_digits=12, decimal_places=2, null=True, blank=True)
    baseline_value = models.DecimalField(_("基线值"), max_digits=20, decimal_places=4, null=True, blank=True)
    baseline_period = models.ForeignKey(
        "submissions.Period",
        verbose_name=_("基线周期"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    scope = models.ForeignKey(
        "schools.OrgUnit", verbose_name=_("范围"), on_delete=models.PROTECT, related_name="targets"
    )
    applies_to_each_unit = models.BooleanField(_("每个单位均须达标"), default=False)
    # The units a per-unit rule names (blank: schools); checked by targets_service.check_per_unit_rule.
    each_unit_level = models.CharField(
        _("逐个评估的单位层级"), max_length=20, choices=EachUnitLevel.choices, blank=True
    )
    # A frequency target's count restarts every month / quarter / semester / year (per_unit_minimum is per rhythm).
    rhythm = models.CharField(_("频次周期"), max_length=20, choices=Rhythm.choices, default=Rhythm.SEMESTER, blank=True)
    # A range "2–3" is met above its upper bound unless the plan says the upper bound is a ceiling.
    range_is_ceiling = models.BooleanField(_("超过上限视为未达标"), default=False)
    due_period = models.ForeignKey(
        "submissions.Period",
        verbose_name=_("完成期限"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_date = models.DateField(_("截止日期"), null=True, blank=True)
    # A milestone's window in the plan year ("2–7 月招生": 2 and 7; "3 月评审": 3 and 3) and the day it was done.
    start_month = models.PositiveSmallIntegerField(
        _("开始月份"), null=True, blank=True, help_text=_("里程碑开始的月份（1–12），此前的季度不评估")
    )
    due_month = models.PositiveSmallIntegerField(
        _("完成月份"), null=True, blank=True, help_text=_("里程碑须在该月底前完成（1–12）")
    )
    completed_on = models.DateField(_("完成日期"), null=True, blank=True, help_text=_("完成之前的季度不算已达成"))
    # Seasonal measures (autumn enrolment: new entrants, on-time entry) have nothing to judge before their
    # season: earlier quarters keep their value but get no status (progress ``detail.reason``).
    assess_from = models.ForeignKey(
        "submissions.Period",
        verbose_name=_("起评季度"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("此前的季度只显示数值、不评估状态，例如秋季入学后才有数据的目标填第3季度"),
    )
    path_mode = models.CharField(_("预期路径"), max_length=20, choices=PathMode.choices, default=PathMode.LINEAR)
    at_risk_margin = models.DecimalField(
        _("风险容差"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.05"),
        help_text=_("与预期值相差在此比例内为“有风险”"),
    )
    owner_unit = models.ForeignKey(
        "schools.OrgUnit",
        verbose_name=_("责任单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_targets",
    )
    owner_name = models.CharField(_("责任科室/人"), max_length=200, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    part_of = models.ForeignKey(
        "self",
        verbose_name=_("所属目标"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sub_targets",
        help_text=_("“其中外来生2000人”这样的子目标"),
    )
    contributes_to = models.ForeignKey(
        "self",
        verbose_name=_("对应上级目标"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributions",
    )
    milestone_status = models.CharField(_("里程碑状态"), max_length=20, choices=MilestoneStatus.choices, blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=0)
    # The same target in the plan this one was copied from (targets.plan_copy): its progress is "last year"
    # on the plan page and the dashboard. Not editable: only the copy sets it.
    copied_from = models.ForeignKey(
        "self",
        verbose_name=_("复制自"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        ordering = ["plan", "section__order", "order", "code", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="targets_target_unique_code_per_plan",
                violation_error_message=_("同一工作要点中目标代码不能重复"),
            ),
            models.CheckConstraint(
                condition=Q(target_value_max__isnull=True)
                | Q(target_value__isnull=True)
                | Q(target_value_max__gte=models.F("target_value")),
                name="targets_target_range_ordered",
                violation_error_message=_("目标上限不能小于目标值"),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def get_absolute_url(self) -> str:
        return reverse("reports:target_detail", kwargs={"plan": self.plan.code, "code": self.code})


class TargetPathPoint(models.Model):
    """An explicit quarterly milestone of a target's expected path (used when path_mode is 'milestones')."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="path_points")
    period = models.ForeignKey("submissions.Period", on_delete=models.PROTECT, related_name="+")
    expected_value = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        verbose_name = _("预期节点")
        verbose_name_plural = _("预期节点")
        ordering = ["target", "period", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["target", "period"], name="targets_targetpathpoint_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.target.code} · {self.period} · {self.expected_value}"


class ProgressStatus(models.TextChoices):
    MET = "met", _("已达成")
    ON_TRACK = "on_track", _("正常推进")
    AT_RISK = "at_risk", _("有风险")
    OFF_TRACK = "off_track", _("滞后")
    NO_DATA = "no_data", _("无数据")
    # A target the plan gives no number ("开展示范园创建工作"): what has been done is shown, nothing judged.
    TRACKED = "tracked", _("跟踪中（无定量）")


class Progress(models.Model):
    """A target's computed state for one period and one unit (its scope, or a unit inside it for drill-down)."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="progress")
    period = models.ForeignKey("submissions.Period", on_delete=models.CASCADE, related_name="+")
    org_unit = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="+")
    actual = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    expected = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    projection = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    status = models.CharField(max_length=20, choices=ProgressStatus.choices, default=ProgressStatus.NO_DATA)
    # Units failing a per-unit / zero-tolerance rule, the units that count for a designation target, etc.:
    # a ProgressDetail, written and read only through targets.progress_detail (``typed_detail``).
    detail = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()
    # When a run that read every unit of the target (not one approval's update) last rewrote this row. An approval's
    # update adds its one school's change to the stored facts; a row fully recomputed after that approval's values
    # were written already counts the change (targets.progress: the ``since`` guard).
    full_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("进展")
        verbose_name_plural = _("进展")
        ordering = ["target", "period", "org_unit", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["target", "period", "org_unit"], name="targets_progress_unique"),
        ]
        indexes = [
            # Dashboard: every target of a plan for one scope unit and period.
            models.Index(fields=["org_unit", "period", "status"], name="targets_progress_unit_period"),
        ]

    def __str__(self) -> str:
        return f"{self.target.code} · {self.period_id} · {self.status}"

    @property
    def typed_detail(self) -> ProgressDetail:
        """The stored detail, read through targets.progress_detail (any version, never raises); once
        ``progress_detail.fill_failing_values`` ran on the row, that filled detail."""
        filled = getattr(self, "_filled_detail", None)
        return filled if filled is not None else progress_detail.from_json(self.detail)

    def set_typed_detail(self, detail: ProgressDetail) -> None:
        """Keep ``detail`` as what ``typed_detail`` returns (the failing units' values filled in)."""
        self._filled_detail = detail

    @property
    def assess_from_code(self) -> str:
        """The target's 起评季度 when this row's quarter comes before it (no status yet), else ""."""
        return self.typed_detail.before_assessment_from


class TargetChange(models.Model):
    """History of a target's definition: who changed which field, old → new, and why."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    field = models.CharField(max_length=60)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField(_("原因"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("目标变更")
        verbose_name_plural = _("目标变更")
        ordering = ["target", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.target.code} · {self.field}"

    def _shown(self, value: str) -> str:
        """A stored value as the form shows it: a choice's label, 是/否 for a flag, else as stored."""
        try:
            field = Target._meta.get_field(self.field)
        except FieldDoesNotExist:
            return value
        if getattr(field, "choices", None) and value:
            return str(dict(field.choices).get(value, value))
        if isinstance(field, models.BooleanField) and value in ("True", "False"):
            return str(_("是") if value == "True" else _("否"))
        if isinstance(field, models.DecimalField) and value:
            # The margin is a share (0.05) that people read as 5 %; target values get thousands separators.
            return format_margin(value) if self.field == "at_risk_margin" else format_number(value)
        return value

    @property
    def old_display(self) -> str:
        return self._shown(self.old_value)

    @property
    def new_display(self) -> str:
        return self._shown(self.new_value)

    @property
    def field_label(self) -> str:
        """The changed field as the form labels it ("起评季度", not "assess_from"); "创建" for the first row."""
        if self.field == "created":
            return str(_("创建"))
        try:
            return str(Target._meta.get_field(self.field).verbose_name)
        except FieldDoesNotExist:  # a field renamed or removed since
            return self.field


class NoteReview(models.TextChoices):
    PENDING = "pending", _("待审阅")
    ACCEPTED = "accepted", _("已认可")
    RETURNED = "returned", _("需补充")


class TargetNote(models.Model):
    """A dated progress note on a milestone or narrative target, with an optional evidence file."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="notes")
    period = models.ForeignKey("submissions.Period", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The day the note reports on (its quarter's status and evidence count it there), not the day it was typed.
    reported_on = models.DateField(_("进展日期"), null=True, blank=True)
    text = models.TextField(_("进展说明"))
    # The milestone state the note reports; "done" waits for the review before the target counts as done.
    milestone_status = models.CharField(_("里程碑状态"), max_length=20, choices=MilestoneStatus.choices, blank=True)
    evidence = models.FileField(_("佐证材料"), upload_to="evidence/%Y/", blank=True)
    review_status = models.CharField(max_length=20, choices=NoteReview.choices, default=NoteReview.PENDING)
    review_comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("进展记录")
        verbose_name_plural = _("进展记录")
        ordering = ["target", "-created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.target.code} · {self.created_at:%Y-%m-%d}"

    @property
    def reported_date(self) -> datetime.date:
        """The day the note reports on (the day it was written, for notes from before that field)."""
        return self.reported_on or timezone.localdate(self.created_at)


# --- Plan drafts (a plan read from its document, reviewed before it becomes a plan) ---


class DraftStatus(models.TextChoices):
    DRAFT = "draft", _("待审核")
    COMMITTED = "committed", _("已生成工作要点")


class PlanDraft(models.Model):
    """A plan proposed from a bureau's document: sections, work items and targets to accept, edit or drop.

    ``data`` holds the proposal in the plan-drafts API shape, each item with an ``accepted`` flag;
    ``version`` guards edits (a stale one is refused); committing creates the plan through the services
    once and links it here, after which the draft is read-only.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_drafts")
    owner_unit = models.ForeignKey(
        "schools.OrgUnit", verbose_name=_("制定单位"), on_delete=models.PROTECT, related_name="plan_drafts"
    )
    source_filename = models.CharField(_("源文件"), max_length=255, blank=True)
    source_text = models.TextField(_("文档原文"))
    data = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(_("状态"), max_length=20, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    committed_plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("工作要点"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工作要点草稿")
        verbose_name_plural = _("工作要点草稿")
        ordering = ["-updated_at", "pk"]

    def __str__(self) -> str:
        return str(self.data.get("title") or self.source_filename or self.pk)
