"""Report pages: plan dashboard, unit page, workbook export and its job page (a target's own page with its
drill-down is targets.views.TargetDetailView, routed here as ``reports:target_detail``).

Every page reads precomputed rows (IndicatorValue, Progress) through ``reports.queries`` and asks
``portal.scope`` which units the user may see: a unit outside the scope is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count, Exists, OuterRef, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from indicators.models import IndicatorValue
from plans.models import Plan
from portal import scope
from portal.db_router import use_replica
from portal.xlsx import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from reports import dispatch, drilldown, equity, exports
from reports.models import BulletinStep, ExportKind, ExportStatus
from reports.queries import concerns_unit, plan_dashboard, school_checks
from schools.models import Designation, Level, OrgUnit, ancestor_paths
from schools.unit_search import nearby_units, search_units
from submissions.models import Period, Submission
from targets.models import Progress, Target
from targets.progress_detail import before_assessment_q, contribution_q
from targets.queries import STATUS_LABELS, STATUS_ORDER, breadcrumb, chosen_period
from targets.views import TargetDetailView

SCOPE_LEVELS = (Level.BUREAU, Level.DISTRICT, Level.TOWNSHIP)


def _unit_from_request(request: HttpRequest, param: str) -> OrgUnit:
    """The unit named in ``?<param>=CODE`` (404 outside scope), else the root of the user's scope."""
    code = request.GET.get(param, "").strip()
    if code:
        return scope.get_in_scope(request.user, OrgUnit.objects.all(), code=code)
    unit = scope.top_units(request.user).first()
    if unit is None:
        raise PermissionDenied
    return unit


# --- Dashboard ---


@login_required
@use_replica()  # a read-only page of precomputed values: the read replica, when configured
def dashboard(request: HttpRequest) -> HttpResponse:
    """The plan dashboard (queries: memberships, plans, unit, periods, sections, the 3 of
    plan_dashboard, scope choices, breadcrumb — 10 whatever the number of units; 11 for a plan copied from
    last year's, whose targets are compared with last year's)."""
    plans = list(Plan.objects.order_by("-year", "code").only("code", "title", "year"))
    if not plans:
        return render(request, "reports/dashboard.html", {"plans": []})
    code = request.GET.get("plan", "")
    plan = next((p for p in plans if p.code == code), None) if code else plans[0]
    if plan is None:
        raise Http404
    unit = _unit_from_request(request, "scope")
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    period = chosen_period(request.GET.get("period", ""), periods, timezone.localdate())
    filters = {key: request.GET.get(key, "").strip() for key in ("section", "status", "owner")}
    dash = plan_dashboard(plan, unit, period, periods, **filters)
    params = {"plan": plan.code, "scope": unit.code, "period": period.code if period else ""}
    context = {
        "plans": plans,
        "plan": plan,
        "dash": dash,
        "unit": unit,
        "period": period,
        "periods": periods,
        "filters": filters,
        "sections": list(plan.sections.order_by("order", "pk")),
        "statuses": [(status, STATUS_LABELS[status]) for status in STATUS_ORDER],
        # Bounded (issue 17): the scope, its ancestors and some children; static/js/unit-picker.js searches.
        "scope_choices": nearby_units(request.user, unit, levels=SCOPE_LEVELS),
        "breadcrumb": breadcrumb(request.user, unit),
        "can_export": scope.has_perm(request.user, scope.Perm.EXPORT, unit),
        "export_url": f"{reverse('reports:plan_export')}?{urlencode(params)}",
        "bulletin_url": reverse("reports:bulletin"),
        "completeness_url": f"{reverse('submissions:completeness')}?"
        + urlencode({"period": params["period"], "unit": unit.code}),
    }
    # Without JavaScript the picker's search is a form: ``scope_q`` lists matching units (at most
    # SEARCH_LIMIT, in the user's scope) as links that set the scope. One more query, only when searching.
    scope_query = request.GET.get("scope_q", "").strip()[:100]
    if scope_query:
        context["scope_query"] = scope_query
        context["scope_results"] = list(search_units(request.user, scope_query, levels=SCOPE_LEVELS))
    return render(request, "reports/dashboard.html", context)


# --- Unit page ---


