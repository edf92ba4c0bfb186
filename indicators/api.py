"""API v1 of the indicator engine: indicators, indicator values (with explanations), recompute."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from indicators import dispatch, engine, explain, recompute, services
from indicators.filters import IndicatorValueFilterSet
from indicators.models import Indicator, IndicatorValue, RecomputeJob
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools.models import DesignationKind, OrgUnit
from submissions.models import Period

logger = logging.getLogger(__name__)

UNIT_FILTER_FIELDS = {
    "levels": "unit_filter_levels",
    "school_types": "unit_filter_school_types",
    "ownership": "unit_filter_ownership",
    "is_central": "unit_filter_central_only",
}


class IndicatorSerializer(serializers.ModelSerializer):
    designation_kind = serializers.SlugRelatedField(
        slug_field="code", queryset=DesignationKind.objects.all(), allow_null=True, required=False
    )
    unit_filter = serializers.DictField(required=False)

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "name_en",
            "definition",
            "numerator",
            "denominator",
            "weight",
            "factor",
            "decimals",
            "unit",
            "aggregation",
            "condition",
            "designation_kind",
            "designation_level",
            "unit_filter",
            "period_mode",
            "is_active",
        ]

    def to_representation(self, instance: Indicator) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["unit_filter"] = {key: getattr(instance, attr) for key, attr in UNIT_FILTER_FIELDS.items()}
        return data

    def validate_unit_filter(self, value: dict[str, Any]) -> dict[str, Any]:
        unknown = set(value) - set(UNIT_FILTER_FIELDS)
        if unknown:
            raise serializers.ValidationError(_("未知的筛选项：{keys}").format(keys=", ".join(sorted(unknown))))
        for key, item in value.items():
            if key == "is_central":
                if not isinstance(item, bool):
                    raise serializers.ValidationError({key: [_("应为 true 或 false")]})
            elif not isinstance(item, list) or not all(isinstance(v, str) for v in item):
                raise serializers.ValidationError({key: [_("应为代码列表")]})
        return value

    def apply(self, instance: Indicator) -> Indicator:
        """Copy validated data onto ``instance`` without saving (the service saves)."""
        data = dict(self.validated_data)
        for key, item in (data.pop("unit_filter", None) or {}).items():
            setattr(instance, UNIT_FILTER_FIELDS[key], item)
        for name, item in data.items():
            setattr(instance, name, item)
        return instance


class IndicatorViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Indicators are the bureau's shared definitions: everyone signed in reads, bureau admins write."""

    serializer_class = IndicatorSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Indicator.objects.select_related("designation_kind").order_by("code")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope.require(request.user, Perm.ADMIN)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        indicator = serializer.apply(Indicator())
        services.save_indicator(indicator, request.user)
        return Response(self.get_serializer(indicator).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        indicator = self.get_object()
        scope.require(request.user, Perm.ADMIN)
        serializer = self.get_serializer(indicator, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.apply(indicator)
        services.save_indicator(indicator, request.user)
        return Response(self.get_serializer(indicator).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)


class IndicatorValueSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.code")
    org_unit = serializers.CharField(source="org_unit.code")
    period = serializers.CharField(source="period.code")

    class Meta:
        model = IndicatorValue
        fields = [
            "indicator",
            "org_unit",
            "period",
            "numerator",
            "denominator",
            "value",
            "unit_count",
            "left_out_count",
            "computed_at",
        ]


class WindowValueSerializer(IndicatorValueSerializer):
    """The same fields for a value over a year or half (``engine.WindowValue``; period is its code)."""

    period = serializers.CharField()


EXPLAIN_PARAMS = [
    OpenApiParameter("indicator", str, description="indicator code"),
    OpenApiParameter("org_unit", str, description="org unit code"),
    OpenApiParameter(
        "period",
        str,
        description="2023Q1; or 2023, 2023H1, 2023H2 where the indicator's period_mode allows it",
    ),
    OpenApiParameter("explain", bool, description="with indicator, org_unit and period: add the explanation"),
]


class IndicatorValueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Precomputed values in the caller's scope; ``explain=1`` on one value adds what went into it."""

    serializer_class = IndicatorValueSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = IndicatorValueFilterSet

    def get_queryset(self):
        queryset = IndicatorValue.objects.select_related("indicator", "org_unit", "period")
        queryset = scope.filter_by_scope(self.request.user, queryset, "org_unit")
        return queryset.order_by("indicator__code", "period__year", "period__quarter", "org_unit__path", "pk")

    @extend_schema(parameters=EXPLAIN_PARAMS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = request.query_params
        window = engine.parse_window(params.get("period") or "")
        if window is not None:
            return self.window_list(request, window)
        if params.get("explain") in ("1", "true") and all(params.get(k) for k in ("indicator", "org_unit", "period")):
            return self.explain(request)
        return super().list(request, *args, **kwargs)

    def window_list(self, request: Request, window: engine.Window) -> Response:
        """``period=2023`` / ``2023H1`` / ``2023H2``: values over the year or half (``engine.window_values``: the
        stored Q4 / Q2 rows where they are the window's value, else computed) for the indicators whose
        period_mode allows it (one asked for by code that does not: 400)."""
        params = request.query_params
        indicators = Indicator.objects.filter(is_active=True).order_by("code")
        if params.get("indicator"):
            indicators = indicators.filter(code=params["indicator"])
            refused = [i for i in indicators if not engine.window_allowed(i, window)]
            if refused:
                raise ServiceError(
                    {
                        "period": [
                            _("指标“{name}”的周期为“{mode}”，不能按“{period}”查询").format(
                                name=refused[0].name, mode=refused[0].get_period_mode_display(), period=window.code
                            )
                        ]
                    }
                )
        units = scope.visible_units(request.user).filter(is_active=True)
        if params.get("org_unit"):
            units = units.filter(code=params["org_unit"])
        if params.get("parent"):
            units = units.filter(parent__code=params["parent"])
        values: Sequence[engine.WindowValue]
        if not Period.objects.filter(year=window.year).exists():
            values = []  # a year nobody reports for, like an unknown quarter
        else:
            # Computed for the requested page's units only (issue 17), never for the whole scope at once.
            values = engine.WindowValues(list(indicators), units, window)
        page = self.paginate_queryset(values)  # type: ignore[arg-type]
        return self.get_paginated_response(WindowValueSerializer(page, many=True).data)

    @extend_schema(parameters=EXPLAIN_PARAMS[:3])
    @action(detail=False, methods=["get"], url_path="explain")
    def explain(self, request: Request) -> Response:
        params = request.query_params
        missing = [k for k in ("indicator", "org_unit", "period") if not params.get(k)]
        if missing:
            raise ServiceError({k: [_("必填")] for k in missing})
        indicator = get_object_or_404(Indicator, code=params["indicator"])
        unit = scope.get_in_scope(request.user, OrgUnit.objects.all(), "", code=params["org_unit"])
        period = get_object_or_404(Period, code=params["period"])
        return Response(explain.as_dict(explain.explain(indicator, unit, period)))


class RecomputeSerializer(serializers.Serializer):
    period = serializers.SlugRelatedField(slug_field="code", queryset=Period.objects.all(), required=False)
    org_unit = serializers.SlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(), required=False)


class RecomputeResultSerializer(serializers.Serializer):
    """The answer of ``POST /api/v1/recompute/``: counts when it ran in the request, else the queued job's id."""

    status = serializers.ChoiceField(choices=["done", "queued"])
    rows = serializers.IntegerField(required=False)
    periods = serializers.ListField(child=serializers.CharField(), required=False)
    units = serializers.IntegerField(required=False)
    job = serializers.IntegerField(required=False)


class RecomputeView(APIView):
    """POST {period?, org_unit?}: bureau admins recompute; eager mode answers with counts, else a job id.

    Either way a RecomputeJob is recorded first (look it up at ``GET /api/v1/recompute/{job}/``)."""

    serializer_class = RecomputeSerializer

    @extend_schema(
        request=RecomputeSerializer, responses={200: RecomputeResultSerializer, 202: RecomputeResultSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = RecomputeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = serializer.validated_data.get("period")
        unit = serializer.validated_data.get("org_unit")
        if unit is not None:
            scope.require(request.user, Perm.ADMIN, unit)
        else:
            for root in OrgUnit.objects.filter(parent__isnull=True):
                scope.require(request.user, Perm.ADMIN, root)
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            # No broker (development, tests): run in the request and answer with the counts; the job is recorded
            # all the same, so GET /api/v1/recompute/{job}/ works in every mode.
            recorded = dispatch.record_scope_recompute(request.user, period, unit)
            job = recompute.run_job(recorded.pk) or recorded  # just recorded: nobody else can have claimed it
            done = {"status": "done", "rows": job.rows, "periods": job.periods, "units": job.units, "job": job.pk}
            return Response(RecomputeResultSerializer(done).data)
        # Recorded first, enqueued after commit: with the broker down the job stays queued and the sweep runs it.
        job = dispatch.request_scope_recompute(request.user, period, unit)
        return Response(
            RecomputeResultSerializer({"status": "queued", "job": job.pk}).data, status=status.HTTP_202_ACCEPTED
        )


class RecomputeJobSerializer(serializers.ModelSerializer):
    """``GET /api/v1/recompute/{job}/``: a recorded recompute and, once finished, its counts or its error."""

    job = serializers.IntegerField(source="pk")

    class Meta:
        model = RecomputeJob
        fields = ["job", "status", "rows", "units", "periods", "error", "created_at", "finished_at"]


class RecomputeJobView(APIView):
    """GET: one recompute job, for its requester or an admin of its scope (the whole tree: a bureau-wide admin);
    anyone else gets 404, as for any object outside the scope."""

    serializer_class = RecomputeJobSerializer

    @extend_schema(responses={200: RecomputeJobSerializer})
    def get(self, request: Request, job: int) -> Response:
        found = get_object_or_404(RecomputeJob.objects.select_related("org_unit"), pk=job)
        if found.requested_by_id != request.user.pk:
            allowed = (
                scope.has_perm(request.user, Perm.ADMIN, found.org_unit)
                if found.org_unit is not None
                else scope.is_bureau_wide_admin(request.user)
            )
            if not allowed:
                raise Http404
        return Response(RecomputeJobSerializer(found).data)
