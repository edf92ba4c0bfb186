"""API v1: users and memberships, managed by bureau administrators within their scope (schools/users_service.py).

``/api/v1/users/`` (list, create, read, PATCH; addressed by username) and ``/api/v1/memberships/`` (list, create,
read, PATCH; by id). The API has no DELETE (API.md): a membership is removed on the user's page. Lists page by
``limit/offset`` or ``?cursor=`` like every other list. Callers who administer no unit get 403; a user or unit in
a request body that the caller cannot see is a 400 (as for any code that does not exist); a visible unit the caller
does not administer, or a role above their own, is a 403.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal import scope
from portal.scope import Perm
from schools import users_service as service
from schools.api import ScopedCodeField
from schools.models import Membership, Role


@extend_schema_field(OpenApiTypes.STR)
class UnitCodeField(ScopedCodeField):
    """An org unit by code (a string in the schema), among the units the caller sees."""


class ManagedUserField(serializers.SlugRelatedField):
    """A user by username, among the users the caller manages."""

    default_error_messages = {
        "does_not_exist": _("用户 {value} 不存在或不在您的权限范围内。"),
        "invalid": _("无效的值。"),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "username")
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return service.manageable_users(request.user) if request else get_user_model().objects.none()


def _require_admin(view: Any, request: Request) -> None:
    """403 for callers who administer no unit, once signed in; a method the view does not allow stays a 405."""
    method = (request.method or "").lower()
    if method in view.http_method_names and hasattr(view, method):
        service.require_user_admin(request.user)


class MembershipBriefSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "org_unit", "role"]


class UserSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, help_text="full name")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    org_unit = UnitCodeField(write_only=True, required=False, allow_null=True, help_text="first membership's unit")
    role = serializers.ChoiceField(choices=Role.choices, write_only=True, required=False, allow_blank=True)
    memberships = MembershipBriefSerializer(many=True, read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)  # never signed in: null

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["name"] = service.display_name(instance) if instance.first_name or instance.last_name else ""
        return data


def user_fields(attrs: dict[str, Any]) -> service.UserFields:
    return service.UserFields(
        username=attrs.get("username"),
        name=attrs.get("name"),
        email=attrs.get("email"),
        is_active=attrs.get("is_active"),
        password=attrs.get("password") or None,
    )


class UserUpdateSerializer(UserSerializer):
    """PATCH: the user's own fields; memberships are changed through /api/v1/memberships/."""

    username = serializers.CharField(max_length=150, required=False)
    org_unit = None  # type: ignore[assignment]
    role = None  # type: ignore[assignment]


class UserFilterSet(django_filters.FilterSet):
    """``?q=`` (username or name), ``?is_active=``, ``?org_unit=`` (a unit's code: its members)."""

    q = django_filters.CharFilter(method="filter_q", label=_("用户名或姓名"))
    is_active = django_filters.BooleanFilter(label=_("在用"))
    org_unit = django_filters.CharFilter(field_name="memberships__org_unit__code", distinct=True, label=_("单位代码"))

    class Meta:
        model = get_user_model()
        fields = ["q", "is_active", "org_unit"]

    def filter_q(self, queryset: Any, name: str, value: str) -> Any:
        from django.db.models import Q

        return queryset.filter(
            Q(username__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value)
        )


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    filter_backends = [DjangoFilterBackend]
    filterset_class = UserFilterSet
    lookup_field = "username"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return UserUpdateSerializer if self.action == "partial_update" else UserSerializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _require_admin(self, request)

    def get_queryset(self):
        return (
            service.manageable_users(self.request.user)
            .prefetch_related("memberships__org_unit")
            .order_by("username", "pk")
        )

    def get_object(self):
        # Reads: 404 outside the scope. Writes: the service answers 403 with its reason.
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return super().get_object()
        return get_object_or_404(get_user_model(), username=self.kwargs["username"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        user = service.create_user(request.user, user_fields(attrs), attrs.get("org_unit"), attrs.get("role") or None)
        user = self.get_queryset().model.objects.prefetch_related("memberships__org_unit").get(pk=user.pk)
        return Response(
            UserSerializer(user, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        serializer = self.get_serializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        service.update_user(request.user, user, user_fields(serializer.validated_data))
        user = self.get_queryset().model.objects.prefetch_related("memberships__org_unit").get(pk=user.pk)
        return Response(UserSerializer(user, context=self.get_serializer_context()).data)


class MembershipSerializer(serializers.ModelSerializer):
    user = ManagedUserField()
    org_unit = ScopedCodeField()

    class Meta:
        model = Membership
        fields = ["id", "user", "org_unit", "role", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators: list[Any] = []  # the service says "already has this role" in words


class MembershipFilterSet(django_filters.FilterSet):
    """``?user=`` (username), ``?org_unit=`` (code), ``?role=``."""

    user = django_filters.CharFilter(field_name="user__username", label=_("用户名"))
    org_unit = django_filters.CharFilter(field_name="org_unit__code", label=_("单位代码"))
    role = django_filters.ChoiceFilter(choices=Role.choices, label=_("角色"))

    class Meta:
        model = Membership
        fields = ["user", "org_unit", "role"]


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MembershipSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MembershipFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _require_admin(self, request)

    def get_queryset(self):
        return scope.filter_by_scope(
            self.request.user, Membership.objects.select_related("user", "org_unit"), "org_unit", Perm.ADMIN
        ).order_by("pk")

    def get_object(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return super().get_object()
        return get_object_or_404(Membership.objects.select_related("user", "org_unit"), pk=self.kwargs["pk"])

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = service.add_membership(self.request.user, data["user"], data["org_unit"], data["role"])

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "user" in data and data["user"].pk != membership.user_id:
            raise serializers.ValidationError({"user": [_("不能更改成员角色所属的用户，请删除后重新添加。")]})
        service.change_membership(request.user, membership, data.get("org_unit"), data.get("role"))
        return Response(self.get_serializer(membership).data)
