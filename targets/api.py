"""API v1 of a plan's targets and their progress (``/api/v1/plans/{code}/targets/…``); the same target service as the
target form and the plan workbook."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from indicators.models import Indicator
from plans.api import DECIMAL, CodeField, WorkItemNumberField
from plans.models import Plan, Section, WorkItem
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import OrgUnit
from submissions.models import Period
from targets import targets_service
from targets.models import MilestoneStatus, Progress, Target, TargetNote
from targets.queries import fill_failing_values


class StartDateField(serializers.DateField):
    """API.md's ``start_date`` of a target: the first day of its start month in the plan year (written: the month)."""

    def get_attribute(self, instance: Target) -> datetime.date | None:
        return datetime.date(instance.plan.year, instance.start_month, 1) if instance.start_month else None


class TargetSerializer(serializers.Serializer):
    """Target fields as API.md lists them; foreign keys by code, resolved against the plan in context."""

    code = serializers.SlugField(max_length=60)
    section = serializers.CharField()
    work_item = WorkItemNumberField(required=False, allow_null=True)
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=Target._meta.get_field("kind").choices)
    indicator = CodeField(queryset=Indicator.objects.all(), required=False, allow_null=True)
    comparator = serializers.ChoiceField(
        choices=Target._meta.get_field("comparator").choices, required=False, allow_blank=True
    )
    direction = serializers.ChoiceField(
        choices=Target._meta.get_field("direction").choices, required=False, allow_blank=True
    )
    target_value = serializers.DecimalField(**DECIMAL)
    target_value_max = serializers.DecimalField(**DECIMAL)
    per_unit_minimum = serializers.DecimalField(**DECIMAL)
    baseline = serializers.DecimalField(source="baseline_value", **DECIMAL)
    baseline_period = CodeField(queryset=Period.objects.all(), required=False, allow_null=True)
    scope = CodeField(queryset=OrgUnit.objects.all(), required=False)
    applies_to_each_unit = serializers.BooleanField(required=False)
    each_unit_level = serializers.ChoiceField(
        choices=Target._meta.get_field("each_unit_level").choices, required=False, allow_blank=True
    )
    # A frequency's rhythm (../shared/API.md: ``per``): month / quarter / semester / year.
    per = serializers.ChoiceField(source="rhythm", choices=Target._meta.get_field("rhythm").choices, required=False)
    range_is_ceiling = serializers.BooleanField(required=False)
    due_period = CodeField(queryset=Period.objects.all(), required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    # A milestone's window and completion ("2–7 月招生"); ``start_date`` (API.md) is the first day of the start month.
    start_month = serializers.IntegerField(required=False, allow_null=True)
    due_month = serializers.IntegerField(required=False, allow_null=True)
    start_date = StartDateField(required=False, allow_null=True)
    completed_on = serializers.DateField(required=False, allow_null=True)
    assess_from = CodeField(queryset=Period.objects.all(), required=False, allow_null=True)
    path_mode = serializers.ChoiceField(choices=Target._meta.get_field("path_mode").choices, required=False)
    at_risk_margin = serializers.DecimalField(max_digits=8, decimal_places=4, coerce_to_string=False, required=False)
    owner = CodeField(source="owner_unit", queryset=OrgUnit.objects.all(), required=False, allow_null=True)
    owner_name = serializers.CharField(required=False, allow_blank=True)
    part_of = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    contributes_to = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    milestone_status = serializers.ChoiceField(
        choices=Target._meta.get_field("milestone_status").choices, required=False, allow_blank=True
    )
    order = serializers.IntegerField(required=False, min_value=0)
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, target: Target) -> dict[str, Any]:
        data = super().to_representation(target)
        data["section"] = target.section.code
        data["work_item"] = target.work_item.number if target.work_item_id else None
        data["part_of"] = target.part_of.code if target.part_of_id else None
        data["contributes_to"] = target.contributes_to.code if target.contributes_to_id else None
        return data

    def to_fields(self, plan: Plan, data: dict[str, Any]) -> dict[str, Any]:
        """Validated data → target service fields (natural keys resolved inside the plan)."""
        fields = dict(data)
        errors: dict[str, list[str]] = {}
        if "section" in fields:
            section = Section.objects.filter(plan=plan, code=fields["section"]).first()
            if section is None:
                errors["section"] = [str(_("部分 {value} 不存在。")).format(value=fields["section"])]
            fields["section"] = section
        if fields.get("work_item") is not None:
            section = fields.get("section") or getattr(self.instance, "section", None)
            item = WorkItem.objects.filter(section=section, number=fields["work_item"]).first()
            if item is None:
                errors["work_item"] = [str(_("工作任务 {value} 不存在。")).format(value=fields["work_item"])]
            fields["work_item"] = item
        if "part_of" in fields:
            code = fields["part_of"]
            fields["part_of"] = Target.objects.filter(plan=plan, code=code).first() if code else None
            if code and fields["part_of"] is None:
                errors["part_of"] = [str(_("目标 {value} 不存在。")).format(value=code)]
        if "contributes_to" in fields:
            code = fields["contributes_to"]
            fields["contributes_to"] = (
                Target.objects.filter(plan_id=plan.parent_id, code=code).first() if code and plan.parent_id else None
            )
            if code and fields["contributes_to"] is None:
                errors["contributes_to"] = [str(_("上级计划中没有目标 {value}。")).format(value=code)]
        if "start_date" in fields:
            start = fields.pop("start_date")
            if start is not None and start.year != plan.year:
                errors["start_date"] = [str(_("开始日期须在工作要点年度（{year}年）内。")).format(year=plan.year)]
            elif "start_month" not in fields:
                fields["start_month"] = start.month if start is not None else None
        if errors:
            raise ServiceError(errors)
        return fields


