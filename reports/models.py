"""Export jobs for large Excel workbooks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


class ExportKind(models.TextChoices):
    WORKBOOK = "workbook", _("进度工作簿")
    DRILLDOWN = "drilldown", _("目标明细表")
    BULLETIN = "bulletin", _("进展通报")


class BulletinStep(models.TextChoices):
    """The steps of a bulletin job, shown on its page while it runs (``rows_done`` counts the steps done)."""

    COLLECT = "collect", _("收集数据")
    CHARTS = "charts", _("绘制图表")
    DOCX = "docx", _("生成 Word")
    PDF = "pdf", _("转换 PDF")


class ExportJob(models.Model):
    """A progress workbook (or a target's drill-down table) generated in the background; the file expires
    after EXPORT_EXPIRY_HOURS."""

    kind = models.CharField(max_length=20, choices=ExportKind.choices, default=ExportKind.WORKBOOK)
    # Drill-down exports: the target, and what the page showed — rows mode, filters, sort, file format —
    # so the worker writes the same rows in the same order as the page would have in the request.
    target = models.ForeignKey("targets.Target", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    params = models.JSONField(default=dict, blank=True)

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="+")
    scope = models.ForeignKey("schools.OrgUnit", on_delete=models.CASCADE, related_name="+")
    # The quarter the workbook is "as of"; null means the latest period with data when the job ran.
    period = models.ForeignKey("submissions.Period", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    # Bulletins: the step running now, the PDF beside the .docx, and what went wrong without failing the job
    # ("PDF 未生成：…"); ``scheduled`` marks the one bulletin per (plan, scope, quarter) that beat generates.
    step = models.CharField(max_length=20, choices=BulletinStep.choices, blank=True)
    pdf_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    note = models.TextField(blank=True)
    scheduled = models.BooleanField(default=False)
    # The language of the page it was asked from: the worker writes the workbook (and any error) in it.
    language = models.CharField(max_length=10, default="zh-hans")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "pk"]
        indexes = [
            # The expiry task: finished files that may be old.
            models.Index(fields=["finished_at"], condition=Q(status="done"), name="reports_exportjob_done"),
        ]
        constraints = [
            # The schedule generates a quarter's bulletin once (a second beat run finds this row).
            models.UniqueConstraint(
                fields=["plan", "scope", "period"],
                condition=Q(kind="bulletin", scheduled=True),
                name="reports_exportjob_one_scheduled_bulletin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} · {self.scope_id} · {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("reports:export_job", kwargs={"pk": self.pk})

    @property
    def percent_done(self) -> int:
        """Progress for the status page, 0–100 (rows done over rows total)."""
        if not self.rows_total:
            return 100 if self.status == ExportStatus.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def is_finished(self) -> bool:
        return self.status in {ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED}
