"""API v1 of the submissions app: figures, periods, submissions and their workflow and history.

Every write goes through ``submissions.workflow`` — the same functions as the web form and the
Excel import. Reads are scoped (404 outside scope); writes look the object up unscoped so the
service's ``scope.require`` answers 403, as API.md says.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal import scope
from portal.errors import ServiceError
from portal.i18n import localized
from portal.scope import Perm
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions import workflow
from submissions.filters import SubmissionApiFilterSet
from submissions.models import Channel, Figure, HistoryAction, Period, Submission, SubmissionHistory
from submissions.reporting import ReportedBy, scope_errors, stage_errors, store_within


def number(value: Decimal | int | None) -> int | float | None:
    """A stored DECIMAL(20, 4) as a JSON number: integral values as ints (600, not 600.0).

    A freshly created object still holds the model's default as given (``min_value=0``, an int)."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


# --- Figures ---


class ReportedBySerializer(serializers.Serializer):
    """Who reports a figure: an AND of what is given (``submissions/reporting.py``)."""

    levels = serializers.ListField(child=serializers.ChoiceField(choices=Level.choices), required=False)
    school_types = serializers.ListField(child=serializers.ChoiceField(choices=SchoolType.choices), required=False)
    ownership = serializers.ListField(child=serializers.ChoiceField(choices=Ownership.choices), required=False)
    within = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="org-unit codes: each one's subtree reports"
    )
    central_only = serializers.BooleanField(required=False)
    top_areas = serializers.BooleanField(required=False)


