"""Copy a plan to a new year: the page (/plans/<code>/copy/) and POST /api/v1/plans/{code}/copy/.

Both call ``targets.plan_copy.copy_plan``; the form only carries the three values and shows the service's errors.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from plans.api import PlanSerializer
from plans.models import Plan
from portal import scope
from portal.errors import ServiceError
from portal.labels import LabelSuffixMixin
from portal.scope import Perm, signed_in
from targets.plan_copy import copy_plan


class PlanCopyForm(LabelSuffixMixin, forms.Form):
    code = forms.CharField(label=gettext_lazy("新代码"), max_length=200)
    year = forms.CharField(label=gettext_lazy("新年度"), max_length=10)
    title = forms.CharField(label=gettext_lazy("新标题"), max_length=400)


def suggested(plan: Plan) -> dict[str, Any]:
    """The next year's code and title: the year in them moved on by one (or appended to the code)."""
    year, following = str(plan.year), str(plan.year + 1)
    code = plan.code.replace(year, following) if year in plan.code else f"{plan.code}-{following}"
    title = re.sub(year, following, plan.title) if year in plan.title else plan.title
    return {"code": code, "year": following, "title": title}


@login_required
def plan_copy(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the form with next year's code and title suggested; POST: the copy, then its page."""
    plan = get_object_or_404(Plan.objects.select_related("owner_unit", "parent"), code=code)
    scope.require(request.user, Perm.ADMIN, plan.owner_unit)
    form = PlanCopyForm(request.POST or None, initial=suggested(plan))
    if request.method == "POST" and form.is_valid():
        try:
            copy = copy_plan(signed_in(request.user), plan, **form.cleaned_data)
        except ServiceError as error:
            for name, message_list in error.errors.items():
                for message in message_list:
                    form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(
                request,
                _("已复制为 {year} 年的工作要点（草稿），目标基线为上一年的实际值。").format(year=copy.year),
            )
            return redirect(copy)
    return render(
        request,
        "plans/plan_form.html",
        {"form": form, "plan": plan, "title": _("复制到新年度"), "submit_label": _("复制")},
    )


class PlanCopySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=200)
    year = serializers.IntegerField()
    title = serializers.CharField(max_length=400)


class PlanCopyView(APIView):
    """POST {code, year, title}: a draft copy of the plan for a new year (bureau admin) → 201 with the new plan."""

    @extend_schema(request=PlanCopySerializer, responses={201: PlanSerializer})
    def post(self, request: Request, code: str) -> Response:
        plan = get_object_or_404(Plan.objects.select_related("owner_unit", "parent"), code=code)
        scope.require(request.user, Perm.ADMIN, plan.owner_unit)
        serializer = PlanCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = copy_plan(signed_in(request.user), plan, **serializer.validated_data)
        return Response(PlanSerializer(copy).data, status=status.HTTP_201_CREATED)
