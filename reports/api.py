"""API v1 of the reports: the plan workbook and the status of export jobs (see /work/shared/API.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAcceptable
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from plans.models import Plan
from portal import scope
from portal.xlsx import XLSX_CONTENT_TYPE
from reports import dispatch, exports
from reports.models import ExportJob, ExportStatus
from schools.api import ScopedCodeField
from schools.models import OrgUnit
from submissions.models import Period, current_of


class ExportJobSerializer(serializers.ModelSerializer):
    """An export job as integrations poll it: status, progress and, when done, where to download."""

    job = serializers.IntegerField(source="pk", read_only=True)
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scope = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    progress = serializers.IntegerField(source="percent_done", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    step_display = serializers.CharField(source="get_step_display", read_only=True)
    download_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "job",
            "kind",
            "plan",
            "scope",
            "period",
            "status",
            "status_display",
            "progress",
            "rows_done",
            "rows_total",
            "step",
            "step_display",
            "error",
            "note",
            "download_url",
            "pdf_url",
            "created_at",
            "finished_at",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportStatus.DONE or not job.file:
            return None
        url = reverse("reports:export_download", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_pdf_url(self, job: ExportJob) -> str | None:
        """A bulletin's PDF, when LibreOffice made one (else ``note`` says why)."""
        if job.status != ExportStatus.DONE or not job.pdf_file:
            return None
        url = reverse("reports:export_download", kwargs={"pk": job.pk}) + "?file=pdf"
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


def _scope_and_period(request: Request, plan: Plan) -> tuple[OrgUnit, Period | None]:
    """``?scope=`` (404 outside the caller's scope; default the root of it) and ``?period=`` (default: the latest
    opened quarter of the plan's year)."""
    unit_code = request.query_params.get("scope", "").strip()
    if unit_code:
        unit = scope.get_in_scope(request.user, OrgUnit.objects.all(), code=unit_code)
    else:
        found = scope.top_units(request.user).first()
        if found is None:
            raise PermissionDenied
        unit = found
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    wanted = request.query_params.get("period", "").strip()
    period = next((p for p in periods if p.code == wanted), None) or current_of(periods, timezone.localdate())
    return unit, period


class BulletinRequestSerializer(serializers.Serializer):
    """What a bulletin is asked for: the scope unit (default: the root of the caller's scope) and the quarter
    (default: the latest opened quarter of the plan's year)."""

    scope = ScopedCodeField(required=False, help_text="org unit code")
    period = serializers.CharField(required=False, max_length=10, help_text="quarter, e.g. 2023Q4")


class PlanBulletinView(APIView):
    """``POST /api/v1/plans/{code}/bulletin/`` with ``{"scope": "D1", "period": "2023Q4"}`` (both optional): ask
    for the quarterly bulletin (进展通报, .docx and PDF); always 202 with the export job to poll. A scope outside
    the caller's scope or an unknown quarter is a 400; 403 when the caller may see the scope but not export."""

    serializer_class = BulletinRequestSerializer

    @extend_schema(
        request=BulletinRequestSerializer,
        responses={202: OpenApiResponse(ExportJobSerializer, description="the job to poll at /api/v1/exports/{job}/")},
    )
    def post(self, request: Request, code: str) -> Response:
        plan = get_object_or_404(Plan, code=code)
        serializer = BulletinRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        unit = serializer.validated_data.get("scope") or scope.top_units(request.user).first()
        if unit is None:
            raise PermissionDenied
        periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
        wanted = serializer.validated_data.get("period", "").strip()
        period = next((p for p in periods if p.code == wanted), None)
        if wanted and period is None:
            raise serializers.ValidationError(
                {"period": [_("%(year)s 年没有季度 %(code)s。") % {"year": plan.year, "code": wanted}]}
            )
        if period is None:
            period = current_of(periods, timezone.localdate())
        job = dispatch.request_bulletin(request.user, plan, unit, period)
        data = ExportJobSerializer(job, context={"request": request}).data
        data["url"] = request.build_absolute_uri(reverse("api_export_job", kwargs={"pk": job.pk}))
        return Response(data, status=status.HTTP_202_ACCEPTED)


class PlanExportView(APIView):
    """``GET /api/v1/plans/{code}/export.xlsx?scope=CODE[&period=2023Q4]``: the progress workbook.

    Small workbooks come back at once (200, xlsx); big ones return 202 with the job to poll.
    404 when the scope unit is outside the caller's scope, 403 when they may see but not export.
    """

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for the workbook's own media type (Accept: application/vnd.openxml…) must get it, not a
        # 406: the 200 is a plain HttpResponse that no renderer touches, and the 202 job reply is always JSON.
        try:
            return super().perform_content_negotiation(request, force)
        except NotAcceptable:
            return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", str, description="org unit code (default: the root of the caller's scope)"),
            OpenApiParameter("period", str, description="quarter, e.g. 2023Q4 (default: latest opened quarter)"),
        ],
        # Keyed by media type: the 200 body is the workbook, not JSON (the schema would otherwise say JSON).
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="the .xlsx workbook"),
            (202, "application/json"): OpenApiResponse(
                ExportJobSerializer, description="a big workbook: the export job to poll at /api/v1/exports/{job}/"
            ),
        },
    )
    def get(self, request: Request, code: str) -> Any:
        plan = get_object_or_404(Plan, code=code)
        unit, period = _scope_and_period(request, plan)
        result = dispatch.request_export(request.user, plan, unit, period)
        if result.job is not None:
            data = ExportJobSerializer(result.job, context={"request": request}).data
            data["url"] = request.build_absolute_uri(reverse("api_export_job", kwargs={"pk": result.job.pk}))
            return Response(data, status=status.HTTP_202_ACCEPTED)
        response = HttpResponse(result.content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        return response


class ExportJobView(APIView):
    """``GET /api/v1/exports/{job}/``: status, progress and download URL of an export job."""

    @extend_schema(responses=ExportJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(exports.visible_jobs(request.user), pk=pk)
        return Response(ExportJobSerializer(job, context={"request": request}).data)