class FigureSerializer(serializers.ModelSerializer):
    reported_by = ReportedBySerializer(required=False)
    from_period = serializers.SlugRelatedField(
        slug_field="code", queryset=Period.objects.all(), required=False, allow_null=True
    )
    until_period = serializers.SlugRelatedField(
        slug_field="code", queryset=Period.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Figure
        fields = [
            "code", "name", "name_en", "unit", "value_type", "time_aggregation", "unit_aggregation",
            "min_value", "max_value", "reported_by", "stage", "required", "allows_not_applicable", "from_period",
            "until_period", "change_warning_share", "help_text", "group", "order", "is_active",
        ]  # fmt: skip
        # Numbers in, numbers out (API.md: values are numbers): without this the schema documents them as strings.
        extra_kwargs = {
            name: {"coerce_to_string": False} for name in ("min_value", "max_value", "change_warning_share")
        }

    def to_representation(self, instance: Figure) -> dict[str, Any]:
        data = super().to_representation(instance)
        reported_by = ReportedBy.of(instance)
        data["reported_by"] = {
            "levels": reported_by.levels,
            "school_types": reported_by.school_types,
            "ownership": reported_by.ownership,
            "within": [unit.code for unit in reported_by.within],
            "central_only": reported_by.central_only,
            "top_areas": reported_by.top_areas,
        }
        for name in ("min_value", "max_value", "change_warning_share"):
            data[name] = number(getattr(instance, name))
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        reported_by = attrs.pop("reported_by", None)
        spec: ReportedBy | None = None
        if reported_by is not None:
            codes = list(dict.fromkeys(reported_by.get("within", [])))
            within = list(OrgUnit.objects.filter(code__in=codes))
            unknown = sorted(set(codes) - {unit.code for unit in within})
            if unknown:
                raise serializers.ValidationError(
                    {"reported_by": [_("单位代码不存在：{codes}").format(codes="、".join(unknown))]}
                )
            spec = ReportedBy(
                levels=reported_by.get("levels", []),
                school_types=reported_by.get("school_types", []),
                ownership=reported_by.get("ownership", []),
                within=within,
                central_only=reported_by.get("central_only", False),
                top_areas=reported_by.get("top_areas", False),
            )
            problems = scope_errors(spec)
            if problems:
                raise serializers.ValidationError({"reported_by": problems})
            attrs["reported_by_levels"] = spec.levels
            attrs["reported_by_school_types"] = spec.school_types
            attrs["reported_by_ownership"] = spec.ownership
            attrs["reported_by_central_only"] = spec.central_only
            attrs["reported_by_top_areas"] = spec.top_areas
            self._within = within
        start = attrs.get("from_period", getattr(self.instance, "from_period", None))
        end = attrs.get("until_period", getattr(self.instance, "until_period", None))
        if start is not None and end is not None and start.index > end.index:
            raise serializers.ValidationError({"until_period": [_("截止周期不能早于起始周期")]})
        stage = attrs.get("stage", getattr(self.instance, "stage", ""))
        if stage:
            if spec is None:
                spec = ReportedBy.of(self.instance) if self.instance is not None else ReportedBy()
            problems = stage_errors(stage, spec)
            if problems:
                raise serializers.ValidationError({"stage": problems})
        # The range rule is the model's check constraint, as in the web form. Checked on the figure as it would be
        # saved: a new one takes the model's defaults, so a POST without min_value is checked against min_value=0
        # (checking only the fields sent let a negative max_value through to the database: a 500, later a 503).
        figure = copy.copy(self.instance) if self.instance is not None else Figure()
        for name, value in attrs.items():
            setattr(figure, name, value)
        try:
            figure.validate_constraints()
        except DjangoValidationError as exc:
            # Its only constraint spanning fields is the range order; clients have always seen it on max_value.
            raise serializers.ValidationError({"max_value": exc.messages}) from None
        return attrs

    def save(self, **kwargs: Any) -> Figure:
        figure = super().save(**kwargs)
        within = getattr(self, "_within", None)
        if within is not None:
            store_within(figure, within)
        return figure


class AdminWritesMixin:
    """Anyone signed in reads; only bureau admins write (403)."""

    def check_write(self) -> None:
        scope.require(self.request.user, Perm.ADMIN)  # type: ignore[attr-defined]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self.check_write()
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_write()
        with transaction.atomic():
            serializer.save()


class FigureViewSet(
    AdminWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Figure.objects.select_related("from_period", "until_period").prefetch_related("reported_by_within")
    serializer_class = FigureSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]


# --- Periods ---


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Period
        fields = ["code", "year", "quarter", "opens_on", "due_on", "locks_on"]
        read_only_fields = ["year", "quarter"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "code" in attrs:
            try:
                attrs["year"], attrs["quarter"] = workflow.parse_period_code(attrs["code"])
            except ServiceError as exc:
                raise serializers.ValidationError({"code": exc.errors["period"]}) from None
            attrs["code"] = Period.code_for(attrs["year"], attrs["quarter"])
        opens = attrs.get("opens_on", getattr(self.instance, "opens_on", None))
        due = attrs.get("due_on", getattr(self.instance, "due_on", None))
        locks = attrs.get("locks_on", getattr(self.instance, "locks_on", None))
        if opens and due and locks and not opens <= due <= locks:
            raise serializers.ValidationError({"due_on": [_("日期顺序应为：开始 ≤ 截止 ≤ 锁定")]})
        return attrs


class PeriodViewSet(
    AdminWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Period.objects.all()
    serializer_class = PeriodSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            super().perform_create(serializer)
        except IntegrityError:
            raise ServiceError({"code": [_("该周期已存在")]}) from None


# --- Submissions ---


@extend_schema_field({"type": "number", "nullable": True})
class NumberField(serializers.Field):
    """A stored decimal as a JSON number, integral values as ints (``number``)."""

    def to_representation(self, value: Decimal | int | None) -> int | float | None:
        return number(value)


class WarningSerializer(serializers.Serializer):
    """A rule the submission's values break (or cannot be judged by): its code, severity, message and figures."""

    code = serializers.CharField(source="key")
    severity = serializers.CharField()
    message = serializers.CharField()
    figures = serializers.ListField(child=serializers.CharField())


class SubmissionSerializer(serializers.Serializer):
    """A submission as the API shows it (list, read, create, update, workflow steps): built from the workflow's
    snapshot, which holds the counted values and the rules' warnings."""

    id = serializers.IntegerField(source="submission.pk")
    org_unit = serializers.CharField(source="submission.org_unit.code")
    period = serializers.CharField(source="submission.period.code")
    status = serializers.CharField(source="submission.status")
    version = serializers.IntegerField(source="submission.version")
    is_zero_report = serializers.BooleanField(source="submission.is_zero_report")
    figures = serializers.SerializerMethodField()
    values = serializers.SerializerMethodField()
    not_applicable = serializers.SerializerMethodField()
    explanations = serializers.DictField(source="submission.explanations", child=serializers.CharField())
    warnings = WarningSerializer(source="issues", many=True)
    submitted_at = serializers.DateTimeField(source="submission.submitted_at", allow_null=True)
    approved_at = serializers.DateTimeField(source="submission.approved_at", allow_null=True)
    returned_at = serializers.DateTimeField(source="submission.returned_at", allow_null=True)
    return_reason = serializers.CharField(source="submission.return_reason")
    reopened_at = serializers.DateTimeField(source="submission.reopened_at", allow_null=True)
    reopen_reason = serializers.CharField(source="submission.reopen_reason")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number", "nullable": True}})
    def get_values(self, snap: workflow.Snapshot) -> dict[str, int | float | None]:
        return {code: number(value) for code, value in sorted(snap.values.items()) if code not in snap.not_applicable}

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "required": {"type": "boolean"}},
            },
        }
    )
    def get_figures(self, snap: workflow.Snapshot) -> list[dict[str, Any]]:
        """Exactly the figures this unit reports this period, in form order."""
        return [
            {"code": figure.code, "name": localized(figure), "required": figure.required} for figure in snap.figures
        ]

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_not_applicable(self, snap: workflow.Snapshot) -> list[str]:
        return sorted(snap.not_applicable)


def submission_data(snap: workflow.Snapshot) -> dict[str, Any]:
    return SubmissionSerializer(snap).data


class SubmissionCreateSerializer(serializers.Serializer):
    org_unit = serializers.CharField()
    period = serializers.CharField()


class SubmissionUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    # Raw JSON values: the service parses and validates them, so errors read the same in every channel.
    values = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False)
    explanations = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    is_zero_report = serializers.BooleanField(required=False)
    not_applicable = serializers.ListField(child=serializers.CharField(), required=False, max_length=1000)


class StepSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(required=False, allow_blank=True)


class HistoryEntrySerializer(serializers.ModelSerializer):
    """One row of ``GET /api/v1/submissions/{id}/history/`` (a list, oldest first): who, when, channel, old → new."""

    action = serializers.ChoiceField(choices=HistoryAction.choices)
    figure = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="figure code; null for a workflow step"
    )
    old = NumberField(source="old_value", allow_null=True)
    new = NumberField(source="new_value", allow_null=True)
    note = serializers.CharField(allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    user = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="username; null for the system"
    )
    version = serializers.IntegerField()
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = SubmissionHistory
        fields = ["action", "figure", "old", "new", "note", "channel", "user", "version", "at"]


def submission_pk(pk: str) -> int:
    """The ``{id}`` of a submission URL: only ASCII digits name a submission; anything else is a 404.

    (The ORM raises ValueError on ``pk="abc"``, a 500; ``int()`` alone would also take "-1", " 1" or "1_0".)"""
    if not (pk.isascii() and pk.isdigit()):
        raise Http404
    return int(pk)


class SubmissionViewSet(viewsets.GenericViewSet):
    """``/api/v1/submissions/``: list/create, ``{id}/`` read and partial update, workflow actions, history."""

    serializer_class = SubmissionUpdateSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SubmissionApiFilterSet

    def base_queryset(self):
        return Submission.objects.select_related("org_unit", "period")

    def get_queryset(self):
        queryset = scope.filter_by_scope(self.request.user, self.base_queryset(), "org_unit")
        return queryset.order_by("period__year", "period__quarter", "org_unit__path", "pk")

    def read_object(self, pk: str) -> Submission:
        return scope.get_in_scope(self.request.user, self.base_queryset(), "org_unit", pk=submission_pk(pk))

    def write_object(self, pk: str) -> Submission:
        # Unscoped lookup: the workflow's scope.require turns an outsider's write into 403.
        return get_object_or_404(self.base_queryset(), pk=submission_pk(pk))

    @extend_schema(responses=SubmissionSerializer(many=True))
    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        # One serializer for the page (many=True builds its fields once, not once per row).
        data = SubmissionSerializer(workflow.snapshots(rows), many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(responses=SubmissionSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(submission_data(workflow.snapshot(self.read_object(pk))))

    @extend_schema(request=SubmissionCreateSerializer, responses=SubmissionSerializer)
    def create(self, request: Request) -> Response:
        serializer = SubmissionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = OrgUnit.objects.filter(code=serializer.validated_data["org_unit"]).first()
        if unit is None or not scope.has_perm(request.user, Perm.VIEW, unit):
            raise ServiceError({"org_unit": [_("单位代码不存在或不在您的权限范围内。")]})
        year, quarter = workflow.parse_period_code(serializer.validated_data["period"])
        period = Period.objects.filter(year=year, quarter=quarter).first()
        if period is None:
            raise ServiceError({"period": [_("周期不存在")]})
        existed = Submission.objects.filter(org_unit=unit, period=period).exists()
        submission = workflow.open_submission(request.user, unit, period, channel=Channel.API)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(submission_data(workflow.snapshot(submission)), status=code)

    @extend_schema(request=SubmissionUpdateSerializer, responses=SubmissionSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        submission = self.write_object(pk)
        serializer = SubmissionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow.save_values(
            submission,
            request.user,
            data.get("values", {}),
            version=data["version"],
            explanations=data.get("explanations"),
            is_zero_report=data.get("is_zero_report"),
            channel=Channel.API,
            not_applicable=data.get("not_applicable", ()),
        )
        return Response(submission_data(workflow.snapshot(self.base_queryset().get(pk=pk))))

    def _step(self, request: Request, pk: str, name: str) -> Response:
        submission = self.write_object(pk)
        serializer = StepSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = serializer.validated_data.get("version")
        reason = serializer.validated_data.get("reason", "")
        kwargs: dict[str, Any] = {"version": version, "channel": Channel.API}
        if name == "submit":
            workflow.submit(submission, request.user, **kwargs)
        elif name == "approve":
            workflow.approve(submission, request.user, **kwargs)
        elif name == "return":
            workflow.return_submission(submission, request.user, reason=reason, **kwargs)
        else:
            workflow.reopen(submission, request.user, reason=reason, **kwargs)
        return Response(submission_data(workflow.snapshot(self.base_queryset().get(pk=pk))))

    @extend_schema(request=StepSerializer, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def submit(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "submit")

    @extend_schema(request=StepSerializer, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def approve(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "approve")

    @extend_schema(request=StepSerializer, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"], url_path="return", serializer_class=StepSerializer)
    def return_(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "return")

    @extend_schema(request=StepSerializer, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def reopen(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "reopen")

    # The whole trail in one list, not paginated (API.md: "every value change"), so documented as a plain array.
    @extend_schema(responses=HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk: str) -> Response:
        submission = self.read_object(pk)
        rows = SubmissionHistory.objects.filter(submission=submission).select_related("figure", "user")
        return Response(HistoryEntrySerializer(rows, many=True).data)
