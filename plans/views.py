"""Plan pages: list, detail with targets and status, editing for bureau staff, progress notes for owners."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Prefetch, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from indicators.models import Indicator
from plans.forms import (
    NoteForm,
    PathPointFormSet,
    PlanForm,
    PlanImportForm,
    ReviewForm,
    SectionForm,
    TargetForm,
    WorkItemForm,
)
from plans.models import Plan, Section, WorkItem
from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from portal.tables import BaseTable
from portal.views import ObjectListView
from portal.xlsx import XLSX_CONTENT_TYPE
from reports.queries import target_contributions
from submissions.models import Period
from targets import targets_service, workbook
from targets.models import Comparator, Progress, Target, TargetKind, TargetNote, TargetPathPoint
from targets.progress import current_period, preview

# --- List and detail ---


class PlanTable(BaseTable):
    title = tables.Column(linkify=True)
    section_count = tables.Column(verbose_name=gettext_lazy("部分数"))

    class Meta(BaseTable.Meta):
        model = Plan
        fields = ("code", "title", "year", "owner_unit", "parent", "status", "section_count")


class PlanListView(ObjectListView):
    # Plans are public to every signed-in user of the bureau; targets inside are scoped.
    queryset = Plan.objects.select_related("owner_unit", "parent").annotate(section_count=Count("sections"))
    model = Plan
    table_class = PlanTable
    filterset_fields = ["year", "status"]
    scope_field = None
    export_name = "plans"
    title = gettext_lazy("工作要点")
    template_name = "plans/plan_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_admin"] = scope.has_perm(self.request.user, Perm.ADMIN)
        return context


def _apply_errors(form: Any, error: ServiceError) -> None:
    """Service errors shown next to their field (or at the top of the form)."""
    for name, messages_ in error.errors.items():
        for message in messages_:
            visible = name in form.fields and not form.fields[name].widget.is_hidden
            form.add_error(name if visible else None, message)


def _status_rows(targets: list[Target], period: Period | None) -> dict[int, Progress]:
    """Progress of each target at its own scope unit for one period: one query."""
    if period is None or not targets:
        return {}
    rows = Progress.objects.filter(
        target_id__in=[t.pk for t in targets], period=period, org_unit_id=F("target__scope_id")
    )
    return {row.target_id: row for row in rows}


@login_required
def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The plan as written, each target under its section / work item with its current status.

    Queries (constant in the number of sections, items, targets and units): plan, sections, work items,
    targets in scope, current period, progress of those targets, contributions from child plans and
    their progress.
    """
    plan = get_object_or_404(
        Plan.objects.select_related("owner_unit", "parent").prefetch_related(
            Prefetch(
                "sections",
                queryset=Section.objects.order_by("order", "pk").prefetch_related(
                    Prefetch("work_items", queryset=WorkItem.objects.order_by("number"))
                ),
            )
        ),
        code=code,
    )
    targets = list(
        scope.filter_by_scope(request.user, Target.objects.filter(plan=plan), "scope")
        .select_related("indicator", "scope", "owner_unit", "part_of", "contributes_to__plan")
        .order_by("order", "code", "pk")
    )
    period = current_period(plan.year)
    status = _status_rows(targets, period)
    by_parent = target_contributions(request.user, targets, period)

    by_section: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for target in targets:
        entry = {"target": target, "progress": status.get(target.pk), "contributions": by_parent.get(target.pk, [])}
        (by_item[target.work_item_id] if target.work_item_id else by_section[target.section_id]).append(entry)
    sections = [
        {
            "section": section,
            "targets": by_section.get(section.pk, []),
            "items": [{"item": item, "targets": by_item.get(item.pk, [])} for item in section.work_items.all()],
        }
        for section in plan.sections.all()
    ]
    can_admin = scope.has_perm(request.user, Perm.ADMIN, plan.owner_unit)
    return render(
        request,
        "plans/plan_detail.html",
        {"plan": plan, "sections": sections, "period": period, "can_admin": can_admin, "target_count": len(targets)},
    )


# --- Plans, sections, work items (bureau staff) ---


def _admin_plan(request: HttpRequest, code: str) -> Plan:
    plan = get_object_or_404(Plan.objects.select_related("owner_unit", "parent"), code=code)
    scope.require(request.user, Perm.ADMIN, plan.owner_unit)
    return plan


@login_required
def plan_create(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    form = PlanForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        scope.require(request.user, Perm.ADMIN, form.cleaned_data["owner_unit"])
        plan = form.save()
        messages.success(request, _("已创建工作要点。"))
        return redirect(plan)
    return render(request, "plans/plan_form.html", {"form": form, "title": _("新建工作要点")})


@login_required
def plan_update(request: HttpRequest, code: str) -> HttpResponse:
    plan = _admin_plan(request, code)
    form = PlanForm(request.POST or None, instance=plan, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存。"))
        return redirect(plan)
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "title": _("编辑工作要点")})


