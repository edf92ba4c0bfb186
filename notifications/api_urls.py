"""API v1 routes of the notifications app (mounted under /api/v1/ by portal/urls.py)."""

from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/", api.NotificationListView.as_view(), name="api_notifications"),
    path("notifications/<int:pk>/read/", api.NotificationReadView.as_view(), name="api_notification_read"),
]
