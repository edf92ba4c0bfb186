from __future__ import annotations

import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from plans.models import Plan, Section, WorkItem
from portal.tables import BaseTable
from portal.views import ObjectListView


class PlanTable(BaseTable):
    title = tables.Column(linkify=True)
    section_count = tables.Column(verbose_name=_("部分数"))

    class Meta(BaseTable.Meta):
        model = Plan
        fields = ("code", "title", "year", "owner_unit", "parent", "status", "section_count")


class PlanListView(ObjectListView):
    # Plans are public to every signed-in user of the bureau; targets inside are scoped.
    queryset = Plan.objects.select_related("owner_unit", "parent").annotate(section_count=Count("sections"))
    table_class = PlanTable
    filterset_fields = ["year", "status"]
    scope_field = None
    export_name = "plans"
    title = _("工作要点")


@login_required
def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_object_or_404(
        Plan.objects.select_related("owner_unit", "parent").prefetch_related(
            Prefetch(
                "sections",
                queryset=Section.objects.prefetch_related(
                    Prefetch("work_items", queryset=WorkItem.objects.order_by("number"))
                ),
            )
        ),
        code=code,
    )
    return render(request, "plans/plan_detail.html", {"plan": plan})
