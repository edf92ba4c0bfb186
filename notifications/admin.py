from django.contrib import admin

from notifications.models import DeliveryFailure, Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "title", "created_at", "read_at", "emailed_at", "mail_pending"]
    list_filter = ["kind"]
    search_fields = ["title", "user__username"]
    raw_id_fields = ["user"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "daily_digest"]
    raw_id_fields = ["user"]


@admin.register(DeliveryFailure)
class DeliveryFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "kind", "error"]
    list_filter = ["channel"]
