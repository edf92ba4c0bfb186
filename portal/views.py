"""Project-level pages: home (routes each role to its start page), profile with API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin
from rest_framework.authtoken.models import Token

from portal import scope
from portal.api import token_expired
from portal.tables import EXPORT_FORMATS, export_table


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and pages without our layout (the admin) ask for /favicon.ico: send them to the site's icon."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = scope.memberships(request.user)
    return render(request, "portal/home.html", {"memberships": memberships, "roles": scope.roles(request.user)})


@never_cache  # Cache-Control: no-store — the page may show a new API token, once
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    new_key = request.session.pop("new_api_token", None)
    expired = token is not None and token_expired(token.created)
    context = {
        "token": token,
        "new_key": new_key,
        "token_expired": expired,
        "api_token_ttl_days": settings.API_TOKEN_TTL_DAYS,
    }
    return render(request, "portal/profile.html", context)


@never_cache
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


PASSWORD_FAILURES_KEY = "password_change_failures"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with a bound on wrong old passwords.

    The count lives in the (server-side) session: whoever holds a stolen session cookie cannot reset it
    without the password, and at PASSWORD_CHANGE_FAILURE_LIMIT wrong guesses the session is signed out.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.session.get(PASSWORD_FAILURES_KEY, 0) >= settings.PASSWORD_CHANGE_FAILURE_LIMIT:
            return self._sign_out(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        if "old_password" in form.errors:
            failures = self.request.session.get(PASSWORD_FAILURES_KEY, 0) + 1
            self.request.session[PASSWORD_FAILURES_KEY] = failures
            if failures >= settings.PASSWORD_CHANGE_FAILURE_LIMIT:
                return self._sign_out(self.request)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        self.request.session.pop(PASSWORD_FAILURES_KEY, None)
        return super().form_valid(form)

    @staticmethod
    def _sign_out(request: HttpRequest) -> HttpResponse:
        logout(request)
        messages.error(request, _("旧密码错误次数过多，已退出登录。请重新登录后再修改密码。"))
        return redirect("login")


class ObjectListView(LoginRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """Base list page: a django-tables2 table, a django-filter form and CSV/XLSX export.

    The queryset is always narrowed by the user's scope (``scope_field`` names the path from the
    model to its OrgUnit; "" for OrgUnit itself, None for objects that are not scoped).
    """

    scope_field: str | None = ""
    template_name = "includes/object_list.html"
    export_formats = EXPORT_FORMATS
    export_name = "export"
    title = ""

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.scope_field is None:
            return queryset
        return scope.filter_by_scope(self.request.user, queryset, self.scope_field)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        return context

    def create_export(self, export_format: str) -> HttpResponse:
        """The table as .xlsx or CSV through ``portal.tables.export_table`` (text kept as text)."""
        table = self.get_table(**self.get_table_kwargs())
        return export_table(table, export_format, self.get_export_filename(export_format), self.exclude_columns)
