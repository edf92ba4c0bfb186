"""Project-level pages: profile with API tokens (the home page is the to-do home of ``notifications``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin
from rest_framework.authtoken.models import Token

from portal import scope


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    new_key = request.session.pop("new_api_token", None)
    return render(request, "portal/profile.html", {"token": token, "new_key": new_key})


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    # One token per user: creating a new one revokes the old one. The key is shown exactly once.
    Token.objects.filter(user=request.user).delete()
    token = Token.objects.create(user=request.user)
    request.session["new_api_token"] = token.key
    messages.success(request, _("已生成新的 API 令牌，旧令牌已失效。"))
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    Token.objects.filter(user=request.user).delete()
    messages.success(request, _("API 令牌已撤销。"))
    return redirect("profile")


class ObjectListView(LoginRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """Base list page: a django-tables2 table, a django-filter form and CSV/XLSX export.

    The queryset is always narrowed by the user's scope (``scope_field`` names the path from the
    model to its OrgUnit; "" for OrgUnit itself, None for objects that are not scoped).
    """

    scope_field: str | None = ""
    template_name = "includes/object_list.html"
    export_formats = ("csv", "xlsx")
    export_name = "export"
    title = ""

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset()
        if self.scope_field is None:
            return queryset
        return scope.filter_by_scope(self.request.user, queryset, self.scope_field)

    def get_context_data(self, **kwargs):  # type: ignore[no-untyped-def]
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        return context
