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
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import Level, OrgUnit, SchoolType
from submissions import workflow
from submissions.filters import SubmissionApiFilterSet
from submissions.models import Channel, Figure, HistoryAction, Period, Submission, SubmissionHistory


def number(value: Decimal | int | None) -> int | float | None:
    """A stored DECIMAL(20, 4) as a JSON number: integral values as ints (600, not 600.0).

    A freshly created object still holds the model's default as given (``min_value=0``, an int)."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


# --- Figures ---


class ReportedBySerializer(serializers.Serializer):
    levels = serializers.ListField(child=serializers.ChoiceField(choices=Level.choices), required=False)
    school_types = serializers.ListField(child=serializers.ChoiceField(choices=SchoolType.choices), required=False)
    central_only = serializers.BooleanField(required=False)
    top_areas = serializers.BooleanField(required=False)


class FigureSerializer(serializers.ModelSerializer):
    reported_by = ReportedBySerializer(required=False)

    class Meta:
        model = Figure
        fields = [
            "code", "name", "name_en", "unit", "value_type", "time_aggregation", "unit_aggregation",
            "min_value", "max_value", "reported_by", "change_warning_share", "help_text", "group", "order",
            "is_active",
        ]  # fmt: skip
        # Numbers in, numbers out (API.md: values are numbers): without this the schema documents them as strings.
        extra_kwargs = {
            name: {"coerce_to_string": False} for name in ("min_value", "max_value", "change_warning_share")
        }

    def to_representation(self, instance: Figure) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["reported_by"] = {
            "levels": instance.reported_by_levels,
            "school_types": instance.reported_by_school_types,
            "central_only": instance.reported_by_central_only,
            "top_areas": instance.reported_by_top_areas,
        }
        for name in ("min_value", "max_value", "change_warning_share"):
            data[name] = number(getattr(instance, name))
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        reported_by = attrs.pop("reported_by", None)
        if reported_by is not None:
            attrs["reported_by_levels"] = reported_by.get("levels", [])
            attrs["reported_by_school_types"] = reported_by.get("school_types", [])
            attrs["reported_by_central_only"] = reported_by.get("central_only", False)
            attrs["reported_by_top_areas"] = reported_by.get("top_areas", False)
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
    queryset = Figure.objects.all()
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


def submission_data(snap: workflow.Snapshot) -> dict[str, Any]:
    submission = snap.submission
    return {
        "id": submission.pk,
        "org_unit": submission.org_unit.code,
        "period": submission.period.code,
        "status": submission.status,
        "version": submission.version,
        "is_zero_report": submission.is_zero_report,
        "values": {code: number(value) for code, value in sorted(snap.values.items())},
        "explanations": submission.explanations,
        "warnings": [
            {"code": i.key, "severity": i.severity, "message": i.message, "figures": list(i.figures)}
            for i in snap.issues
        ],
        "submitted_at": submission.submitted_at,
        "approved_at": submission.approved_at,
        "returned_at": submission.returned_at,
        "return_reason": submission.return_reason,
        "reopened_at": submission.reopened_at,
        "reopen_reason": submission.reopen_reason,
    }


class SubmissionCreateSerializer(serializers.Serializer):
    org_unit = serializers.CharField()
    period = serializers.CharField()


class SubmissionUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    # Raw JSON values: the service parses and validates them, so errors read the same in every channel.
    values = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False)
    explanations = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    is_zero_report = serializers.BooleanField(required=False)


class StepSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(required=False, allow_blank=True)


class HistoryEntrySerializer(serializers.Serializer):
    """One row of ``GET /api/v1/submissions/{id}/history/`` (a list, oldest first): who, when, channel, old → new."""

    action = serializers.ChoiceField(choices=HistoryAction.choices)
    figure = serializers.CharField(allow_null=True, help_text="figure code; null for a workflow step")
    old = serializers.FloatField(allow_null=True)
    new = serializers.FloatField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    user = serializers.CharField(allow_null=True, help_text="username; null for the system")
    version = serializers.IntegerField()
    at = serializers.DateTimeField()


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

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        data = [submission_data(snap) for snap in workflow.snapshots(rows)]
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(submission_data(workflow.snapshot(self.read_object(pk))))

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

    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def submit(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "submit")

    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def approve(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "approve")

    @action(detail=True, methods=["post"], url_path="return", serializer_class=StepSerializer)
    def return_(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "return")

    @action(detail=True, methods=["post"], serializer_class=StepSerializer)
    def reopen(self, request: Request, pk: str) -> Response:
        return self._step(request, pk, "reopen")

    # The whole trail in one list, not paginated (API.md: "every value change"), so documented as a plain array.
    @extend_schema(responses=HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk: str) -> Response:
        submission = self.read_object(pk)
        rows = SubmissionHistory.objects.filter(submission=submission).select_related("figure", "user")
        return Response(
            [
                {
                    "action": row.action,
                    "figure": row.figure.code if row.figure else None,
                    "old": number(row.old_value),
                    "new": number(row.new_value),
                    "note": row.note,
                    "channel": row.channel,
                    "user": row.user.get_username() if row.user else None,
                    "version": row.version,
                    "at": row.created_at,
                }
                for row in rows
            ]
        )
