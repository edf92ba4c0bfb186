"""A target's pages: the plan page with its targets and their status, a target's page with the drill-down
of the units below it, editing a target and its expected path (bureau staff), its live preview, and
progress notes (owners) with their review (bureau).

Every write goes through targets.targets_service; every read of progress through targets.queries. The
URLs stay where they were: the plan and target editing pages under /plans/ in the "plans" namespace
(targets/plan_urls.py), the target page under /reports/ as ``reports:target_detail`` (reports/urls.py).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from indicators.models import IndicatorValue
from plans.forms import PlanImportForm
from plans.models import Plan, Section, WorkItem
from plans.views import admin_plan
from portal import scope
from portal.db_router import use_replica
from portal.errors import ServiceError
from portal.media import protected_file
from portal.middleware import accepts_uploads
from portal.scope import Perm
from portal.views import ObjectListView
from portal.xlsx import XLSX_CONTENT_TYPE
from schools.models import OrgUnit
from submissions.models import Period
from targets import kind_fields, targets_service, workbook
from targets.filters import DrilldownFilterSet
from targets.forms import NoteForm, PathPointFormSet, ReviewForm, TargetForm
from targets.models import Progress, ProgressStatus, Target, TargetKind, TargetNote, TargetPathPoint
from targets.progress import ProgressPreview, milestone_window, preview
from targets.queries import (
    STATUS_LABELS,
    QuarterPoint,
    TargetRow,
    breadcrumb,
    chosen_period,
    drilldown_queryset,
    failing_summary,
    is_unit_level,
    last_year_rows,
    schools_carry,
    small_denominator_applies,
    status_rows,
    target_contributions,
)
from targets.tables import DrilldownTable, table_kwargs


def _apply_errors(form: Any, error: ServiceError) -> None:
    """Service errors shown next to their field (or at the top of the form)."""
    for name, messages_ in error.errors.items():
        for message in messages_:
            visible = name in form.fields and not form.fields[name].widget.is_hidden
            form.add_error(name if visible else None, message)


# --- The plan page ---


@login_required
@use_replica()  # the plan's progress page reads precomputed values: the read replica, when configured
def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The plan as written, each target under its section / work item with its current status.

    Queries (constant in the number of sections, items, targets and units): plan, sections, work items,
    targets in scope, current period, progress of those targets, last year's progress of the targets they
    were copied from, contributions from child plans and their progress.
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
    period = Period.objects.current(year=plan.year)
    status = status_rows(targets, period)
    last_year = last_year_rows(targets, period, {pk: row.actual for pk, row in status.items()})
    by_parent = target_contributions(request.user, targets, period)

    by_section: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for target in targets:
        entry = {
            "target": target, "progress": status.get(target.pk), "contributions": by_parent.get(target.pk, []),
            "last_year": last_year.get(target.pk),
        }  # fmt: skip
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
        "targets/plan_detail.html",
        {"plan": plan, "sections": sections, "period": period, "can_admin": can_admin, "target_count": len(targets)},
    )


# --- Targets (bureau staff) ---


@login_required
def target_edit(request: HttpRequest, code: str, target: str | None = None) -> HttpResponse:
    """Create or edit a target. "预览" re-renders with the current value and status without saving (no JS needed)."""
    plan = admin_plan(request, code)
    instance = None
    if target:
        instance = get_object_or_404(
            Target.objects.select_related("plan", "scope", "section", "indicator"), plan=plan, code=target
        )
        scope.require(request.user, Perm.ADMIN, instance.scope)
    initial: dict[str, Any] = {}
    if instance is None and request.method != "POST":
        # A new target is offered the next free code and the next place in the document (T07 after T06).
        code_, order = targets_service.next_code_and_order(plan)
        # The kind select shows the kind whose rows the form shows (``?kind=``, else the default, threshold).
        initial = {"code": code_, "order": order, "kind": kind_fields.kind_of(request.GET.get("kind"))}
        if request.GET.get("section"):
            initial["section"] = plan.sections.filter(code=request.GET["section"]).first()
    form = TargetForm(request.POST or None, instance=instance, plan=plan, user=request.user, initial=initial)
    preview_data = None
    if request.method == "POST":
        if "preview" in request.POST:
            try:
                preview_data = _form_preview(request, form, plan, instance)
            except ServiceError as error:  # shown next to its fields, with what the form has
                _apply_errors(form, error)
                preview_data = preview(form.candidate())
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
        "targets/target_form.html",
        {"form": form, "plan": plan, "target": instance, "preview": preview_data, "history": history},
    )


def _form_preview(request: HttpRequest, form: TargetForm, plan: Plan, instance: Target | None) -> ProgressPreview:
    """The preview of the target form's data (the 预览 button and the live JSON alike). A valid form goes through
    the target service exactly as saving does (``targets_service.preview_target``: the same checks and progress,
    nothing stored; raises its ``ServiceError``). A form still being filled in previews what it has
    (``TargetForm.candidate``)."""
    if form.is_valid():
        return targets_service.preview_target(request.user, plan, form.target_fields(), target=instance)
    return preview(form.candidate())


def _id_param(request: HttpRequest, name: str) -> int | None:
    """An optional numeric id from the query string; ServiceError (→ 400) when it is not a number."""
    raw = (request.GET.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ServiceError({name: [_("参数 %(name)s 应为数字编号。") % {"name": name}]})
    return int(raw)


@login_required
def target_preview(request: HttpRequest, code: str) -> JsonResponse:
    """JSON for static/js/plans.js: the preview of the target form's current values (``?target=CODE`` when
    editing one), built by the same ``TargetForm.candidate`` as the 预览 button from the same form data."""
    plan = admin_plan(request, code)
    try:
        for name in ("scope", "indicator"):
            _id_param(request, name)
    except ServiceError as error:
        return JsonResponse({"errors": error.errors}, status=400)
    instance = None
    if request.GET.get("target"):
        instance = get_object_or_404(Target.objects.select_related("plan", "scope"), plan=plan,
                                     code=request.GET["target"])  # fmt: skip
        scope.require(request.user, Perm.ADMIN, instance.scope)
    form = TargetForm(request.GET, instance=instance, plan=plan, user=request.user)
    try:
        return JsonResponse(_form_preview(request, form, plan, instance).to_json())
    except ServiceError as error:  # the service refuses what saving would refuse: its messages, and what the form has
        return JsonResponse({**preview(form.candidate()).to_json(), "errors": error.errors})


@login_required
def target_path(request: HttpRequest, code: str, target: str) -> HttpResponse:
    """Explicit quarterly expected values (used when the target's path is "按季度节点")."""
    plan = admin_plan(request, code)
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
    return render(request, "targets/target_path.html", {"plan": plan, "target": obj, "formset": formset, "rows": rows})


# --- The plan workbook (a plan with its targets; targets.workbook) ---


@login_required
def plan_export(request: HttpRequest, code: str) -> HttpResponse:
    plan = admin_plan(request, code)
    response = HttpResponse(workbook.export_plan(plan), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.code}.xlsx"'
    return response


@accepts_uploads
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
    return render(request, "targets/plan_import.html", {"form": form, "errors": errors})


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
        .select_related("plan", "owner_unit", "scope", "due_period")
        .annotate(note_count=Count("notes"))
        .order_by("plan__code", "order", "code")
    )
    progress = {}
    for year in {t.plan.year for t in targets}:
        progress.update(status_rows([t for t in targets if t.plan.year == year], Period.objects.current(year=year)))
    # A milestone's due day is its window's (the due date, else the end of its due month or due quarter).
    rows = [{"target": t, "progress": progress.get(t.pk), "due": milestone_window(t)[1]} for t in targets]
    return render(request, "targets/my_targets.html", {"rows": rows})