def _targets(request: Request, plan: Plan) -> QuerySet[Target]:
    queryset = Target.objects.filter(plan=plan).select_related(
        "section", "work_item", "indicator", "baseline_period", "scope", "due_period", "assess_from", "owner_unit",
        "part_of", "contributes_to", "plan__owner_unit",
    )  # fmt: skip
    return scope.filter_by_scope(request.user, queryset, "scope")


class TargetListView(APIView):
    """GET the plan's targets in the caller's scope; POST a new one (bureau staff)."""

    serializer_class = TargetSerializer

    @extend_schema(operation_id="v1_plans_targets_list", responses=TargetSerializer(many=True))
    def get(self, request: Request, code: str) -> Response:
        plan = get_object_or_404(Plan, code=code)
        return Response(TargetSerializer(_targets(request, plan), many=True).data)

    def post(self, request: Request, code: str) -> Response:
        plan = get_object_or_404(Plan.objects.select_related("owner_unit", "parent"), code=code)
        scope.require(request.user, Perm.ADMIN, plan.owner_unit)
        serializer = TargetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.to_fields(plan, dict(serializer.validated_data))
        target = targets_service.create_target(request.user, plan, fields)
        return Response(
            TargetSerializer(_targets(request, plan).get(pk=target.pk)).data, status=status.HTTP_201_CREATED
        )


class TargetDetailView(APIView):
    """GET one target; PATCH it with ``version`` (and ``reason`` when a published plan's value changes)."""

    serializer_class = TargetSerializer

    def get(self, request: Request, code: str, target: str) -> Response:
        plan = get_object_or_404(Plan, code=code)
        obj = get_object_or_404(_targets(request, plan), code=target)
        return Response(TargetSerializer(obj).data)

    def patch(self, request: Request, code: str, target: str) -> Response:
        plan = get_object_or_404(Plan.objects.select_related("owner_unit", "parent"), code=code)
        obj = Target.objects.filter(plan=plan, code=target).select_related("plan", "scope", "section").first()
        if obj is None:
            raise Http404
        scope.require(request.user, Perm.ADMIN, obj.scope)  # writes outside the scope: 403 (API contract)
        if not isinstance(request.data, dict):
            raise ServiceError({"non_field_errors": [str(_("请求体应为 JSON 对象。"))]})
        version = request.data.get("version")
        if not isinstance(version, int):
            raise ServiceError({"version": [str(_("请提供读取时的版本号（version）。"))]})
        serializer = TargetSerializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = serializer.to_fields(plan, dict(serializer.validated_data))
        with transaction.atomic():
            targets_service.update_target(
                request.user, obj, fields, version=version, reason=str(request.data.get("reason") or "")
            )
        return Response(TargetSerializer(_targets(request, plan).get(pk=obj.pk)).data)


