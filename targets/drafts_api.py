"""API v1 of plan drafts (``/api/v1/plan-drafts/…``): a plan document read into a proposal, edited, committed.

Bureau admins only (other roles 403); a draft is its author's (another user's draft answers 404). The views
only translate HTTP to ``targets.plan_drafts``, the module the review page calls too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import scope
from portal.errors import ServiceError
from portal.middleware import accepts_uploads
from portal.scope import Perm, signed_in
from targets import plan_drafts
from targets.models import Comparator, Direction, PlanDraft, TargetKind


class DraftSectionSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    order = serializers.IntegerField()
    intro = serializers.CharField(required=False, allow_blank=True)
    accepted = serializers.BooleanField()


class DraftWorkItemSerializer(serializers.Serializer):
    section = serializers.CharField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    text = serializers.CharField(allow_blank=True)
    accepted = serializers.BooleanField()


class DraftTargetSerializer(serializers.Serializer):
    code = serializers.CharField()
    section = serializers.CharField()
    work_item = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=TargetKind.choices)
    comparator = serializers.ChoiceField(choices=Comparator.choices, allow_blank=True)
    direction = serializers.ChoiceField(
        choices=Direction.choices, allow_blank=True, required=False, help_text="Only for comparator improves."
    )
    target_value = serializers.CharField(allow_null=True, help_text='A decimal as a string ("23000", "0.5").')
    target_value_max = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    applies_to_each_unit = serializers.BooleanField()
    per = serializers.CharField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    due_period = serializers.CharField(allow_null=True)
    start_month = serializers.IntegerField(allow_null=True, required=False, help_text="A milestone's start month.")
    due_month = serializers.IntegerField(allow_null=True, required=False, help_text="A milestone's due month.")
    indicator = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField()
    parent = serializers.IntegerField(allow_null=True, help_text="Index of the target this one is part of.")  # type: ignore[assignment]  # the API's field, not DRF's Field.parent
    accepted = serializers.BooleanField()
    contributes_to = serializers.CharField(
        allow_null=True, help_text="Code of the parent plan's target this one contributes to (对应上级目标)."
    )


class PlanDraftSerializer(serializers.Serializer):
    """A draft as the API returns it (``draft_data``: the draft and its stored proposal)."""

    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    committed_plan = serializers.CharField(allow_null=True)
    source_filename = serializers.CharField(allow_blank=True)
    title = serializers.CharField(allow_blank=True)
    year = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    parent = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # the API's field, not DRF's Field.parent
    guiding_ideas = serializers.CharField(allow_blank=True)
    document_text = serializers.CharField(allow_blank=True)
    sections = DraftSectionSerializer(many=True)
    work_items = DraftWorkItemSerializer(many=True)
    targets = DraftTargetSerializer(many=True)


class PlanDraftCreateSerializer(serializers.Serializer):
    """The document as pasted ``text`` (JSON or form) or an uploaded ``file`` (.docx/.txt, multipart)."""

    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    file = serializers.FileField(required=False, allow_empty_file=True)  # the upload checks say why
    year = serializers.IntegerField(required=False, allow_null=True, min_value=2000, max_value=2100)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    parent = serializers.CharField(required=False, allow_null=True, allow_blank=True)  # type: ignore[assignment]  # the API's field, not DRF's Field.parent


class PlanDraftPatchSerializer(serializers.Serializer):
    """Edits with the ``version`` read; ``text`` or ``file`` re-imports a revised document into the draft."""

    version = serializers.IntegerField()
    text = serializers.CharField(required=False, trim_whitespace=False)
    title = serializers.CharField(required=False)
    year = serializers.IntegerField(required=False)
    code = serializers.CharField(required=False)
    parent = serializers.CharField(required=False, allow_null=True)  # type: ignore[assignment]  # the API's field, not DRF's Field.parent
    guiding_ideas = serializers.CharField(required=False, allow_blank=True)
    sections = serializers.JSONField(required=False, help_text="A whole list, or {index: {key: value}}.")
    work_items = serializers.JSONField(required=False)
    targets = serializers.JSONField(required=False)


class CommitSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False)


class CommittedSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="The code of the plan created.")


def draft_data(draft: PlanDraft) -> dict[str, Any]:
    """The API representation of a draft: ``PlanDraftSerializer`` over the draft and its stored proposal (the
    proposal is JSON, not rows, so the serializer reads it through a mapping of the keys it shows)."""
    data = draft.data
    return PlanDraftSerializer(
        {
            "id": draft.pk,
            "version": draft.version,
            "status": draft.status,
            "committed_plan": draft.committed_plan.code if draft.committed_plan is not None else None,
            "source_filename": draft.source_filename,
            "title": data.get("title", ""),
            "year": data.get("year"),
            "code": data.get("code", ""),
            "parent": data.get("parent"),
            "guiding_ideas": data.get("guiding_ideas", ""),
            "document_text": data.get("document_text", ""),
            "sections": [{k: s.get(k) for k in plan_drafts.SECTION_KEYS} for s in data.get("sections", [])],
            "work_items": [{k: w.get(k) for k in plan_drafts.ITEM_KEYS} for w in data.get("work_items", [])],
            "targets": [{k: t.get(k) for k in plan_drafts.TARGET_KEYS} for t in data.get("targets", [])],
        }
    ).data


def _require_admin(request: Request) -> None:
    if not scope.has_perm(request.user, Perm.ADMIN):
        raise PermissionDenied


def _version(request: Request) -> int:
    """The ``version`` the client read (an integer), else a 400."""
    if not isinstance(request.data, dict):
        raise ServiceError({"non_field_errors": [_("请求体应为 JSON 对象。")]})
    raw = request.data.get("version")
    missing = ServiceError({"version": [_("请提供读取时的版本号（version）。")]})
    if raw is None or isinstance(raw, bool | float):
        raise missing
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise missing from None


@accepts_uploads
class PlanDraftListView(APIView):
    """POST a plan document (pasted text or a .docx/.txt file) → 201 with the proposed plan."""

    serializer_class = PlanDraftCreateSerializer

    @extend_schema(request=PlanDraftCreateSerializer, responses={201: PlanDraftSerializer})
    def post(self, request: Request) -> Response:
        _require_admin(request)
        serializer = PlanDraftCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data.get("file")
        if upload is None and "text" not in data:
            raise ServiceError({"text": [_("请上传文档（file）或粘贴文字（text）。")]})
        draft = plan_drafts.create_draft(
            signed_in(request.user),
            text=data.get("text"),
            fileobj=upload,
            filename=upload.name if upload is not None else "",
            year=data.get("year"),
            title=data.get("title"),
            parent=data.get("parent") or None,
        )
        return Response(draft_data(draft), status=status.HTTP_201_CREATED)


@accepts_uploads
class PlanDraftDetailView(APIView):
    """GET one of the caller's drafts; PATCH it with the ``version`` read (stale → 409)."""

    serializer_class = PlanDraftSerializer

    @extend_schema(responses=PlanDraftSerializer)
    def get(self, request: Request, pk: int) -> Response:
        _require_admin(request)
        return Response(draft_data(plan_drafts.get_draft(signed_in(request.user), pk)))

    @extend_schema(request=PlanDraftPatchSerializer, responses=PlanDraftSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        _require_admin(request)
        draft = plan_drafts.get_draft(signed_in(request.user), pk)
        version = _version(request)
        upload = request.FILES.get("file")
        if upload is not None or "text" in request.data:
            text = request.data.get("text") if upload is None else None
            draft = plan_drafts.reimport(
                signed_in(request.user),
                draft,
                version=version,
                text=text,
                fileobj=upload,
                filename=getattr(upload, "name", ""),
            )
        else:
            changes = {name: value for name, value in request.data.items() if name != "version"}
            draft = plan_drafts.update_draft(signed_in(request.user), draft, changes, version=version)
        return Response(draft_data(draft))


class PlanDraftCommitView(APIView):
    """POST → 201 ``{plan}``: the plan with every accepted section, work item and target, or nothing."""

    serializer_class = CommitSerializer

    @extend_schema(request=CommitSerializer, responses={201: CommittedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        _require_admin(request)
        draft = plan_drafts.get_draft(signed_in(request.user), pk)
        if not isinstance(request.data, dict):
            raise ServiceError({"non_field_errors": [_("请求体应为 JSON 对象。")]})
        version = _version(request) if "version" in request.data else None
        plan = plan_drafts.commit_draft(signed_in(request.user), draft, version=version)
        return Response({"plan": plan.code}, status=status.HTTP_201_CREATED)
