"""Portal pages of plan drafts: upload or paste a plan document, review the proposal beside the text, commit.

Plain forms (no JavaScript needed): every section, work item and target has an "accept" box and its fields;
buttons save, split or merge targets, re-import a revised document, or commit. Everything goes through
``targets.plan_drafts`` — the same functions as the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import scope
from portal.errors import ServiceError
from portal.middleware import accepts_uploads
from portal.scope import Perm, signed_in
from targets import plan_drafts
from targets.models import Comparator, Direction, DraftStatus, PlanDraft, TargetKind

LOW = plan_drafts.LOW_CONFIDENCE


class DocumentForm(forms.Form):
    """A document to read: an upload or pasted text (one of the two)."""

    file = forms.FileField(label=gettext_lazy("上传文档（.docx 或 .txt）"), required=False, allow_empty_file=True)
    text = forms.CharField(
        label=gettext_lazy("或粘贴文字"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    year = forms.IntegerField(label=gettext_lazy("年度"), required=False, min_value=2000, max_value=2100)
    title = forms.CharField(label=gettext_lazy("标题"), required=False, max_length=200)


def _require_admin(request: HttpRequest) -> None:
    if not scope.has_perm(request.user, Perm.ADMIN):
        raise PermissionDenied


def _read(request: HttpRequest, form: DocumentForm) -> dict[str, Any]:
    upload = form.cleaned_data.get("file")
    return {
        "text": None if upload is not None else form.cleaned_data.get("text") or "",
        "fileobj": upload,
        "filename": upload.name if upload is not None else "",
    }


@accepts_uploads
@login_required
def draft_create(request: HttpRequest) -> HttpResponse:
    """Upload or paste a plan document; a draft opens for review, or the reason it cannot be read is shown."""
    _require_admin(request)
    form = DocumentForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            draft = plan_drafts.create_draft(
                signed_in(request.user), year=form.cleaned_data.get("year"), title=form.cleaned_data.get("title"),
                **_read(request, form),
            )  # fmt: skip
        except ServiceError as exc:
            errors = [message for messages_ in exc.errors.values() for message in messages_]
        else:
            return redirect("plans:draft_review", pk=draft.pk)
    drafts = plan_drafts.drafts_for(signed_in(request.user)).filter(status=DraftStatus.DRAFT)[:20]
    return render(request, "targets/draft_create.html", {"form": form, "errors": errors, "drafts": drafts})


def _bool(post: Any, name: str) -> bool:
    return post.get(name) in ("on", "1", "true")


def _edits(post: Any, draft: PlanDraft) -> dict[str, Any]:
    """The page's fields as an ``update_draft`` change (rows are numbered as in the stored draft)."""
    data = draft.data
    changes: dict[str, Any] = {
        "title": post.get("title", data.get("title", "")),
        "code": post.get("code", data.get("code", "")).strip(),
        "parent": post.get("parent", "").strip() or None,
        "guiding_ideas": post.get("guiding_ideas", data.get("guiding_ideas", "")),
    }
    year = str(post.get("year", data.get("year"))).strip()
    changes["year"] = int(year) if year.isdigit() and len(year) < 6 else year  # not a number: refused as such
    changes["sections"] = {
        str(i): {"accepted": _bool(post, f"s-{i}-accepted"), "title": post.get(f"s-{i}-title", row.get("title"))}
        for i, row in enumerate(data.get("sections") or [])
    }
    changes["work_items"] = {
        str(i): {"accepted": _bool(post, f"w-{i}-accepted"), "title": post.get(f"w-{i}-title", row.get("title"))}
        for i, row in enumerate(data.get("work_items") or [])
    }
    targets: dict[str, Any] = {}
    for i, row in enumerate(data.get("targets") or []):
        edit: dict[str, Any] = {
            "accepted": _bool(post, f"t-{i}-accepted"),
            "applies_to_each_unit": _bool(post, f"t-{i}-each"),
        }
        for key in (
            "text", "kind", "comparator", "direction", "target_value", "target_value_max", "unit", "contributes_to",
        ):  # fmt: skip
            if f"t-{i}-{key}" in post:
                value = post.get(f"t-{i}-{key}").strip()
                edit[key] = value or (None if key in ("target_value", "target_value_max", "contributes_to") else "")
        targets[str(i)] = {key: value for key, value in edit.items() if value != row.get(key)}
    changes["targets"] = {key: value for key, value in targets.items() if value}
    return changes


