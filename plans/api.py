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
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from plans.forms import WorkItemForm
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


# --- Work items ---


class WorkItemSerializer(serializers.Serializer):
    """A numbered work item of the plan: its section by code, number, title and verbatim text."""

    id = serializers.IntegerField(read_only=True)
    section = serializers.CharField()
    number = serializers.IntegerField(required=False, min_value=1, max_value=32767)
    title = serializers.CharField(max_length=200)
    text = serializers.CharField(required=False, allow_blank=True)

    def to_representation(self, item: WorkItem) -> dict[str, Any]:
        return {"id": item.pk, "section": item.section.code, "number": item.number, "title": item.title,
                "text": item.text}  # fmt: skip


def _save_work_item(plan: Plan, item: WorkItem, data: dict[str, Any]) -> WorkItem:
    """Validate and save through the work item form (the one place its rules live, as on the plan page)."""
    values = {
        "section": item.section_id if item.pk else None,
        "number": item.number if item.pk else None,
        "title": item.title,
        "text": item.text,
    }
    if "section" in data:
        section = Section.objects.filter(plan=plan, code=data["section"]).first()
        if section is None:
            raise ServiceError({"section": [str(_("部分 {value} 不存在。")).format(value=data["section"])]})
        values["section"] = section.pk
    values.update({name: data[name] for name in ("number", "title", "text") if name in data})
    if values["number"] is None:
        last = WorkItem.objects.filter(section__plan=plan).order_by("-number", "-pk").first()
        values["number"] = (last.number + 1) if last else 1  # numbered through the document, as the form offers
    form = WorkItemForm(data=values, instance=item, plan=plan)
    if not form.is_valid():
        raise ServiceError({name: [str(message) for message in messages] for name, messages in form.errors.items()})
    return form.save()


def _work_item_plan(request: Any, code: str, *, write: bool) -> Plan:
    plan = get_object_or_404(Plan.objects.select_related("owner_unit"), code=code)
    if write:
        scope.require(request.user, Perm.ADMIN, plan.owner_unit)
    return plan


class WorkItemListView(generics.GenericAPIView):
    """GET the plan's work items (readable like its sections); POST a new one (bureau staff of the plan)."""

    serializer_class = WorkItemSerializer
    pagination_class = None

    @extend_schema(operation_id="v1_plans_work_items_list", responses=WorkItemSerializer(many=True))
    def get(self, request: Any, code: str) -> Response:
        plan = _work_item_plan(request, code, write=False)
        items = WorkItem.objects.filter(section__plan=plan).select_related("section").order_by("number", "pk")
        return Response(WorkItemSerializer(items, many=True).data)

    def post(self, request: Any, code: str) -> Response:
        plan = _work_item_plan(request, code, write=True)
        serializer = WorkItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = _save_work_item(plan, WorkItem(), dict(serializer.validated_data))
        return Response(WorkItemSerializer(item).data, status=status.HTTP_201_CREATED)


class WorkItemDetailView(generics.GenericAPIView):
    """GET one work item; PATCH its section, number, title or text (bureau staff of the plan)."""

    serializer_class = WorkItemSerializer

    def get(self, request: Any, code: str, pk: int) -> Response:
        plan = _work_item_plan(request, code, write=False)
        item = get_object_or_404(WorkItem.objects.select_related("section"), section__plan=plan, pk=pk)
        return Response(WorkItemSerializer(item).data)

    def patch(self, request: Any, code: str, pk: int) -> Response:
        plan = _work_item_plan(request, code, write=False)
        item = get_object_or_404(WorkItem.objects.select_related("section"), section__plan=plan, pk=pk)
        scope.require(request.user, Perm.ADMIN, plan.owner_unit)
        serializer = WorkItemSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        item = _save_work_item(plan, item, dict(serializer.validated_data))
        return Response(WorkItemSerializer(item).data)
