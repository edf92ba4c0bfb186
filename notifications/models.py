"""What a user was told (Notification), how they want to be told (NotificationPreference), and what could not
be delivered (DeliveryFailure, counted on the notifications page for admins)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    RETURNED = "returned", _("填报被退回")
    APPROVED = "approved", _("填报已通过")
    REOPENED = "reopened", _("填报被重新打开")
    DUE_SOON = "due_soon", _("即将截止")
    OVERDUE = "overdue", _("逾期未报")
    EXPORT_DONE = "export_done", _("导出完成")
    EXPORT_FAILED = "export_failed", _("导出失败")
    OFF_TRACK = "off_track", _("目标滞后")
    MILESTONE_DUE = "milestone_due", _("里程碑即将到期")
    MILESTONE_OVERDUE = "milestone_overdue", _("里程碑已逾期")
    CHASE_DONE = "chase_done", _("催报完成")


class Notification(models.Model):
    """One message to one user; ``key`` makes a repeated event (a rerun reminder job) a no-op."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=500, blank=True)
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # When it was e-mailed on its own or in a digest; ``mail_pending``: its e-mail waits for the daily digest.
    emailed_at = models.DateTimeField(null=True, blank=True)
    mail_pending = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notifications_once_per_user"),
        ]
        indexes = [
            # The bell: a user's unread count.
            models.Index(fields=["user", "read_at"], name="notifications_user_unread"),
            # The digest: rows whose e-mail is waiting.
            models.Index(fields=["user"], condition=models.Q(mail_pending=True), name="notifications_mail_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.kind} · {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A user's channels; a user without a row gets the defaults (e-mail on, no digest)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(_("通过电子邮件通知"), default=True)
    daily_digest = models.BooleanField(_("每日汇总"), default=False, help_text=_("每天一封汇总邮件，代替逐条邮件"))

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")

    def __str__(self) -> str:
        return str(self.user_id)


class Channel(models.TextChoices):
    EMAIL = "email", _("电子邮件")
    WEBHOOK = "webhook", _("群机器人")


class DeliveryFailure(models.Model):
    """A message that could not be delivered on one channel; the portal row was still written."""

    channel = models.CharField(max_length=20, choices=Channel.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    key = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("投递失败")
        verbose_name_plural = _("投递失败")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.channel} · {self.kind} · {self.created_at:%Y-%m-%d %H:%M}"