@login_required
@use_replica()
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A school's or district's page: submissions by quarter, designations, targets covering it.

    Queries (constant): memberships, unit, breadcrumb, periods, submissions (own), submission
    counts of the subtree (non-school units), designations, covering targets with the unit's value;
    a school's page adds the per-unit targets' progress rows above it (``school_checks``, one query).
    """
    user = request.user
    unit = scope.get_in_scope(user, OrgUnit.objects.all(), code=code)
    periods = list(Period.objects.order_by("year", "quarter"))
    period = chosen_period(request.GET.get("period", ""), periods, timezone.localdate())
    own_submissions = list(
        Submission.objects.filter(org_unit=unit).select_related("period").order_by("-period__year", "-period__quarter")
    )
    subtree_counts: list[dict[str, Any]] = []
    if unit.level != Level.SCHOOL:
        rows: dict[str, dict[str, Any]] = {}
        for item in (
            Submission.objects.filter(org_unit__path__startswith=unit.path, org_unit__level=Level.SCHOOL)
            .values("period__code", "status")
            .annotate(n=Count("pk"))
            .order_by("-period__code")
        ):
            row = rows.setdefault(item["period__code"], {"period": item["period__code"], "total": 0})
            row[item["status"]] = item["n"]
            row["total"] += item["n"]
        subtree_counts = list(rows.values())
    designations = list(
        Designation.objects.filter(org_unit__path__startswith=unit.path)
        .select_related("org_unit", "kind")
        .order_by("-granted_on", "pk")[:200]
    )
    period_id = period.pk if period else None
    value_at_unit = IndicatorValue.objects.filter(
        indicator_id=OuterRef("indicator_id"), org_unit=unit, period_id=period_id
    )
    progress_at_unit = Progress.objects.filter(target=OuterRef("pk"), org_unit=unit, period_id=period_id)
    targets = list(
        Target.objects.filter(scope__path__in=ancestor_paths(unit.path))
        .select_related("plan", "section", "indicator", "scope", "assess_from")
        .annotate(
            unit_value=Subquery(value_at_unit.values("value")[:1]),
            unit_numerator=Subquery(value_at_unit.values("numerator")[:1]),
            unit_denominator=Subquery(value_at_unit.values("denominator")[:1]),
            unit_carried=Subquery(value_at_unit.values("carried_units")[:1]),
            unit_status=Subquery(progress_at_unit.values("status")[:1]),
            # A share of a scope-wide quantity or count: a value, but no status of its own.
            unit_contribution=Exists(progress_at_unit.filter(contribution_q())),
            unit_before_assessment=Exists(progress_at_unit.filter(before_assessment_q())),
        )
        .order_by("-plan__year", "plan__code", "section__order", "order", "code", "pk")
    )
    # A school sees the targets that concern it, and its own result where a target checks every school.
    targets = [t for t in targets if concerns_unit(t, unit)]
    checks = school_checks(targets, unit, period)
    for target in targets:
        target.school_check = checks.get(target.pk)
    context = {
        "unit": unit,
        "is_school": unit.level == Level.SCHOOL,
        "breadcrumb": breadcrumb(user, unit),
        "periods": periods,
        "period": period,
        "own_submissions": own_submissions,
        "subtree_counts": subtree_counts,
        "designations": designations,
        "targets": targets,
        "status_labels": STATUS_LABELS,
        "submission_statuses": Submission._meta.get_field("status").choices,
    }
    return render(request, "reports/unit_detail.html", context)


# --- Equity view (校际差异系数) ---


@login_required
@use_replica()
def unit_equity(request: HttpRequest, code: str) -> HttpResponse:
    """A county's (or any non-school unit's) 校际差异系数 for primary and junior schools against the national
    thresholds, with the schools furthest from the mean (``reports/equity.py``).

    Queries (constant): memberships, unit, breadcrumb, periods, cv indicators, stage sums, furthest schools.
    """
    user = request.user
    unit = scope.get_in_scope(user, OrgUnit.objects.all(), code=code)
    if unit.level == Level.SCHOOL:
        raise Http404
    periods = list(Period.objects.order_by("year", "quarter"))
    period = chosen_period(request.GET.get("period", ""), periods, timezone.localdate())
    context = {
        "unit": unit,
        "breadcrumb": breadcrumb(user, unit),
        "periods": periods,
        "period": period,
        "rows": equity.equity_rows(unit, period),
        "thresholds": equity.THRESHOLDS,
    }
    return render(request, "reports/unit_equity.html", context)


# --- A target's page: its drill-down export goes through the export dispatcher ---


class TargetDetailPage(TargetDetailView):
    """The target page (``targets.views``) whose CSV/XLSX export is ``dispatch.request_drilldown_export``:
    written in the request when small, else an export job whose page the user is sent to."""

    def create_export(self, export_format: str) -> HttpResponse:
        if export_format not in drilldown.FORMATS:
            raise Http404
        params = drilldown.kept_params(self.request.GET)
        result = dispatch.request_drilldown_export(
            self.request.user, self.target, self.unit, self.period, params, export_format
        )
        if result.job is not None:
            return redirect(result.job.get_absolute_url())
        content_type = XLSX_CONTENT_TYPE if export_format == "xlsx" else CSV_CONTENT_TYPE
        response = HttpResponse(result.content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        return response


# --- Workbook export ---


@login_required
def plan_export(request: HttpRequest) -> HttpResponse:
    """Download the plan workbook for a scope: streamed when small, else a job page to wait on."""
    plan = get_object_or_404(Plan, code=request.GET.get("plan", ""))
    unit = _unit_from_request(request, "scope")
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    period = chosen_period(request.GET.get("period", ""), periods, timezone.localdate())
    result = dispatch.request_export(request.user, plan, unit, period)
    if result.job is not None:
        return redirect(result.job.get_absolute_url())
    response = HttpResponse(result.content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


@login_required
@require_POST
def bulletin(request: HttpRequest) -> HttpResponse:
    """Ask for the quarterly bulletin (进展通报) of a plan for a scope and quarter: a job page to wait on."""
    plan = get_object_or_404(Plan, code=request.POST.get("plan", ""))
    code = request.POST.get("scope", "").strip()
    if code:
        unit = scope.get_in_scope(request.user, OrgUnit.objects.all(), code=code)
    else:
        unit = _unit_from_request(request, "scope")
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    period = chosen_period(request.POST.get("period", ""), periods, timezone.localdate())
    job = dispatch.request_bulletin(request.user, plan, unit, period)
    return redirect(job.get_absolute_url())


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(exports.visible_jobs(request.user), pk=pk)
    context = {"job": job, "ExportStatus": ExportStatus, "ExportKind": ExportKind, "steps": BulletinStep.choices}
    return render(request, "reports/exportjob_detail.html", context)


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A finished job's file; ``?file=pdf``: a bulletin's PDF."""
    job = get_object_or_404(exports.visible_jobs(request.user), pk=pk)
    stored = job.pdf_file if request.GET.get("file") == "pdf" else job.file
    if job.status != ExportStatus.DONE or not stored:
        raise Http404(_("文件不存在或已过期。"))
    filename = exports.job_filename(job)
    if stored is job.pdf_file:
        filename = filename.removesuffix(".docx") + ".pdf"
    return FileResponse(default_storage.open(stored.name, "rb"), as_attachment=True, filename=filename)
