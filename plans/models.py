"""A bureau's yearly work plan (工作要点): sections and numbered work items, text kept verbatim."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class Plan(models.Model):
    """A work plan document of one bureau (or district/学区) for one year, optionally cascading a parent plan."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    year = models.PositiveSmallIntegerField(_("年度"))
    owner_unit = models.ForeignKey(
        "schools.OrgUnit", verbose_name=_("制定单位"), on_delete=models.PROTECT, related_name="plans"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    status = models.CharField(_("状态"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    guiding_ideas = models.TextField(_("指导思想"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工作要点")
        verbose_name_plural = _("工作要点")
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", kwargs={"code": self.code})


class Section(models.Model):
    """A part of the plan (主要目标, 教育公平, 教育管理, 教育质量 …)."""

    plan = models.ForeignKey(Plan, verbose_name=_("工作要点"), on_delete=models.CASCADE, related_name="sections")
    code = models.SlugField(_("代码"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    intro = models.TextField(_("导语"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("部分")
        verbose_name_plural = _("部分")
        ordering = ["plan", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="plans_section_unique_code_per_plan",
                violation_error_message=_("同一工作要点中部分代码不能重复"),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class WorkItem(models.Model):
    """A numbered work item of a section ("1.扩大小学教育资源"), its text verbatim from the document."""

    section = models.ForeignKey(Section, verbose_name=_("部分"), on_delete=models.CASCADE, related_name="work_items")
    number = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("标题"), max_length=200)
    text = models.TextField(_("原文"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工作任务")
        verbose_name_plural = _("工作任务")
        ordering = ["section__plan", "number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "number"],
                name="plans_workitem_unique_number_per_section",
                violation_error_message=_("同一部分中序号不能重复"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"
