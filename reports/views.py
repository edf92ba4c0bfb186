"""Report pages: plan dashboard, target drill-down, unit page, workbook export and its job page.

Every page reads precomputed rows (IndicatorValue, Progress) through ``reports.queries`` and asks
``portal.scope`` which units the user may see: a unit outside the scope is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
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

from indicators.models import IndicatorValue
from plans.models import Plan
from portal import scope
from portal.views import ObjectListView
from portal.xlsx import XLSX_CONTENT_TYPE
from reports import dispatch, exports
from reports.filters import DrilldownFilterSet
from reports.models import ExportStatus
from reports.queries import (
    STATUS_LABELS,
    STATUS_ORDER,
    QuarterPoint,
    TargetRow,
    default_period,
    drilldown_queryset,
    failing_summary,
    is_unit_level,
    plan_dashboard,
    small_denominator_applies,
    target_contributions,
)
from reports.tables import DrilldownTable
from schools.models import Designation, Level, OrgUnit, ancestor_paths
from submissions.models import Period, Submission
from targets.models import BEFORE_ASSESSMENT, Progress, ProgressStatus, Target

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


def _period(request: HttpRequest, periods: list[Period]) -> Period | None:
    code = request.GET.get("period", "").strip()
    for period in periods:
        if period.code == code:
            return period
    return default_period(periods, timezone.localdate())


def _breadcrumb(user: Any, unit: OrgUnit, top: OrgUnit | None = None) -> list[OrgUnit]:
    """Ancestors of ``unit`` the user may see (from ``top`` down when given), the unit last."""
    ancestors = scope.filter_by_scope(user, OrgUnit.objects.ancestors_of(unit))
    if top is not None:
        ancestors = ancestors.filter(path__startswith=top.path)
    return list(ancestors.only("code", "name", "path", "depth", "level"))


# --- Dashboard ---


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The plan dashboard (queries: memberships, plans, unit, periods, sections, the 3 of
    plan_dashboard, scope choices, breadcrumb — 10 whatever the number of units)."""
    plans = list(Plan.objects.order_by("-year", "code").only("code", "title", "year"))
    if not plans:
        return render(request, "reports/dashboard.html", {"plans": []})
    code = request.GET.get("plan", "")
    plan = next((p for p in plans if p.code == code), None) if code else plans[0]
    if plan is None:
        raise Http404
    unit = _unit_from_request(request, "scope")
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    period = _period(request, periods)
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
        "scope_choices": list(
            scope.visible_units(request.user)
            .filter(level__in=SCOPE_LEVELS)
            .only("code", "name", "depth", "path")
            .order_by("path")
        ),
        "breadcrumb": _breadcrumb(request.user, unit),
        "can_export": scope.has_perm(request.user, scope.Perm.EXPORT, unit),
        "export_url": f"{reverse('reports:plan_export')}?{urlencode(params)}",
        "completeness_url": f"{reverse('submissions:completeness')}?"
        + urlencode({"period": params["period"], "unit": unit.code}),
    }
    return render(request, "reports/dashboard.html", context)


# --- Target page with drill-down ---


class TargetDetailView(ObjectListView):
    """A target's definition, quarterly history and the drill-down table of the units below.

    ``?unit=CODE`` picks the unit whose children are listed (a district → its 学区/schools), the
    breadcrumb goes back up to the target's scope; ``?rows=schools`` lists every school of the
    subtree instead (league table). CSV/XLSX export keeps the visible filters and ordering.
    """

    template_name = "reports/target_detail.html"
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
        self.period = _period(request, self.periods)
        self.rows_mode = "schools" if request.GET.get("rows") == "schools" else "children"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._load()
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        self._load()
        qs = drilldown_queryset(self.target, self.unit, self.period, self.rows_mode)
        return scope.filter_by_scope(self.request.user, qs)

    def get_table_kwargs(self) -> dict[str, Any]:
        indicator = self.target.indicator
        params = {"period": self.period.code if self.period else ""}
        if self.rows_mode == "schools":
            params["rows"] = "schools"
        return {
            "decimals": indicator.decimals if indicator else 1,
            "unit": indicator.unit if indicator else "",
            "link_params": params,
        }

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
                "breadcrumb": _breadcrumb(self.request.user, unit, top=target.scope),
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
            }
        )
        return context


# --- Unit page ---


@login_required
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A school's or district's page: submissions by quarter, designations, targets covering it.

    Queries (constant): memberships, unit, breadcrumb, periods, submissions (own), submission
    counts of the subtree (non-school units), designations, covering targets with the unit's value.
    """
    user = request.user
    unit = scope.get_in_scope(user, OrgUnit.objects.all(), code=code)
    periods = list(Period.objects.order_by("year", "quarter"))
    period = _period(request, periods)
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
            unit_status=Subquery(progress_at_unit.values("status")[:1]),
            # A share of a scope-wide quantity or count: a value, but no status of its own.
            unit_contribution=Exists(progress_at_unit.filter(detail__contribution=True)),
            unit_before_assessment=Exists(progress_at_unit.filter(detail__reason=BEFORE_ASSESSMENT)),
        )
        .order_by("-plan__year", "plan__code", "section__order", "order", "code", "pk")
    )
    context = {
        "unit": unit,
        "breadcrumb": _breadcrumb(user, unit),
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


# --- Workbook export ---


@login_required
def plan_export(request: HttpRequest) -> HttpResponse:
    """Download the plan workbook for a scope: streamed when small, else a job page to wait on."""
    plan = get_object_or_404(Plan, code=request.GET.get("plan", ""))
    unit = _unit_from_request(request, "scope")
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    period = _period(request, periods)
    result = dispatch.request_export(request.user, plan, unit, period)
    if result.job is not None:
        return redirect(result.job.get_absolute_url())
    response = HttpResponse(result.content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(exports.visible_jobs(request.user), pk=pk)
    return render(request, "reports/exportjob_detail.html", {"job": job, "ExportStatus": ExportStatus})


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(exports.visible_jobs(request.user), pk=pk)
    if job.status != ExportStatus.DONE or not job.file:
        raise Http404(_("文件不存在或已过期。"))
    filename = exports.export_filename(job.plan, job.scope, job.period)
    return FileResponse(default_storage.open(job.file.name, "rb"), as_attachment=True, filename=filename)
