"""API v1: ``GET /api/v1/audit/?model=&object=`` — the audit trail of one configuration object (and its parts,
as on its page), for administrators; see ``portal.audit``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError

from portal import audit, scope
from portal.models import ConfigChange
from portal.scope import Perm


class ConfigChangeSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    changes = serializers.JSONField(help_text="field → [old, new]")

    class Meta:
        model = ConfigChange
        fields = [
            "model",
            "object_id",
            "object_repr",
            "action",
            "changes",
            "user",
            "channel",
            "request_id",
            "created_at",
        ]

    def get_model(self, obj: ConfigChange) -> str:
        tracked = audit.tracked_by_model(obj.content_type.model_class())
        return tracked.api_name if tracked is not None else obj.content_type.model

    def get_user(self, obj: ConfigChange) -> str | None:
        return obj.user.get_username() if obj.user is not None else None


def _unit_of(obj: models.Model, unit_field: str) -> Any:
    if unit_field == "":
        return obj
    value: Any = obj
    for part in unit_field.split("__"):
        value = getattr(value, part, None)
    return value


@extend_schema(
    parameters=[
        OpenApiParameter("model", OpenApiTypes.STR, required=True, description="figure, indicator, org_unit, …"),
        OpenApiParameter(
            "object", OpenApiTypes.STR, required=True, description="the object's code (plan/code for a target)"
        ),
    ]
)
class ConfigChangeListView(generics.ListAPIView):
    """Who changed the object, when, through which channel, and each field's old → new value (newest first).

    Bureau-wide administrators read every object; other administrators the objects within their scope that
    belong to an org unit (others: 404); objects that belong to none (figures, rules, periods, indicators) are
    theirs only — 403 for everyone else."""

    serializer_class = ConfigChangeSerializer

    def get_queryset(self) -> Any:
        user = self.request.user
        if not scope.has_perm(user, Perm.ADMIN):
            raise PermissionDenied
        name = self.request.query_params.get("model", "")
        key = self.request.query_params.get("object", "")
        tracked = audit.tracked_by_api_name(name)
        if tracked is None:
            raise ValidationError(
                {"model": [_("未知的对象类型，可选：%(names)s。") % {"names": ", ".join(audit.api_names())}]}
            )
        parts = key.split("/")
        if not key or len(parts) != len(tracked.lookup):
            raise ValidationError({"object": [_("请提供对象代码。")]})
        bureau_wide = scope.is_bureau_wide_admin(user)
        if tracked.unit_field is None and not bureau_wide:
            raise PermissionDenied
        try:
            obj = tracked.model._default_manager.get(**dict(zip(tracked.lookup, parts, strict=True)))
        except (ObjectDoesNotExist, ValueError):
            raise Http404 from None
        if not bureau_wide:
            unit = _unit_of(obj, tracked.unit_field or "")
            if unit is None or not scope.has_perm(user, Perm.ADMIN, unit):
                raise Http404  # outside the scope: reads answer 404 (API.md)
        return (
            ConfigChange.objects.filter(root=audit.key_for(obj, obj.pk))
            .select_related("user", "content_type")
            .order_by("-created_at", "-pk")
        )
