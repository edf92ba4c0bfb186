"""API v1: org units and designations, addressed by codes and filtered by the caller's scope."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from portal import scope
from portal.api import ScopedObjectMixin
from portal.middleware import accepts_uploads
from portal.scope import Perm
from schools import designations, units
from schools.filters import DesignationFilterSet, OrgUnitApiFilterSet
from schools.models import Designation, DesignationKind, OrgUnit


@extend_schema_field(OpenApiTypes.STR)
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
        fields = units.EDITABLE_FIELDS
        extra_kwargs = {
            "code": {"validators": [UniqueValidator(queryset=OrgUnit.objects.all(), message=units.DUPLICATE_CODE)]}
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        level = attrs.get("level", getattr(self.instance, "level", None))
        school_type = attrs.get("school_type", getattr(self.instance, "school_type", ""))
        if school_type and level != "school":
            raise serializers.ValidationError({"school_type": [_("只有学校/幼儿园有学校类型。")]})
        parent = attrs.get("parent", getattr(self.instance, "parent", None))
        if self.instance is not None and parent is not None and parent.path.startswith(self.instance.path):
            raise serializers.ValidationError({"parent": [_("不能把单位移到它自己的下级。")]})
        opened_on = attrs.get("opened_on", getattr(self.instance, "opened_on", None))
        closed_on = attrs.get("closed_on", getattr(self.instance, "closed_on", None))
        if opened_on and closed_on and closed_on < opened_on:
            raise serializers.ValidationError({"closed_on": [_("撤并日期不能早于建校日期")]})
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
        # A new root is outside every administrator's scope (they could never see it again): superusers only.
        units.check_placement(self.request.user, None, serializer.validated_data.get("parent"))
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        instance = serializer.instance
        parent = serializer.validated_data.get("parent", instance.parent)
        units.check_placement(self.request.user, instance, parent)
        with transaction.atomic():
            serializer.save()


class DesignationKindSerializer(serializers.ModelSerializer):
    levels = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = DesignationKind
        fields = ["code", "name", "name_en", "levels"]
        # Uniqueness is the service's (a readable message); DRF's own validator would answer first otherwise.
        extra_kwargs = {"code": {"validators": []}}


class DesignationKindViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Kinds are shared by the whole tree: everyone signed in reads them, bureau-wide admins write them."""

    serializer_class = DesignationKindSerializer
    queryset = DesignationKind.objects.order_by("code")
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        designations.require_kind_admin(request.user)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = designations.save_kind(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        instance = serializer.instance
        data = {
            "code": instance.code,
            "name": instance.name,
            "name_en": instance.name_en,
            "levels": instance.levels,
            **serializer.validated_data,
        }
        serializer.instance = designations.save_kind(self.request.user, instance=instance, **data)


class DesignationSerializer(serializers.ModelSerializer):
    org_unit = ScopedCodeField()
    kind = serializers.SlugRelatedField(slug_field="code", queryset=DesignationKind.objects.all())
    evidence = serializers.FileField(required=False, allow_null=True, write_only=True)
    evidence_url = serializers.SerializerMethodField()
    revoke_evidence_url = serializers.SerializerMethodField()

    class Meta:
        model = Designation
        fields = [
            "id",
            "org_unit",
            "kind",
            "level",
            "granted_on",
            "revoked_on",
            "note",
            "evidence",
            "evidence_url",
            "revoke_note",
            "revoke_evidence_url",
        ]
        read_only_fields = ["id", "revoke_note"]
        validators: list[Any] = []  # the service answers a duplicate grant with a readable message

    def _file_url(self, designation: Designation, which: str) -> str | None:
        """The scoped download page of an evidence file (files are never public media)."""
        if not (designation.evidence if which == "grant" else designation.revoke_evidence):
            return None
        return reverse("schools:designation_evidence", kwargs={"pk": designation.pk, "which": which})

    def get_evidence_url(self, designation: Designation) -> str | None:
        return self._file_url(designation, "grant")

    def get_revoke_evidence_url(self, designation: Designation) -> str | None:
        return self._file_url(designation, "revoke")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        revoked_on, granted_on = attrs.get("revoked_on"), attrs.get("granted_on")
        if revoked_on and granted_on and revoked_on < granted_on:
            raise serializers.ValidationError({"revoked_on": [_("撤销日期不能早于认定日期。")]})
        return attrs


class RevokeSerializer(serializers.Serializer):
    revoked_on = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    evidence = serializers.FileField(required=False, allow_null=True)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()


@accepts_uploads  # evidence files and the import workbook: bodies up to MAX_UPLOAD_BYTES for signed-in users
class DesignationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = DesignationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DesignationFilterSet

    def get_queryset(self):
        return scope.filter_by_scope(
            self.request.user, Designation.objects.select_related("org_unit", "kind"), "org_unit"
        ).order_by("-granted_on", "pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope.require(request.user, Perm.ADMIN)  # 403 for non-admins whatever the body names (see OrgUnitViewSet)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        with transaction.atomic():
            designation = designations.grant(
                self.request.user,
                unit=data["org_unit"],
                kind=data["kind"],
                level=data.get("level", ""),
                granted_on=data["granted_on"],
                note=data.get("note", ""),
                evidence=data.get("evidence"),
            )
            if data.get("revoked_on"):
                designations.revoke(self.request.user, designation, revoked_on=data["revoked_on"])
        serializer.instance = designation

    @extend_schema(request=RevokeSerializer, responses=DesignationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """``POST /api/v1/designations/{id}/revoke/`` with ``revoked_on``, ``note`` and an optional ``evidence``."""
        designation = self.get_object()
        scope.require(request.user, Perm.ADMIN, designation.org_unit)
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        designations.revoke(
            request.user,
            designation,
            revoked_on=body.validated_data["revoked_on"],
            note=body.validated_data.get("note", ""),
            evidence=body.validated_data.get("evidence"),
        )
        return Response(DesignationSerializer(designation, context=self.get_serializer_context()).data)

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={201: DesignationSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="import")
    def import_workbook(self, request: Request) -> Response:
        """``POST /api/v1/designations/import/`` (multipart ``file``): every row granted, or none (400 by cell)."""
        scope.require(request.user, Perm.ADMIN)
        body = ImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = designations.import_grants(request.user, body.validated_data["file"])
        data = DesignationSerializer(result.created, many=True, context=self.get_serializer_context()).data
        return Response({"created": len(result.created), "results": data}, status=status.HTTP_201_CREATED)
