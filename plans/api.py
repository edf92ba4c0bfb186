"""API v1: plans, sections, targets and target progress, addressed by codes.

Plans and sections are readable by every signed-in user (the document is public inside the bureau);
targets are filtered by the caller's scope (``Target.scope``), 404 outside it. Writes need Perm.ADMIN
and go through ``targets.targets_service`` — the same rules as the web forms and the workbook import.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from rest_framework import generics, serializers

from plans.models import Plan, Section, WorkItem
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import OrgUnit


class CodeField(serializers.SlugRelatedField):
    """A related object given by its code (natural key)."""

    default_error_messages = {"does_not_exist": _("代码 {value} 不存在。"), "invalid": _("无效的值。")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)


class WorkItemNumberField(serializers.IntegerField):
    """A work item given by its number within the section; read back as that number (not the object)."""

    def to_representation(self, value: Any) -> int:
        return value.number if isinstance(value, WorkItem) else super().to_representation(value)


DECIMAL = {"max_digits": 20, "decimal_places": 4, "coerce_to_string": False, "required": False, "allow_null": True}


# --- Plans and sections ---


class PlanSerializer(serializers.ModelSerializer):
    owner_unit = CodeField(queryset=OrgUnit.objects.all())
    parent = CodeField(queryset=Plan.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Plan
        fields = ["code", "title", "year", "owner_unit", "parent", "status", "guiding_ideas"]


class PlanListView(generics.ListCreateAPIView):
    serializer_class = PlanSerializer

    def get_queryset(self) -> QuerySet[Plan]:
        queryset = Plan.objects.select_related("owner_unit", "parent").order_by("-year", "code")
        if self.request.query_params.get("year"):
            queryset = queryset.filter(year=self.request.query_params["year"])
        return queryset

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        scope.require(self.request.user, Perm.ADMIN, serializer.validated_data["owner_unit"])
        serializer.save()


class PlanDetailView(generics.RetrieveAPIView):
    serializer_class = PlanSerializer
    lookup_field = "code"
    queryset = Plan.objects.select_related("owner_unit", "parent")


class SectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Section
        fields = ["code", "title", "order", "intro"]


class SectionListView(generics.ListCreateAPIView):
    serializer_class = SectionSerializer
    pagination_class = None

    def plan(self) -> Plan:
        return get_object_or_404(Plan.objects.select_related("owner_unit"), code=self.kwargs["code"])

    def get_queryset(self) -> QuerySet[Section]:
        return Section.objects.filter(plan__code=self.kwargs["code"]).order_by("order", "pk")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        plan = self.plan()
        scope.require(self.request.user, Perm.ADMIN, plan.owner_unit)
        if Section.objects.filter(plan=plan, code=serializer.validated_data["code"]).exists():
            raise ServiceError({"code": [str(_("同一工作要点中部分代码不能重复"))]})
        serializer.save(plan=plan)
