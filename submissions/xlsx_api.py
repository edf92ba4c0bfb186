"""API v1 of the Excel round-trip: the same template and import as the web page, as JSON.

``GET /api/v1/submissions/template.xlsx?period=2023Q1&org_unit=CODE`` returns the signed template of
one unit or of a district's subtree (``xlsx.build_template``); ``POST /api/v1/submissions/upload/``
takes it back filled in (multipart field ``file``) and stores it with ``xlsx.import_template`` — the
same checks, the same all-or-nothing ``workflow.save_batch``, the same located messages. Errors use
the contract's shape with the cell as the key: ``{"errors": {"填报!D7": ["须为整数"]}}``; 400 for a
bad file or bad cells, 403 when a unit of the template is outside the caller's scope, 409 when a
row changed since the template was downloaded. Nothing is stored on any error.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import scope
from portal.errors import ServiceError
from portal.middleware import accepts_uploads
from portal.scope import Perm
from portal.upload_safety import UploadLimitHandler
from portal.xlsx import XLSX_CONTENT_TYPE
from schools.models import OrgUnit
from submissions import workflow, xlsx
from submissions.models import Channel, Period

ERRORS = inline_serializer(
    "SubmissionUploadErrors",
    {
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="cell reference (填报!D7), 'file', 'period' or 'org_unit' → messages",
        )
    },
)


class XlsxRenderer(renderers.BaseRenderer):
    """Lets a client ask for the workbook with ``Accept: application/vnd…sheet`` (no 406)."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else b""


def _period(code: str | None) -> Period | None:
    """The period named by ``code`` (400 if malformed or unknown), or None when not given."""
    if not (code or "").strip():
        return None
    year, quarter = workflow.parse_period_code(str(code))
    period = Period.objects.filter(year=year, quarter=quarter).first()
    if period is None:
        raise ServiceError({"period": [_("周期不存在")]})
    return period


class SubmissionTemplateView(APIView):
    """``GET /api/v1/submissions/template.xlsx?period=2023Q1&org_unit=CODE``: the Excel template."""

    renderer_classes = [renderers.JSONRenderer, XlsxRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # Errors are JSON whatever the client accepted (the xlsx renderer cannot show them).
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response

    @extend_schema(
        operation_id="v1_submissions_template_xlsx",
        summary="Excel template of a unit or a district's subtree",
        parameters=[
            OpenApiParameter("period", str, description="quarter, e.g. 2023Q1 (default: the latest open one)"),
            OpenApiParameter(
                "org_unit",
                str,
                description="unit code: one school, or a district/学区 for one row per unit of its subtree "
                "(default: every unit the caller may report for or review)",
            ),
        ],
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="the .xlsx template"),
            400: OpenApiResponse(ERRORS, description="unknown period, or too many units"),
            403: OpenApiResponse(ERRORS, description="nothing in the caller's scope to report or review"),
            404: OpenApiResponse(ERRORS, description="org_unit unknown or outside the caller's scope"),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        """Same workbook as the web page's download (``xlsx.build_template``)."""
        period = _period(request.query_params.get("period")) or Period.objects.current()
        if period is None:
            raise ServiceError({"period": [_("周期不存在")]})
        code = (request.query_params.get("org_unit") or "").strip()
        # A read: outside the caller's scope the unit does not exist (404), as for every single object.
        unit = scope.get_in_scope(request.user, OrgUnit.objects.all(), "", code=code) if code else None
        content = xlsx.build_template(request.user, period, unit)
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"填报模板_{unit.code if unit else _('全部')}_{period.code}.xlsx"
        )
        return response


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the filled-in template (.xlsx)")
    period = serializers.CharField(required=False, help_text="expected quarter; refused if the template's differs")
    org_unit = serializers.CharField(
        required=False, help_text="expected unit; refused if the template holds units outside its subtree"
    )


class SavedRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    org_unit = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    changed = serializers.ListField(child=serializers.CharField(), help_text="figure codes whose value changed")


class UploadResultSerializer(serializers.Serializer):
    period = serializers.CharField()
    rows = serializers.IntegerField(help_text="unit rows in the template")
    unchanged = serializers.IntegerField(help_text="rows identical to what is stored (not written)")
    values_changed = serializers.IntegerField()
    saved = SavedRowSerializer(many=True)
    warnings = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="cell → warnings the reviewer will see (they do not block the upload)",
    )


@accepts_uploads
class SubmissionUploadView(APIView):
    """``POST /api/v1/submissions/upload/`` (multipart ``file``): store a filled-in template, all rows or none."""

    parser_classes = [parsers.MultiPartParser]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Before anything reads the body (authentication's CSRF check does): stop storing the file
        # at MAX_UPLOAD_BYTES instead of spooling a huge body to disk first.
        if request.method == "POST":
            request.upload_handlers.insert(0, UploadLimitHandler(request))
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="v1_submissions_upload",
        summary="Upload a filled-in Excel template (every row stored, or none)",
        request={"multipart/form-data": UploadSerializer},
        responses={
            200: UploadResultSerializer,
            400: OpenApiResponse(ERRORS, description="unsafe or unreadable file, or located cell errors"),
            403: OpenApiResponse(ERRORS, description="a unit of the template is outside the caller's scope"),
            409: OpenApiResponse(ERRORS, description="a row changed since the template was downloaded"),
        },
    )
    def post(self, request: Request) -> Response:
        fields = request.data  # parses the body: the size limit handler runs here
        if getattr(request._request, "upload_too_large", False):
            limit = UploadLimitHandler().limit / 1048576
            raise ServiceError({"file": [_("文件过大，上传上限为 %(limit).1f MB。") % {"limit": limit}]})
        serializer = UploadSerializer(data=fields)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        period = _period(data.get("period"))
        unit = None
        if data.get("org_unit"):
            unit = OrgUnit.objects.filter(code=data["org_unit"].strip()).first()
            if unit is None or not scope.has_perm(request.user, Perm.VIEW, unit):
                raise ServiceError({"org_unit": [_("单位代码不存在或不在您的权限范围内。")]})
        result = xlsx.import_template(data["file"], user=request.user, period=period, unit=unit, channel=Channel.EXCEL)
        warnings: dict[str, list[str]] = {}
        for warning in result.warnings:
            warnings.setdefault(warning.ref, []).append(warning.message)
        payload = {
            "period": result.period.code,
            "rows": result.rows,
            "unchanged": result.unchanged,
            "values_changed": result.values_changed,
            "saved": [
                {
                    "id": saved.submission.pk,
                    "org_unit": saved.submission.org_unit.code,
                    "status": saved.submission.status,
                    "version": saved.submission.version,
                    "changed": saved.changed,
                }
                for saved in result.saved
            ],
            "warnings": warnings,
        }
        return Response(UploadResultSerializer(payload).data)
