"""``GET /api/v1/notifications/`` (the caller's own, newest first, paginated) and
``POST /api/v1/notifications/{id}/read/``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from notifications.models import Kind, Notification
from portal.errors import ServiceError


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields


class NotificationListView(ListAPIView):
    """The caller's own notifications; ``?unread=1`` for the unread ones only."""

    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        user: Any = self.request.user  # IsAuthenticated (the default permission)
        rows = Notification.objects.filter(user=user)
        if self.request.query_params.get("unread") == "1":
            rows = rows.filter(read_at__isnull=True)
        return rows

    @extend_schema(parameters=[OpenApiParameter("unread", str, description="1: only the unread ones")])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadView(APIView):
    """Mark one of the caller's notifications read (idempotent); 404 for anyone else's."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        # No body is needed; one that is sent must still be a JSON object, as everywhere in the API.
        if not isinstance(request.data, dict):
            raise ServiceError({"non_field_errors": [_("请求体应为 JSON 对象。")]})
        try:
            notification = services.mark_read(request.user, pk)
        except Notification.DoesNotExist:
            raise Http404 from None
        return Response(NotificationSerializer(notification).data)
