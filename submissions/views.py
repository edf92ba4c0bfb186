"""Web pages of the submissions app. Every rule lives in ``submissions.workflow``; views only translate.

- principals: "my submissions" (open the quarter's form), the submission page (edit, submit);
- reviewers: the review list (filter, bulk approve), the submission page (approve, return);
- bureau admins: figures, validation rules and periods (with lock exceptions), reopen;
- everyone with a scope: the submissions list and the completeness board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, UpdateView
from django_tables2 import RequestConfig

from portal import scope
from portal.errors import ServiceError, StateError, VersionConflict
from portal.i18n import localized
from portal.labels import label_suffix
from portal.scope import Perm
from portal.tables import EXPORT_FORMATS, export_table
from portal.views import ObjectListView
from portal.xlsx import plain_number
from schools.models import OrgUnit, Role
from submissions import completeness, validation, workflow
from submissions import queue as review_queue
from submissions.filters import FigureFilterSet, SubmissionFilterSet
from submissions.forms import (
    FigureForm,
    PeriodExceptionForm,
    PeriodForm,
    ReasonForm,
    ValidationRuleForm,
)
from submissions.models import (
    Channel,
    Figure,
    HistoryAction,
    Period,
    Submission,
    SubmissionHistory,
    SubmissionStatus,
    ValidationRule,
)
from submissions.tables import (
    CompletenessTable,
    FigureTable,
    MissingTable,
    PeriodTable,
    ReviewTable,
    SubmissionTable,
    ValidationRuleTable,
)
from submissions.validation import CHANGE_KEY_PREFIX

VALUE_PREFIX = "v_"
EXPLANATION_PREFIX = "x_"
NA_PREFIX = "na_"  # a ticked 不适用 box


# --- Principal: my submissions ---


@login_required
def my_submissions(request: HttpRequest) -> HttpResponse:
    """The units the user reports for (principal memberships; districts for bureau admins) × recent periods."""
    user = request.user
    unit_ids = [g.unit_id for g in scope.grants(user) if g.role == Role.PRINCIPAL]
    units = list(OrgUnit.objects.filter(pk__in=unit_ids).order_by("path"))
    if scope.has_perm(user, Perm.ADMIN):
        # Bureau staff enter the areas' figures (population): the districts and towns under the bureau.
        units += list(scope.visible_units(user, Perm.ADMIN).filter(depth=1, is_active=True))
    figures = workflow.active_figures()
    units = [unit for unit in units if workflow.figures_for_unit(unit, figures)]
    periods = list(Period.objects.filter(opens_on__lte=workflow.today()).order_by("-year", "-quarter")[:4])
    existing = {
        (s.org_unit_id, s.period_id): s for s in Submission.objects.filter(org_unit__in=units, period__in=periods)
    }
    rows = [
        {
            "unit": unit,
            "period": period,
            "submission": existing.get((unit.pk, period.pk)),
            "problem": workflow.period_edit_error(period, unit) if (unit.pk, period.pk) not in existing else None,
        }
        for period in periods
        for unit in units
    ]
    return render(request, "submissions/my_submissions.html", {"rows": rows, "title": _("本季度填报")})


@login_required
@require_POST
def submission_open(request: HttpRequest) -> HttpResponse:
    unit = get_object_or_404(OrgUnit, code=request.POST.get("org_unit", ""))
    period = get_object_or_404(Period, code=request.POST.get("period", ""))
    try:
        submission = workflow.open_submission(request.user, unit, period, channel=Channel.WEB)
    except ServiceError as exc:
        for message_list in exc.errors.values():
            for message in message_list:
                messages.error(request, message)
        return redirect("submissions:my_submissions")
    return redirect(submission.get_absolute_url())


# --- The submission page ---


def _submission_for(request: HttpRequest, pk: int) -> Submission:
    return scope.get_in_scope(
        request.user, Submission.objects.select_related("org_unit", "org_unit__parent", "period"), "org_unit", pk=pk
    )


def figure_name(figure: Figure) -> str:
    """The figure's name in the page's language: its English name on English pages when it has one."""
    return localized(figure)


@dataclass
class TypedForm:
    """What a refused save or submit posted: the page shows it again, with messages about it."""

    values: dict[str, str]
    explanations: dict[str, str] = field(default_factory=dict)
    is_zero_report: bool = False
    not_applicable: list[str] = field(default_factory=list)


@dataclass
class HistoryRow:
    """One row of the page's history: ``subject`` and ``text`` split an explanation's note for display."""

    entry: SubmissionHistory
    figure: str = ""
    subject: str = ""
    text: str = ""


def _history(submission: Submission, figures: list[Figure]) -> list[HistoryRow]:
    """The submission's trail, with the rule's (or figure's) name on each explanation instead of its key.

    An explanation's note is stored as "<key>: <text>" (the API returns it as is); the key is a rule code or
    ``change_<figure>`` for a quarter-on-quarter warning. A key naming nothing that exists any more is shown
    as it is. At most two queries whatever the number of rows (rules, then figures the unit no longer reports).
    """
    entries = SubmissionHistory.objects.filter(submission=submission).select_related("figure", "user")
    rows = [HistoryRow(entry, figure_name(entry.figure) if entry.figure else "") for entry in entries]
    explained = []
    for row in rows:
        key, separator, text = row.entry.note.partition(": ")
        if row.entry.action == HistoryAction.EXPLAIN and separator:
            row.subject, row.text = key, text
            explained.append(row)
    if not explained:
        return rows
    keys = {row.subject for row in explained}
    rule_names = {rule.code: localized(rule) for rule in ValidationRule.objects.filter(code__in=keys)}
    figure_codes = {key: key.removeprefix(CHANGE_KEY_PREFIX) for key in keys if key.startswith(CHANGE_KEY_PREFIX)}
    by_code = {figure.code: figure for figure in figures}
    unknown = set(figure_codes.values()) - set(by_code)
    if unknown:  # figures the unit no longer reports (deactivated, or now reported by other units)
        by_code.update({figure.code: figure for figure in Figure.objects.filter(code__in=unknown)})
    for row in explained:
        figure = by_code.get(figure_codes.get(row.subject, ""))
        if row.subject in rule_names:
            row.subject = rule_names[row.subject]
        elif figure is not None:
            row.subject = _("{name}（较上季度变动）").format(name=figure_name(figure))
    return rows


def _detail_context(request: HttpRequest, submission: Submission, **extra: Any) -> dict[str, Any]:
    """The submission page's context; after a refused save or submit, ``typed`` holds the posted form.

    Rule messages, explanation boxes and the "N left" count then describe the typed values (a preview
    through the same checks as a save), so the page never contradicts what is in the boxes.
    """
    user = request.user
    may_submit = submission.status in workflow.EDITABLE and scope.has_perm(user, Perm.SUBMIT, submission.org_unit)
    edit_error = workflow.period_edit_error(submission.period, submission.org_unit) if may_submit else None
    can_edit = may_submit and edit_error is None
    # A draft or returned submission in a locked period is no dead end: say what to do and who can open it.
    locked = None
    if may_submit and edit_error is not None and workflow.is_locked(submission.period):
        locked = {
            "admins": list(scope.holders(Perm.ADMIN, submission.org_unit)),
            "can_grant": scope.has_perm(user, Perm.ADMIN, submission.org_unit),
        }
    typed: TypedForm | None = extra.pop("typed", None)
    if typed is not None and not can_edit:
        typed = None  # e.g. submitted meanwhile: the page shows the stored values, read-only
    if typed is None:
        snap = workflow.snapshot(submission)
    else:
        snap = workflow.preview(
            submission,
            typed.values,
            explanations=typed.explanations,
            is_zero_report=typed.is_zero_report,
            not_applicable=typed.not_applicable,
        )
    posted_values = typed.values if typed is not None else {}
    errors: dict[str, list[str]] = extra.pop("errors", {})
    issues_by_field: dict[str, list[dict[str, Any]]] = {}
    shown_by_issue: dict[str, set[str]] = {}  # refusal messages each row's rule messages already say
    for issue in snap.issues:
        explanation = snap.explanations.get(issue.key, "")
        # The same function that refused the submit says what this issue alone contributed to the refusal.
        said = validation.submit_errors({}, [], [issue], snap.explanations, is_zero_report=True).get(issue.field, [])
        refused = any(message in errors.get(issue.field, []) for message in said)
        shown_by_issue.setdefault(issue.field, set()).update(said)
        issues_by_field.setdefault(issue.field, []).append(
            {"issue": issue, "explanation": explanation, "needs_explanation": refused and not issue.is_error}
        )
    rows = []
    for figure in snap.figures:
        value = snap.values.get(figure.code)
        field_errors = errors.get(figure.code, [])
        rows.append(
            {
                "figure": figure,
                "label": figure_name(figure),
                "name": f"{VALUE_PREFIX}{figure.code}",
                "na_name": f"{NA_PREFIX}{figure.code}",
                "not_applicable": figure.code in snap.not_applicable,
                "value": value,
                "input": posted_values.get(figure.code, plain_number(value)),
                "previous": snap.previous.get(figure.code),
                "invalid": bool(field_errors),
                # a rule's message is printed once, beside its rule (the issue block), not again as an error
                "errors": [m for m in field_errors if m not in shown_by_issue.get(figure.code, set())],
                "issues": issues_by_field.get(figure.code, []),
            }
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["figure"].group or _("填报项"), []).append(row)
    known = {figure.code for figure in snap.figures}
    # A reviewer walks the queue (previous / next, one query each) and sees each figure beside the unit's
    # approved values of last quarter and of the same quarter last year (one query for all figures).
    is_reviewer = scope.has_perm(user, Perm.REVIEW, submission.org_unit)
    queue_nav = None
    if is_reviewer:
        queue_nav = {
            "previous": review_queue.previous_in_queue(user, submission),
            "next": review_queue.next_in_queue(user, submission),
            "list_url": f"{reverse('submissions:review_list')}?period={submission.period_id}&status=submitted",
        }
    if is_reviewer and not can_edit:
        threshold = Decimal(str(settings.STOCK_CHANGE_WARNING_SHARE))
        compared = review_queue.comparisons(submission, snap.figures, snap.values, threshold)
        for row in rows:
            row["compare"] = compared[row["figure"].code]
    return {
        "submission": submission,
        "snap": snap,
        "groups": groups,
        "issues": snap.issues,
        "is_zero_report": snap.is_zero_report,
        "other_errors": {k: v for k, v in errors.items() if k not in known},
        "blocking": snap.blocking if submission.status in workflow.EDITABLE else {},
        # After a refused save or submit, the live check keeps saying what still blocks the submit on each row.
        "refused": bool(errors),
        "can_edit": can_edit,
        "can_submit": can_edit,
        "locked": locked,
        "can_review": submission.status == SubmissionStatus.SUBMITTED
        and scope.has_perm(user, Perm.REVIEW, submission.org_unit),
        "queue_nav": queue_nav,
        "compare": is_reviewer and not can_edit,
        "can_reopen": submission.status == SubmissionStatus.APPROVED
        and scope.has_perm(user, Perm.ADMIN, submission.org_unit),
        "history": _history(submission, snap.figures),
        "reason_form": ReasonForm(),
        "title": f"{submission.org_unit.name} · {submission.period.code}",
        **extra,
    }


def _typed_form(request: HttpRequest, figures: list[Figure]) -> TypedForm:
    """The submission form's posted values, explanations, 零报告 flag and ticked 不适用 boxes."""
    posted = {figure.code: request.POST.get(f"{VALUE_PREFIX}{figure.code}", "") for figure in figures}
    explanations = {
        key[len(EXPLANATION_PREFIX) :]: text for key, text in request.POST.items() if key.startswith(EXPLANATION_PREFIX)
    }
    is_zero_report = request.POST.get("is_zero_report") == "on"
    # Every ticked box goes to the service, which refuses a figure without 不适用 or one with a number as well.
    not_applicable = [figure.code for figure in figures if request.POST.get(f"{NA_PREFIX}{figure.code}") == "on"]
    return TypedForm(posted, explanations, is_zero_report, not_applicable)


def open_count_text(count: int) -> str:
    """The form's "N left" line (the same words as the page renders)."""
    return ngettext("还有 %(n)s 处需要处理才能提交。", "还有 %(n)s 处需要处理才能提交。", count) % {"n": count}


@login_required
@require_POST
def submission_check(request: HttpRequest, pk: int) -> JsonResponse:
    """Check the posted form as the principal types (``static/js/submission-check.js``): the same service as a
    save (``workflow.check_values``), nothing written. Out of scope: 404; visible but not the user's to fill: 403;
    not editable now: 409 with the reason. JSON: per figure its errors (a save would refuse them) and rule
    messages, the messages of other fields, and the open-problems count with its sentence."""
    submission = _submission_for(request, pk)
    figures = workflow.figures_for_unit(submission.org_unit, period=submission.period)
    typed = _typed_form(request, figures)
    try:
        check = workflow.check_values(
            submission, request.user, typed.values, explanations=typed.explanations,
            is_zero_report=typed.is_zero_report, not_applicable=typed.not_applicable,
        )  # fmt: skip
    except StateError as exc:
        return JsonResponse({"errors": exc.errors}, status=409)
    result: dict[str, dict[str, list[dict[str, str]]]] = {
        figure.code: {"messages": [], "blocking": []} for figure in figures
    }
    other: list[str] = []
    for code, field_errors in check.errors.items():
        target = result.get(code)
        for message in field_errors:
            if target is None:
                other.append(message)
            else:
                target["messages"].append({"level": "error", "text": message, "key": ""})
    said: dict[str, set[str]] = {}  # what each row's rule messages already say (as on the page)
    for issue in check.issues:
        level = "error" if issue.is_error else "warning"
        entry = {"level": level, "text": issue.message, "key": issue.key}
        said.setdefault(issue.field, set()).update(
            validation.submit_errors({}, [], [issue], check.snapshot.explanations, is_zero_report=True).get(
                issue.field, []
            )
        )
        if issue.field in result:
            result[issue.field]["messages"].append(entry)
        else:
            other.append(issue.message)
    # What a submit would still refuse on each row, beyond its rule messages ("请填写此项", a warning to explain).
    for code, blocking in check.blocking.items():
        if code in result:
            result[code]["blocking"] = [
                {"level": "error", "text": message, "key": ""}
                for message in blocking
                if message not in said.get(code, set())
            ]
    count = check.open
    return JsonResponse(
        {"figures": result, "other": other, "open": count, "open_text": open_count_text(count) if count else ""}
    )


@login_required
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Values beside last quarter's, warnings with explanations, history; the form when editable."""
    submission = _submission_for(request, pk)
    if request.method != "POST":
        return render(request, "submissions/submission_detail.html", _detail_context(request, submission))

    figures = workflow.figures_for_unit(submission.org_unit, period=submission.period)
    typed = _typed_form(request, figures)
    posted, explanations = typed.values, typed.explanations
    is_zero_report, not_applicable = typed.is_zero_report, typed.not_applicable
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    submitting = request.POST.get("op") == "submit"
    try:
        # Save and submit are one transaction: a refused submit keeps nothing of the save either
        # (the page shows the typed values again), so a 400 never leaves half of the request written.
        with transaction.atomic():
            result = workflow.save_values(
                submission, request.user, posted, version=version, explanations=explanations,
                is_zero_report=is_zero_report, channel=Channel.WEB, not_applicable=not_applicable,
            )  # fmt: skip
            if submitting:
                workflow.submit(submission, request.user, version=result.submission.version, channel=Channel.WEB)
        messages.success(request, _("已提交，等待审核。") if submitting else _("已保存草稿。"))
    except VersionConflict as exc:
        messages.error(request, exc.errors["version"][0])
        context = _detail_context(request, _submission_for(request, pk), typed=typed)
        return render(request, "submissions/submission_detail.html", context, status=409)
    except ServiceError as exc:
        context = _detail_context(request, _submission_for(request, pk), typed=typed, errors=exc.errors)
        messages.error(request, _("请修改标出的错误后再保存或提交。"))
        return render(request, "submissions/submission_detail.html", context, status=400)
    return redirect(submission.get_absolute_url())


@login_required
@require_POST
def submission_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """submit / approve / return / reopen (POST, with the version the page showed).

    ``submit`` sends a saved draft for review as it stands: the button after an Excel upload, whose values are
    already saved (the submission page's own form saves and submits in one step instead). A submission outside
    the user's scope is a 404, as a missing one is (no probing which ids exist); one the user can see but not act
    on is a 403 from the workflow's own check.
    """
    submission = _submission_for(request, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    reason = request.POST.get("reason", "")
    try:
        if action == "submit":
            workflow.submit(submission, request.user, version=version)
            messages.success(request, _("已提交，等待审核。"))
        elif action == "approve":
            workflow.approve(submission, request.user, version=version)
            messages.success(request, _("已审核通过。"))
            return _to_next_in_queue(request, submission)
        elif action == "return":
            workflow.return_submission(submission, request.user, reason=reason, version=version)
            messages.success(request, _("已退回。"))
            return _to_next_in_queue(request, submission)
        elif action == "reopen":
            workflow.reopen(submission, request.user, reason=reason, version=version)
            messages.success(request, _("已重新打开。"))
        else:
            raise PermissionDenied
    except ServiceError as exc:
        for message_list in exc.errors.values():
            for message in message_list:
                messages.error(request, message)
    return redirect(submission.get_absolute_url())


def _to_next_in_queue(request: HttpRequest, submission: Submission) -> HttpResponse:
    """After an approval or a return (its message already given): go on to the next submission awaiting review,
    saying which, or — the queue empty — say so and go back to the period's review list."""
    following = review_queue.after_review(request.user, submission)
    if following is None:
        messages.info(request, _("本周期的待审核队列已清空。"))
        return redirect(f"{reverse('submissions:review_list')}?period={submission.period_id}")
    messages.info(request, _("下一份待审核：{unit}。").format(unit=following.org_unit.name))
    return redirect(following.get_absolute_url())


# --- Lists ---


class LabelSuffixFilterMixin:
    """The filter form (built by django-filter) ends its labels with the page language's colon too."""

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        filterset.form.label_suffix = label_suffix()
        return filterset


class SubmissionListView(LabelSuffixFilterMixin, ObjectListView):
    queryset = Submission.objects.select_related("org_unit", "org_unit__parent", "period")
    filterset_class = SubmissionFilterSet
    table_class = SubmissionTable
    scope_field = "org_unit"
    export_name = "submissions"
    title = gettext_lazy("填报列表")
    perm = Perm.VIEW

    def get_queryset(self):
        # Not super(): the scope depends on the page's permission (REVIEW for the review screen).
        return scope.filter_by_scope(self.request.user, self.queryset.all(), "org_unit", self.perm)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        if kwargs.get("data") is None or "period" not in kwargs["data"]:
            data = kwargs["data"].copy() if kwargs.get("data") is not None else {}
            period = Period.objects.current()
            if period is not None:
                data["period"] = str(period.pk)
            kwargs["data"] = data
        return kwargs


class ReviewListView(SubmissionListView):
    """The reviewer's screen: the subtree's submissions for a period, bulk approval of clean ones."""

    table_class = ReviewTable
    template_name = "submissions/review_list.html"
    title = gettext_lazy("审核")
    export_name = "review"
    perm = Perm.REVIEW

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not scope.has_perm(request.user, Perm.REVIEW):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


@login_required
@require_POST
def review_bulk_approve(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    submissions = list(
        scope.filter_by_scope(
            request.user, Submission.objects.select_related("org_unit", "period"), "org_unit", Perm.REVIEW
        ).filter(pk__in=ids)
    )
    if not submissions:
        messages.error(request, _("请先勾选要审核的填报。"))
    else:
        result = workflow.bulk_approve(request.user, submissions, channel=Channel.WEB)
        messages.success(request, _("已审核通过 {n} 份。").format(n=len(result.approved)))
        for submission, reason in result.skipped:
            messages.warning(request, _("{unit}：{reason}").format(unit=submission.org_unit.name, reason=reason))
    return redirect(_safe_next(request, reverse("submissions:review_list")))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The posted ``next`` when it points into this site, else ``fallback`` (no open redirect)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# --- Completeness ---


@login_required
def completeness_view(request: HttpRequest) -> HttpResponse:
    periods = list(Period.objects.order_by("-year", "-quarter"))
    code = request.GET.get("period", "")
    period = next((p for p in periods if p.code == code), None) or Period.objects.current()
    if period is None:
        return render(request, "submissions/completeness.html", {"periods": [], "title": _("填报进度")})
    data = completeness.board(request.user, period, workflow.today())
    counts = CompletenessTable([*data.rows, data.total])
    can_chase = scope.has_perm(request.user, Perm.REVIEW)
    missing = MissingTable(data.missing, exclude=() if can_chase else ("chase",))
    RequestConfig(request, paginate={"per_page": 100}).configure(missing)
    export = request.GET.get("_export")
    if export in EXPORT_FORMATS:
        table = counts if request.GET.get("table") == "counts" else missing
        name = f"completeness_{period.code}_{request.GET.get('table', 'missing')}.{export}"
        return export_table(table, export, name)
    context = {
        "periods": periods,
        "period": period,
        "counts": counts,
        "missing": missing,
        "can_chase": can_chase and bool(data.missing),
        "title": _("填报进度"),
    }
    return render(request, "submissions/completeness.html", context)


# --- Bureau admin: figures, rules, periods ---


class AdminRequiredMixin(LoginRequiredMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not scope.has_perm(request.user, Perm.ADMIN):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class FigureListView(AdminRequiredMixin, LabelSuffixFilterMixin, ObjectListView):
    queryset = Figure.objects.prefetch_related("reported_by_within")
    filterset_class = FigureFilterSet
    table_class = FigureTable
    scope_field = None
    export_name = "figures"
    title = gettext_lazy("填报项")
    template_name = "submissions/definition_list.html"


class RuleListView(AdminRequiredMixin, LabelSuffixFilterMixin, ObjectListView):
    model = ValidationRule
    queryset = ValidationRule.objects.all()
    filterset_class = None
    filterset_fields: list[str] = ["severity", "is_active"]
    table_class = ValidationRuleTable
    scope_field = None
    export_name = "validation_rules"
    title = gettext_lazy("校验规则")
    template_name = "submissions/definition_list.html"


class PeriodListView(AdminRequiredMixin, LabelSuffixFilterMixin, ObjectListView):
    model = Period
    queryset = Period.objects.all()
    filterset_class = None
    filterset_fields: list[str] = ["year"]
    table_class = PeriodTable
    scope_field = None
    export_name = "periods"
    title = gettext_lazy("填报周期")
    template_name = "submissions/definition_list.html"


class DefinitionFormMixin(AdminRequiredMixin):
    template_name = "submissions/object_form.html"
    list_url = ""
    title = ""

    def get_success_url(self) -> str:
        return reverse(self.list_url)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["title"] = self.title
        context["list_url"] = reverse(self.list_url)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, _("已保存。"))  # type: ignore[attr-defined]
        with transaction.atomic():
            return super().form_valid(form)  # type: ignore[misc]


class FigureCreateView(DefinitionFormMixin, CreateView):
    model = Figure
    form_class = FigureForm
    list_url = "submissions:figure_list"
    title = gettext_lazy("新建填报项")


class FigureUpdateView(DefinitionFormMixin, UpdateView):
    model = Figure
    form_class = FigureForm
    slug_field = slug_url_kwarg = "code"
    list_url = "submissions:figure_list"
    title = gettext_lazy("编辑填报项")


class RuleCreateView(DefinitionFormMixin, CreateView):
    model = ValidationRule
    form_class = ValidationRuleForm
    list_url = "submissions:rule_list"
    title = gettext_lazy("新建校验规则")


class RuleUpdateView(DefinitionFormMixin, UpdateView):
    model = ValidationRule
    form_class = ValidationRuleForm
    list_url = "submissions:rule_list"
    title = gettext_lazy("编辑校验规则")


class PeriodCreateView(DefinitionFormMixin, CreateView):
    model = Period
    form_class = PeriodForm
    list_url = "submissions:period_list"
    title = gettext_lazy("新建填报周期")


class PeriodUpdateView(DefinitionFormMixin, UpdateView):
    model = Period
    form_class = PeriodForm
    slug_field = slug_url_kwarg = "code"
    list_url = "submissions:period_list"
    template_name = "submissions/period_form.html"
    title = gettext_lazy("编辑填报周期")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["exceptions"] = self.object.exceptions.select_related("org_unit", "granted_by")
        context["exception_form"] = kwargs.get("exception_form") or PeriodExceptionForm()
        return context


@login_required
@require_POST
def period_exception_create(request: HttpRequest, code: str) -> HttpResponse:
    """Let one unit edit a locked period, with the reason (bureau admin of that unit)."""
    period = get_object_or_404(Period, code=code)
    form = PeriodExceptionForm(request.POST)
    if form.is_valid():
        scope.require(request.user, Perm.ADMIN, form.cleaned_data["org_unit"])
        exception = form.save(commit=False)
        exception.period, exception.granted_by = period, request.user
        try:
            with transaction.atomic():
                exception.save()
            messages.success(request, _("已为 {unit} 开放修改。").format(unit=exception.org_unit.name))
        except IntegrityError:
            messages.error(request, _("该单位已有例外。"))
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("submissions:period_update", code=period.code)