@login_required
def section_edit(request: HttpRequest, code: str, section: str | None = None) -> HttpResponse:
    plan = _admin_plan(request, code)
    instance = get_object_or_404(Section, plan=plan, code=section) if section else Section(plan=plan)
    form = SectionForm(request.POST or None, instance=instance, plan=plan)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存。"))
        return redirect(plan)
    title = _("编辑部分") if section else _("新增部分")
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "title": title})


@login_required
def workitem_edit(request: HttpRequest, code: str, pk: int | None = None) -> HttpResponse:
    plan = _admin_plan(request, code)
    instance = get_object_or_404(WorkItem, section__plan=plan, pk=pk) if pk else WorkItem()
    form = WorkItemForm(request.POST or None, instance=instance, plan=plan)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存。"))
        return redirect(plan)
    title = _("编辑工作任务") if pk else _("新增工作任务")
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "title": title})


# --- Targets (bureau staff) ---


def _preview_target(plan: Plan, form: TargetForm) -> dict[str, Any] | None:
    """Preview of the bound form's values (no save); None when the form is not usable yet."""
    if not form.is_valid():
        return None
    candidate = Target(plan=plan, **form.target_fields())
    if form.instance.pk:
        candidate.pk = form.instance.pk
    return preview(candidate)


@login_required
def target_edit(request: HttpRequest, code: str, target: str | None = None) -> HttpResponse:
    """Create or edit a target. "预览" re-renders with the current value and status without saving (no JS needed)."""
    plan = _admin_plan(request, code)
    instance = None
    if target:
        instance = get_object_or_404(
            Target.objects.select_related("plan", "scope", "section", "indicator"), plan=plan, code=target
        )
        scope.require(request.user, Perm.ADMIN, instance.scope)
    form = TargetForm(request.POST or None, instance=instance, plan=plan, user=request.user)
    preview_data = None
    if request.method == "POST":
        if "preview" in request.POST:
            preview_data = _preview_target(plan, form)
        elif form.is_valid():
            try:
                if instance is None:
                    saved = targets_service.create_target(request.user, plan, form.target_fields())
                else:
                    # A ModelForm writes the cleaned values onto its instance: compare against a fresh copy.
                    current = Target.objects.select_related("plan", "scope", "section").get(pk=instance.pk)
                    saved = targets_service.update_target(
                        request.user, current, form.target_fields(),
                        version=form.cleaned_data.get("version") or 0, reason=form.cleaned_data.get("reason", ""),
                    )  # fmt: skip
            except ServiceError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("目标已保存。"))
                return redirect("plans:target_update", code=plan.code, target=saved.code)
    elif instance is not None:
        preview_data = preview(instance)
    history = instance.changes.select_related("user").order_by("-created_at", "-pk")[:50] if instance else []
    return render(
        request,
        "plans/target_form.html",
        {"form": form, "plan": plan, "target": instance, "preview": preview_data, "history": history},
    )


