"""API v1: org units and designations, addressed by codes and filtered by the caller's scope."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal import scope
from portal.api import ScopedObjectMixin
from portal.scope import Perm
from schools.filters import DesignationFilterSet, OrgUnitApiFilterSet
from schools.models import Designation, DesignationKind, OrgUnit


class ScopedCodeField(serializers.SlugRelatedField):
    """An org unit given by its code; only units in the caller's scope resolve."""

    default_error_messages = {
        "does_not_exist": _("单位代码 {value} 不存在或不在您的权限范围内。"),
        "invalid": _("无效的值。"),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return scope.visible_units(request.user) if request else OrgUnit.objects.none()


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = ScopedCodeField(allow_null=True, required=False)

    class Meta:
        model = OrgUnit
        fields = [
            "code",
            "name",
            "name_en",
            "level",
            "parent",
            "school_type",
            "ownership",
            "is_central",
            "is_active",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        level = attrs.get("level", getattr(self.instance, "level", None))
        school_type = attrs.get("school_type", getattr(self.instance, "school_type", ""))
        if school_type and level != "school":
            raise serializers.ValidationError({"school_type": [_("只有学校/幼儿园有学校类型。")]})
        parent = attrs.get("parent", getattr(self.instance, "parent", None))
        if self.instance is not None and parent is not None and parent.path.startswith(self.instance.path):
            raise serializers.ValidationError({"parent": [_("不能把单位移到它自己的下级。")]})
        return attrs


class OrgUnitViewSet(
    ScopedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrgUnitSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrgUnitApiFilterSet
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_base_queryset(self):
        return OrgUnit.objects.select_related("parent")

    def get_queryset(self):
        return super().get_queryset().order_by("path")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Only bureau admins create units: anyone else gets 403 before the body is looked at, so the
        # answer never depends on (or reveals) whether the named parent exists.
        scope.require(request.user, Perm.ADMIN)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        parent = serializer.validated_data.get("parent")
        scope.require(self.request.user, Perm.ADMIN, parent)
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        scope.require(self.request.user, Perm.ADMIN, serializer.instance)
        parent = serializer.validated_data.get("parent")
        if parent is not None:
            scope.require(self.request.user, Perm.ADMIN, parent)
        with transaction.atomic():
            serializer.save()


class DesignationSerializer(serializers.ModelSerializer):
    org_unit = ScopedCodeField()
    kind = serializers.SlugRelatedField(slug_field="code", queryset=DesignationKind.objects.all())

    class Meta:
        model = Designation
        fields = ["id", "org_unit", "kind", "level", "granted_on", "revoked_on", "note"]
        read_only_fields = ["id"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        revoked_on, granted_on = attrs.get("revoked_on"), attrs.get("granted_on")
        if revoked_on and granted_on and revoked_on < granted_on:
            raise serializers.ValidationError({"revoked_on": [_("撤销日期不能早于认定日期。")]})
        return attrs


class DesignationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = DesignationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DesignationFilterSet

    def get_queryset(self):
        return scope.filter_by_scope(
            self.request.user, Designation.objects.select_related("org_unit", "kind"), "org_unit"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope.require(request.user, Perm.ADMIN)  # 403 for non-admins whatever the body names (see OrgUnitViewSet)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        scope.require(self.request.user, Perm.ADMIN, serializer.validated_data["org_unit"])
        with transaction.atomic():
            serializer.save()