class ProgressValuesSerializer(serializers.ModelSerializer):
    """One Progress row's numbers and status (its typed detail as JSON)."""

    actual = serializers.FloatField(allow_null=True)
    expected = serializers.FloatField(allow_null=True)
    projection = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=Progress._meta.get_field("status").choices)
    detail = serializers.SerializerMethodField()
    computed_at = serializers.DateTimeField()

    class Meta:
        model = Progress
        fields = ["actual", "expected", "projection", "status", "detail", "computed_at"]

    @extend_schema_field({"type": "object"})
    def get_detail(self, row: Progress) -> dict[str, Any]:
        return row.typed_detail.to_json()


class ChildProgressSerializer(ProgressValuesSerializer):
    """A child unit's row (``?by=children``)."""

    org_unit = serializers.CharField(source="org_unit.code")
    name = serializers.CharField(source="org_unit.name")

    class Meta(ProgressValuesSerializer.Meta):
        fields = ["org_unit", "name", *ProgressValuesSerializer.Meta.fields]


class PeriodProgressSerializer(ProgressValuesSerializer):
    """The scope's row of one period, with its children's rows when asked for."""

    period = serializers.CharField(source="period.code")
    children = serializers.SerializerMethodField()

    class Meta(ProgressValuesSerializer.Meta):
        fields = ["period", *ProgressValuesSerializer.Meta.fields, "children"]

    @extend_schema_field(ChildProgressSerializer(many=True))
    def get_children(self, row: Progress) -> list[dict[str, Any]] | None:
        children = self.context.get("children")
        if children is None:
            return None
        return ChildProgressSerializer(children.get(row.period_id, []), many=True).data


class TargetProgressSerializer(serializers.Serializer):
    """``GET …/targets/{target}/progress/``: the target's scope row per period (and its children's)."""

    plan = serializers.CharField(source="plan.code")
    target = serializers.CharField(source="code")
    scope = serializers.CharField(source="scope.code")
    periods = serializers.SerializerMethodField()

    @extend_schema_field(PeriodProgressSerializer(many=True))
    def get_periods(self, target: Target) -> list[dict[str, Any]]:
        return PeriodProgressSerializer(self.context["scope_rows"], many=True, context=self.context).data


class TargetProgressView(APIView):
    """Per period: actual, expected, status of the target's scope; ``?by=children`` adds each child unit."""

    serializer_class = TargetProgressSerializer

    def get(self, request: Request, code: str, target: str) -> Response:
        plan = get_object_or_404(Plan, code=code)
        obj = get_object_or_404(_targets(request, plan), code=target)
        by_children = request.query_params.get("by") == "children"
        rows = Progress.objects.filter(target=obj).select_related("period", "org_unit")
        if not by_children:
            rows = rows.filter(org_unit_id=obj.scope_id)
        scope_rows: list[Progress] = []
        children: dict[int, list[Progress]] = {}
        for row in rows.order_by("period__year", "period__quarter", "org_unit__path"):
            if row.org_unit_id == obj.scope_id:
                scope_rows.append(row)
            else:
                children.setdefault(row.period_id, []).append(row)
        # Thresholds' and limits' failing units are stored without their values: one query fills them all.
        fill_failing_values([*scope_rows, *(row for rows_of in children.values() for row in rows_of)])
        context = {"scope_rows": scope_rows, "children": children if by_children else None}
        data = TargetProgressSerializer(obj, context=context).data
        if not by_children:
            for period in data["periods"]:
                period.pop("children")  # only asked for with ?by=children
        return Response(data)