def _decimal_param(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


@login_required
def target_preview(request: HttpRequest, code: str) -> JsonResponse:
    """JSON for static/js/plans.js: the current value and status for the chosen indicator and comparator."""
    plan = _admin_plan(request, code)
    params = request.GET
    unit = None
    if params.get("scope"):
        unit = scope.visible_units(request.user).filter(pk=params["scope"]).first()
    candidate = Target(
        plan=plan,
        kind=params.get("kind") if params.get("kind") in TargetKind.values else TargetKind.THRESHOLD,
        indicator=Indicator.objects.filter(pk=params.get("indicator") or None).first(),
        comparator=params.get("comparator") if params.get("comparator") in Comparator.values else "",
        target_value=_decimal_param(params.get("target_value")),
        target_value_max=_decimal_param(params.get("target_value_max")),
        scope=unit or plan.owner_unit,
        path_mode="flat",
    )
    if candidate.target_value_max is not None and candidate.comparator != Comparator.RANGE:
        candidate.target_value_max = None
    return JsonResponse(preview(candidate))


@login_required
def target_path(request: HttpRequest, code: str, target: str) -> HttpResponse:
    """Explicit quarterly expected values (used when the target's path is "按季度节点")."""
    plan = _admin_plan(request, code)
    obj = get_object_or_404(Target.objects.select_related("plan", "scope"), plan=plan, code=target)
    scope.require(request.user, Perm.ADMIN, obj.scope)
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    current = {p.period_id: p.expected_value for p in TargetPathPoint.objects.filter(target=obj)}
    initial = [{"period": p, "expected_value": current.get(p.pk)} for p in periods]
    formset = PathPointFormSet(request.POST or None, initial=initial)
    if request.method == "POST" and formset.is_valid():
        points = {f.cleaned_data["period"]: f.cleaned_data.get("expected_value") for f in formset.forms}
        targets_service.set_path_points(request.user, obj, points)
        messages.success(request, _("预期路径已保存。"))
        return redirect("plans:target_update", code=plan.code, target=obj.code)
    rows = list(zip(periods, formset.forms, strict=True)) if len(periods) == len(formset.forms) else []
    return render(request, "plans/target_path.html", {"plan": plan, "target": obj, "formset": formset, "rows": rows})


# --- Workbook ---


@login_required
def plan_export(request: HttpRequest, code: str) -> HttpResponse:
    plan = _admin_plan(request, code)
    response = HttpResponse(workbook.export_plan(plan), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.code}.xlsx"'
    return response


@login_required
def plan_import(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    form = PlanImportForm(request.POST or None, request.FILES or None)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            plan = workbook.import_plan(request.user, form.cleaned_data["file"])
        except ServiceError as error:
            errors = error.errors
        else:
            messages.success(request, _("已导入工作要点“%(title)s”。") % {"title": plan.title})
            return redirect(plan)
    return render(request, "plans/plan_import.html", {"form": form, "errors": errors})


# --- Progress notes (owners) and review (bureau) ---


@login_required
def my_targets(request: HttpRequest) -> HttpResponse:
    """Milestones and narratives the user owns (in person, or as a principal of the owner unit).

    Queries: memberships (scope cache), targets with plan/scope, current periods, their progress.
    """
    owned_units = scope.scope_q(request.user, "owner_unit", Perm.SUBMIT)
    targets = list(
        Target.objects.filter(kind__in=[TargetKind.MILESTONE, TargetKind.NARRATIVE])
        .filter(Q(owner_user=request.user) | (Q(owner_unit__isnull=False) & owned_units))
        .select_related("plan", "owner_unit", "scope")
        .annotate(note_count=Count("notes"))
        .order_by("plan__code", "order", "code")
    )
    progress = {}
    for year in {t.plan.year for t in targets}:
        progress.update(_status_rows([t for t in targets if t.plan.year == year], current_period(year)))
    rows = [{"target": t, "progress": progress.get(t.pk)} for t in targets]
    return render(request, "plans/my_targets.html", {"rows": rows})


@login_required
def target_notes(request: HttpRequest, code: str, target: str) -> HttpResponse:
    obj = get_object_or_404(
        Target.objects.select_related("plan", "scope", "owner_unit", "owner_user"), plan__code=code, code=target
    )
    if not targets_service.can_write_notes(request.user, obj):
        obj = scope.get_in_scope(request.user, Target.objects.filter(pk=obj.pk).select_related("plan", "scope"),
                                 "scope")  # fmt: skip
    can_write = targets_service.can_write_notes(request.user, obj)
    form = NoteForm(request.POST or None, request.FILES or None, target=obj)
    if request.method == "POST":
        if not can_write:
            scope.require(request.user, Perm.ADMIN, obj.scope)
        if form.is_valid():
            try:
                targets_service.add_note(
                    request.user, obj, text=form.cleaned_data["text"], period=form.cleaned_data.get("period"),
                    evidence=form.cleaned_data.get("evidence"),
                    milestone_status=form.cleaned_data.get("milestone_status") or None,
                )  # fmt: skip
            except ServiceError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("进展已记录。"))
                return redirect("plans:target_notes", code=obj.plan.code, target=obj.code)
    notes = obj.notes.select_related("author", "reviewed_by", "period").order_by("-created_at", "-pk")
    return render(
        request,
        "plans/target_notes.html",
        {
            "target": obj, "plan": obj.plan, "form": form, "notes": notes, "can_write": can_write,
            "can_review": scope.has_perm(request.user, Perm.ADMIN, obj.scope), "review_form": ReviewForm(),
        },
    )  # fmt: skip


@login_required
@require_POST
def note_review(request: HttpRequest, code: str, target: str, pk: int) -> HttpResponse:
    note = get_object_or_404(
        TargetNote.objects.select_related("target__scope", "target__plan"),
        pk=pk, target__code=target, target__plan__code=code,
    )  # fmt: skip
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            targets_service.review_note(
                request.user,
                note,
                accept=form.cleaned_data["decision"] == "accept",
                comment=form.cleaned_data["comment"],
            )
        except ServiceError as error:
            for messages_ in error.errors.values():
                for message in messages_:
                    messages.error(request, message)
        else:
            messages.success(request, _("审阅意见已保存。"))
    return redirect("plans:target_notes", code=code, target=target)