@accepts_uploads
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
                    reported_on=form.cleaned_data.get("reported_on"), evidence=form.cleaned_data.get("evidence"),
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
        "targets/target_notes.html",
        {
            "target": obj, "plan": obj.plan, "form": form, "notes": notes, "can_write": can_write,
            "can_review": scope.has_perm(request.user, Perm.ADMIN, obj.scope), "review_form": ReviewForm(),
        },
    )  # fmt: skip


@login_required
@require_GET
def note_evidence(request: HttpRequest, code: str, target: str, pk: int) -> HttpResponse:
    """A note's evidence file, to users who may see the target (404 otherwise, as for a missing file).

    Served by ``portal.media.protected_file`` (never a public file; an attachment; X-Accel-Redirect or streamed).
    """
    note = get_object_or_404(
        TargetNote.objects.select_related("target__scope", "target__owner_unit", "target__owner_user"),
        pk=pk,
        target__code=target,
        target__plan__code=code,
    )
    if not targets_service.can_write_notes(request.user, note.target):  # the owner, as on the notes page
        scope.get_in_scope(request.user, Target.objects.filter(pk=note.target_id), "scope")  # else 404 outside
    return protected_file(note.evidence)


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


# --- The target page with its drill-down ---


class TargetDetailView(ObjectListView):
    """A target's definition, quarterly history and the drill-down table of the units below.

    ``?unit=CODE`` picks the unit whose children are listed (a district → its 学区/schools), the
    breadcrumb goes back up to the target's scope; ``?rows=schools`` lists every school of the
    subtree instead (league table). CSV/XLSX export keeps the visible filters and ordering.
    """

    template_name = "targets/target_detail.html"
    table_class = DrilldownTable
    filterset_class = DrilldownFilterSet
    scope_field = ""

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.target: Target | None = None

    def _load(self) -> None:
        if self.target is not None:
            return
        request, user = self.request, self.request.user
        self.target = get_object_or_404(
            Target.objects.select_related(
                "plan", "section", "indicator", "scope", "owner_unit", "work_item", "contributes_to__plan"
            ),
            plan__code=self.kwargs["plan"],
            code=self.kwargs["code"],
        )
        code = request.GET.get("unit", "").strip()
        if code:
            unit = scope.get_in_scope(user, OrgUnit.objects.all(), code=code)
        elif scope.has_perm(user, scope.Perm.VIEW, self.target.scope):
            unit = self.target.scope
        else:
            # A principal or district reviewer opens a city target: start at their own unit.
            unit = scope.top_units(user).filter(path__startswith=self.target.scope.path).first()
        if unit is None or not unit.path.startswith(self.target.scope.path):
            raise Http404
        self.unit = unit
        self.periods = list(Period.objects.filter(year=self.target.plan.year).order_by("quarter"))
        self.period = chosen_period(request.GET.get("period", ""), self.periods, timezone.localdate())
        self.rows_mode = "schools" if request.GET.get("rows") == "schools" else "children"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        self._load()
        qs = drilldown_queryset(self.target, self.unit, self.period, self.rows_mode)
        return scope.filter_by_scope(self.request.user, qs)

    def get_table_kwargs(self) -> dict[str, Any]:
        params = {"period": self.period.code if self.period else ""}
        if self.rows_mode == "schools":
            params["rows"] = "schools"
        return {**table_kwargs(self.target, self.rows_mode), "link_params": params}

    def get_export_filename(self, export_format: str) -> str:
        return f"{self.target.plan.code}-{self.target.code}-{self.unit.code}.{export_format}"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        target, unit = self.target, self.unit
        progress = {
            p.period_id: p
            for p in Progress.objects.filter(target=target, org_unit=unit, period__in=self.periods).only(
                "period_id", "actual", "expected", "status", "detail", "computed_at"
            )
        }
        values = {}
        if target.indicator_id:
            values = {
                v.period_id: v
                for v in IndicatorValue.objects.filter(
                    indicator_id=target.indicator_id, org_unit=unit, period__in=self.periods
                ).only("period_id", "numerator", "denominator", "value", "unit_count")
            }
        trend = [
            QuarterPoint(
                p.code,
                f"Q{p.quarter}",
                progress[p.pk].actual if p.pk in progress else getattr(values.get(p.pk), "value", None),
                progress[p.pk].expected if p.pk in progress else None,
            )
            for p in self.periods
        ]
        current = progress.get(self.period.pk) if self.period else None
        row = TargetRow(
            target,
            current.actual if current else getattr(values.get(self.period.pk if self.period else 0), "value", None),
            current.expected if current else None,
            current.status if current else ProgressStatus.NO_DATA,
            trend,
            current.computed_at if current else None,
            evaluated=current is not None,
            assess_from=current.assess_from_code if current else "",
            reason=(current.typed_detail.reason or "") if current else "",
        )
        history = [
            {"point": point, "value": values.get(p.pk), "progress": progress.get(p.pk)}
            for point, p in zip(trend, self.periods, strict=True)
        ]
        params = {"period": self.period.code if self.period else "", "unit": unit.code}
        failing = failing_summary(current, self.request.user) if is_unit_level(target) else None
        context.update(
            {
                "title": target.text,
                "target": target,
                "indicator": target.indicator,
                "unit": unit,
                "row": row,
                "history": history,
                "periods": self.periods,
                "period": self.period,
                "rows_mode": self.rows_mode,
                "breadcrumb": breadcrumb(self.request.user, unit, top=target.scope),
                "failing": failing.units if failing else [],
                "failing_summary": failing,
                "unit_level": is_unit_level(target),
                "small_guard": small_denominator_applies(target.indicator),
                "small_threshold": settings.SMALL_DENOMINATOR_THRESHOLD,
                "params": params,
                "status_label": STATUS_LABELS.get(row.status, row.status),
                # Child-plan targets (district plans) that say they contribute to this one: the same
                # query as the plan page, the status of the page's quarter.
                "contributions": target_contributions(self.request.user, [target], self.period).get(target.pk, []),
                "schools_carry": self._schools_carry(values),
            }
        )
        return context

    def _schools_carry(self, values: dict[int, IndicatorValue]) -> bool:
        """False when the all-schools view lists a rate the schools do not carry (the page says why)."""
        if self.rows_mode != "schools" or self.period is None:
            return True
        own = values.get(self.period.pk)
        return schools_carry(self.target, own.value if own is not None else None, self.object_list)
