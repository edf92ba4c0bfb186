"""The portal's own rows: the audit trail of configuration changes (see ``portal.audit``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("新建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")


class AuditChannel(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")
    ADMIN = "admin", _("管理后台")
    TASK = "task", _("后台任务")
    COMMAND = "command", _("命令行")
    IMPORT = "import", _("Excel导入")


class ConfigChange(models.Model):
    """One recorded change to a row that moves numbers (a figure, rule, period, indicator, org unit, membership,
    plan structure or target): who, when, through which channel, and each tracked field's old → new value.

    Written by ``portal.audit`` from model signals (and ``record_bulk`` for queryset updates); never edited.
    ``root`` names the object whose page shows the row ("plans.plan:7" for a section of plan 7), so a page reads
    its history with one indexed query and no content-type lookup.
    """

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("对象类型"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(_("对象编号"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200)
    root = models.CharField(_("所属对象"), max_length=100)
    action = models.CharField(_("操作"), max_length=10, choices=AuditAction.choices)
    # field name → [old, new], values JSON-safe (Decimal and dates as strings, foreign keys as their names).
    changes = models.JSONField(_("变更内容"), default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=AuditChannel.choices)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("配置变更记录")
        verbose_name_plural = _("配置变更记录")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "created_at"], name="portal_configchange_object"),
            models.Index(fields=["root", "created_at"], name="portal_configchange_root"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr} · {self.get_action_display()}"