def _row_errors(errors: dict[str, list[str]]) -> tuple[dict[str, dict[int, list[str]]], list[str]]:
    """Errors by item path → per list and row (for the rows), and the rest (for the plan)."""
    rows: dict[str, dict[int, list[str]]] = {"sections": {}, "work_items": {}, "targets": {}}
    general: list[str] = []
    for key, messages_ in errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] in rows and parts[1].isdigit():
            rows[parts[0]].setdefault(int(parts[1]), []).extend(messages_)
        else:
            general.extend(messages_)
    return rows, general


def _segments(text: str, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The document text cut at the proposed targets' spans, so each can be marked and linked (as data)."""
    spans = sorted(
        (row["span"][0], row["span"][1], index)
        for index, row in enumerate(targets)
        if isinstance(row.get("span"), list) and len(row["span"]) == 2
    )
    segments: list[dict[str, Any]] = []
    position = 0
    for start, end, index in spans:
        if start < position or end <= start or end > len(text):
            continue  # overlapping (a sub-target inside its parent) or stale: left unmarked
        if start > position:
            segments.append({"text": text[position:start], "index": None})
        segments.append({"text": text[start:end], "index": index})
        position = end
    segments.append({"text": text[position:], "index": None})
    return segments


@accepts_uploads
@login_required
def draft_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The document on one side, the proposed plan on the other; save, split, merge, re-import, commit."""
    _require_admin(request)
    draft = plan_drafts.get_draft(signed_in(request.user), pk)
    errors: dict[str, list[str]] = {}
    reimport_form = DocumentForm()
    if request.method == "POST" and draft.status == DraftStatus.DRAFT:
        action = request.POST.get("action", "save")
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = -1
        try:
            if action == "reimport":
                reimport_form = DocumentForm(request.POST, request.FILES)
                if reimport_form.is_valid():
                    plan_drafts.reimport(
                        signed_in(request.user), draft, version=version, **_read(request, reimport_form)
                    )
                    messages.success(request, _("已按修订后的文档重新生成草稿。"))
                    return redirect("plans:draft_review", pk=draft.pk)
            else:
                draft = plan_drafts.update_draft(
                    signed_in(request.user), draft, _edits(request.POST, draft), version=version
                )
                version = draft.version
                if action.startswith("split-") and action[6:].isdigit():
                    plan_drafts.split_target(signed_in(request.user), draft, int(action[6:]), version=version)
                elif action == "merge":
                    chosen = [int(i) for i in request.POST.getlist("merge") if i.isdigit()]
                    plan_drafts.merge_targets(signed_in(request.user), draft, chosen, version=version)
                elif action == "commit":
                    plan = plan_drafts.commit_draft(signed_in(request.user), draft, version=version)
                    messages.success(request, _("已生成工作要点“%(title)s”。") % {"title": plan.title})
                    return redirect(plan)
                else:
                    messages.success(request, _("已保存。"))
                return redirect(reverse("plans:draft_review", kwargs={"pk": draft.pk}))
        except ServiceError as exc:
            errors = exc.errors
            draft.refresh_from_db()
    row_errors, general = _row_errors(errors)
    data = draft.data
    targets_by_item: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for index, row in enumerate(data.get("targets") or []):
        entry = {
            "index": index,
            "row": row,
            "errors": row_errors["targets"].get(index, []),
            "low": (row.get("confidence") or 0) < LOW,
        }
        targets_by_item.setdefault((row.get("section"), row.get("work_item")), []).append(entry)
    sections = []
    for index, section in enumerate(data.get("sections") or []):
        code = section.get("code")
        items = [
            {"index": i, "row": item, "errors": row_errors["work_items"].get(i, []),
             "targets": targets_by_item.get((code, item.get("number")), [])}
            for i, item in enumerate(data.get("work_items") or [])
            if item.get("section") == code
        ]  # fmt: skip
        sections.append(
            {"index": index, "row": section, "errors": row_errors["sections"].get(index, []),
             "targets": targets_by_item.get((code, None), []), "items": items}
        )  # fmt: skip
    shown = {entry["index"] for block in sections for entry in block["targets"]}
    shown |= {entry["index"] for block in sections for item in block["items"] for entry in item["targets"]}
    others = [entry for entries in targets_by_item.values() for entry in entries if entry["index"] not in shown]
    context = {
        "draft": draft,
        "segments": _segments(data.get("document_text") or draft.source_text, data.get("targets") or []),
        "others": others,
        "data": data,
        "sections": sections,
        "general_errors": general,
        "has_errors": bool(errors),
        "kinds": TargetKind.choices,
        "comparators": [("", "—"), *Comparator.choices],
        "directions": Direction.choices,
        "reimport_form": reimport_form,
        "editable": draft.status == DraftStatus.DRAFT,
    }
    return render(request, "targets/draft_review.html", context)
