"""Plan pages without targets: the list, editing plans, sections and work items.

The plan page with its targets and their status, the plan workbook, the target pages and the progress
notes live in targets.views (they read targets and their progress, which sit above plans); the URLs
stay under /plans/ in the "plans" namespace (targets/plan_urls.py).
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from plans.forms import PlanForm, SectionForm, WorkItemForm
from plans.models import Plan, Section, WorkItem
from portal import scope
from portal.scope import Perm
from portal.tables import BaseTable
from portal.views import ObjectListView

# --- List ---


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


# --- Plans, sections, work items (bureau staff) ---


def admin_plan(request: HttpRequest, code: str) -> Plan:
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
    plan = admin_plan(request, code)
    form = PlanForm(request.POST or None, instance=plan, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存。"))
        return redirect(plan)
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "title": _("编辑工作要点")})


@login_required
def section_edit(request: HttpRequest, code: str, section: str | None = None) -> HttpResponse:
    plan = admin_plan(request, code)
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
    plan = admin_plan(request, code)
    instance = get_object_or_404(WorkItem, section__plan=plan, pk=pk) if pk else WorkItem()
    form = WorkItemForm(request.POST or None, instance=instance, plan=plan)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存。"))
        return redirect(plan)
    title = _("编辑工作任务") if pk else _("新增工作任务")
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "title": title})