# --- Progress notes of a milestone or narrative ---


class NoteSerializer(serializers.Serializer):
    """A progress note: the day and quarter it reports on, its text, the milestone state it reports, its review."""

    id = serializers.IntegerField(read_only=True)
    reported_on = serializers.DateField(required=False, allow_null=True)
    period = CodeField(queryset=Period.objects.all(), required=False, allow_null=True)
    text = serializers.CharField()
    milestone_status = serializers.ChoiceField(choices=MilestoneStatus.choices, required=False, allow_blank=True)
    evidence = serializers.FileField(required=False, write_only=True)
    has_evidence = serializers.SerializerMethodField()
    review_status = serializers.CharField(read_only=True)
    review_comment = serializers.CharField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, default=None, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_has_evidence(self, note: TargetNote) -> bool:
        return bool(note.evidence)

    def to_representation(self, note: TargetNote) -> dict[str, Any]:
        data = super().to_representation(note)
        data["reported_on"] = note.reported_date.isoformat()
        return data


def _note_target(request: Request, code: str, target: str) -> Target:
    """The target whose notes are asked for: its owner may always see it, others within their scope (else 404)."""
    obj = (
        Target.objects.filter(plan__code=code, code=target)
        .select_related("plan", "scope", "owner_unit", "owner_user")
        .first()
    )
    if obj is None:
        raise Http404
    if targets_service.can_write_notes(request.user, obj):
        return obj
    queryset = Target.objects.filter(pk=obj.pk).select_related("plan", "scope", "owner_unit", "owner_user")
    return scope.get_in_scope(request.user, queryset, "scope")


class TargetNoteListView(APIView):
    """GET a milestone's or narrative's notes, newest first; POST a note (its owner, or bureau staff)."""

    serializer_class = NoteSerializer

    @extend_schema(operation_id="v1_plans_targets_notes_list", responses=NoteSerializer(many=True))
    def get(self, request: Request, code: str, target: str) -> Response:
        obj = _note_target(request, code, target)
        notes = obj.notes.select_related("author", "period").order_by("-reported_on", "-created_at", "-pk")
        return Response(NoteSerializer(notes, many=True).data)

    def post(self, request: Request, code: str, target: str) -> Response:
        obj = _note_target(request, code, target)
        if not targets_service.can_write_notes(request.user, obj):
            scope.require(request.user, Perm.ADMIN, obj.scope)  # in scope but may not write: 403
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        note = targets_service.add_note(
            request.user, obj, text=data["text"], period=data.get("period"), reported_on=data.get("reported_on"),
            evidence=data.get("evidence"), milestone_status=data.get("milestone_status") or None,
        )  # fmt: skip
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteReviewSerializer(serializers.Serializer):
    """The bureau's review of a note: accept it, or return it with a comment."""

    decision = serializers.ChoiceField(choices=[("accept", "accept"), ("return", "return")])
    comment = serializers.CharField(required=False, allow_blank=True)


class TargetNoteReviewView(APIView):
    """POST a review of one note (bureau staff over the target's scope); accepting a "done" note completes the
    milestone on the day the note reports on."""

    serializer_class = NoteReviewSerializer

    @extend_schema(request=NoteReviewSerializer, responses=NoteSerializer)
    def post(self, request: Request, code: str, target: str, pk: int) -> Response:
        obj = _note_target(request, code, target)
        note = get_object_or_404(obj.notes.select_related("target__plan", "target__scope", "author", "period"), pk=pk)
        scope.require(request.user, Perm.ADMIN, obj.scope)
        serializer = NoteReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        note = targets_service.review_note(
            request.user, note, accept=data["decision"] == "accept", comment=data.get("comment", "")
        )
        return Response(NoteSerializer(note).data)
