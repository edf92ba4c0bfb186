"""Pages for bureau administrators: users and their memberships, and the users workbook (issue 13 §4).

Every write goes through ``schools/users_service.py``; a refusal (outside the scope, a role above one's own) is a
403 page with the service's translated message.
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import scope
from portal.errors import ServiceError
from portal.middleware import accepts_uploads
from portal.scope import Perm
from portal.tables import BaseTable
from portal.upload_safety import UploadLimitHandler
from portal.views import ObjectListView
from portal.xlsx import XLSX_CONTENT_TYPE, ImportErrors
from schools import user_import
from schools import users_service as service
from schools.models import Membership, OrgUnit, Role
from schools.unit_search import nearby_units

# --- The list ---


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("用户名或姓名"))
    is_active = django_filters.BooleanFilter(label=gettext_lazy("在用"))
    role = django_filters.ChoiceFilter(
        field_name="memberships__role", choices=Role.choices, distinct=True, label=gettext_lazy("角色")
    )

    class Meta:
        model = get_user_model()
        fields = ["q", "is_active", "role"]

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(
            Q(username__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value)
        )


class UserTable(BaseTable):
    username = tables.Column(
        verbose_name=gettext_lazy("用户名"), linkify=("schools:user_edit", {"username": tables.A("username")})
    )
    name = tables.Column(verbose_name=gettext_lazy("姓名"), accessor="first_name", order_by=("first_name", "pk"))
    email = tables.Column(verbose_name=gettext_lazy("电子邮箱"))
    roles = tables.Column(verbose_name=gettext_lazy("角色"), empty_values=(), orderable=False)
    is_active = tables.BooleanColumn(verbose_name=gettext_lazy("在用"), yesno=(gettext_lazy("是"), gettext_lazy("否")))

    class Meta(BaseTable.Meta):
        model = get_user_model()
        fields = ("username", "name", "email", "roles", "is_active")
        order_by = ("username",)

    def render_roles(self, record: Any) -> Any:
        return format_html_join(
            "；",
            "{} · {}",
            ((m.org_unit.name, m.get_role_display()) for m in getattr(record, "scoped_memberships", [])),
        )

    def value_roles(self, record: Any) -> str:
        return "；".join(
            f"{m.org_unit.name} · {m.get_role_display()}" for m in getattr(record, "scoped_memberships", [])
        )


class UserListView(ObjectListView):
    """The users an administrator manages (schools.users_service.manageable_users), with their roles in scope."""

    filterset_class = UserFilterSet
    table_class = UserTable
    scope_field = None  # scoped by the service, not by a unit field
    export_name = "users"
    title = gettext_lazy("用户管理")  # type: ignore[assignment]  # a lazy string, as in schools.views
    template_name = "schools/user_list.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not service.is_user_admin(request.user):
            return _refused(request, _("只有教育局管理员可以管理用户。"))
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        in_scope = scope.filter_by_scope(
            self.request.user, Membership.objects.select_related("org_unit"), "org_unit", Perm.ADMIN
        ).order_by("org_unit__path", "role")
        return service.manageable_users(self.request.user).prefetch_related(
            Prefetch("memberships", queryset=in_scope, to_attr="scoped_memberships")
        )


# --- Forms ---


class UserForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150)
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=150, required=False)
    email = forms.CharField(label=gettext_lazy("电子邮箱"), max_length=254, required=False)
    is_active = forms.BooleanField(label=gettext_lazy("在用"), required=False, initial=True)
    password = forms.CharField(
        label=gettext_lazy("设置密码"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("留空则不更改；新用户留空时需稍后设置密码才能登录。"),
    )


class MembershipForm(forms.Form):
    org_unit = forms.ModelChoiceField(label=gettext_lazy("单位"), queryset=OrgUnit.objects.none(), required=False)
    role = forms.ChoiceField(label=gettext_lazy("角色"), choices=(), required=False)

    def __init__(self, actor: Any, *args: Any, required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = None
        raw = self.data.get(self.add_prefix("org_unit")) if self.is_bound else None
        if raw and str(raw).isdigit():
            chosen = scope.visible_units(actor, Perm.ADMIN).filter(pk=int(raw)).first()
        field = self.fields["org_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        # Bounded options for the page (the search box of static/js/unit-picker.js finds the others); a posted
        # unit is looked up among the units the actor sees (anything else is "not a valid choice"); the service
        # refuses a seen unit the actor does not administer with a 403.
        field.queryset = scope.visible_units(actor).filter(is_active=True)
        field.choices = [("", "---------")] + [
            (unit.pk, ("　" * unit.depth) + unit.name) for unit in nearby_units(actor, chosen, perm=Perm.ADMIN)
        ]
        field.widget.attrs.update({"data-unit-picker": "1", "data-perm": "admin"})
        self.fields["role"].choices = [("", "---------"), *service.role_choices_for(actor)]  # type: ignore[attr-defined]
        self.fields["org_unit"].required = required
        self.fields["role"].required = required


# --- Helpers ---


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "403.html", {"exception": message, "message": message}, status=403)


def _service_errors(form: forms.Form, exc: ServiceError) -> None:
    for key, texts in exc.errors.items():
        target = key if key in form.fields else None
        for text in texts:
            form.add_error(target, text)


def _managed_user(request: HttpRequest, username: str) -> Any:
    """A user the administrator sees, else 404 (never reveal another bureau's users)."""
    if not service.is_user_admin(request.user):
        raise service.Refused(_("只有教育局管理员可以管理用户。"))
    users = service.manageable_users(request.user)
    return get_object_or_404(users, username=username)


def _fields(data: dict[str, Any]) -> service.UserFields:
    return service.UserFields(
        username=data["username"],
        name=data["name"],
        email=data["email"],
        is_active=data["is_active"],
        password=data["password"] or None,
    )


def _handles_refusal(view: Any) -> Any:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except service.Refused as exc:
            return _refused(request, " ".join(m for texts in exc.errors.values() for m in texts))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- Pages ---


@login_required
@require_http_methods(["GET", "POST"])
@_handles_refusal
def user_create(request: HttpRequest) -> HttpResponse:
    service.require_user_admin(request.user)
    form = UserForm(request.POST or None)
    membership_form = MembershipForm(
        request.user, request.POST or None, required=not scope.is_bureau_wide_admin(request.user)
    )
    if request.method == "POST" and form.is_valid() and membership_form.is_valid():
        try:
            user = service.create_user(
                request.user,
                _fields(form.cleaned_data),
                membership_form.cleaned_data.get("org_unit"),
                membership_form.cleaned_data.get("role") or None,
            )
        except service.Refused:
            raise
        except ServiceError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("已创建用户“%(username)s”。") % {"username": user.username})
            return redirect("schools:user_edit", username=user.username)
    return render(
        request,
        "schools/user_form.html",
        {"form": form, "membership_form": membership_form, "title": _("新建用户"), "managed": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
@_handles_refusal
def user_edit(request: HttpRequest, username: str) -> HttpResponse:
    user = _managed_user(request, username)
    initial = {
        "username": user.username,
        "name": service.display_name(user) if user.first_name or user.last_name else "",
        "email": user.email,
        "is_active": user.is_active,
    }
    form = UserForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            service.update_user(request.user, user, _fields(form.cleaned_data))
        except service.Refused:
            raise
        except ServiceError as exc:
            _service_errors(form, exc)
            user.refresh_from_db()
        else:
            messages.success(request, _("已保存。"))
            return redirect("schools:user_edit", username=user.username)
    return _edit_page(request, user, form, MembershipForm(request.user))


def _edit_page(request: HttpRequest, user: Any, form: forms.Form, membership_form: forms.Form) -> HttpResponse:
    held = list(Membership.objects.filter(user=user).select_related("org_unit").order_by("org_unit__path", "role"))
    rows = [(m, scope.has_perm(request.user, Perm.ADMIN, m.org_unit)) for m in held]
    return render(
        request,
        "schools/user_form.html",
        {
            "form": form,
            "membership_form": membership_form,
            "title": _("用户：%(name)s") % {"name": service.display_name(user)},
            "managed": user,
            "memberships": rows,
        },
    )


@login_required
@require_POST
@_handles_refusal
def membership_add(request: HttpRequest, username: str) -> HttpResponse:
    user = _managed_user(request, username)
    membership_form = MembershipForm(request.user, request.POST)
    if membership_form.is_valid():
        try:
            service.add_membership(
                request.user, user, membership_form.cleaned_data["org_unit"], membership_form.cleaned_data["role"]
            )
        except service.Refused:
            raise
        except ServiceError as exc:
            _service_errors(membership_form, exc)
        else:
            messages.success(request, _("已添加角色。"))
            return redirect("schools:user_edit", username=user.username)
    form = UserForm(initial={"username": user.username, "email": user.email, "is_active": user.is_active})
    response = _edit_page(request, user, form, membership_form)
    response.status_code = 400
    return response


@login_required
@require_POST
@_handles_refusal
def membership_remove(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    user = _managed_user(request, username)
    membership = get_object_or_404(Membership.objects.select_related("org_unit"), pk=pk, user=user)
    service.remove_membership(request.user, membership)
    messages.success(request, _("已移除角色。"))
    if not service.manageable_users(request.user).filter(pk=user.pk).exists():
        return redirect("schools:user_list")
    return redirect("schools:user_edit", username=user.username)


@login_required
@require_POST
@_handles_refusal
def user_set_active(request: HttpRequest, username: str) -> HttpResponse:
    """POST ``active=0`` deactivates the user (never deletes), ``active=1`` reactivates."""
    user = _managed_user(request, username)
    active = request.POST.get("active") == "1"
    try:
        service.set_active(request.user, user, active)
    except service.Refused:
        raise
    except ServiceError as exc:
        messages.error(request, " ".join(m for texts in exc.errors.values() for m in texts))
    else:
        messages.success(request, _("已启用该用户。") if active else _("已停用该用户，其历史记录保留。"))
    return redirect("schools:user_edit", username=user.username)


def _import_summary(result: user_import.ImportResult) -> str:
    text = _("导入完成：新建用户 %(created)s 个，更新 %(updated)s 个，新增角色 %(added)s 个，已有角色 %(same)s 个。")
    return text % {
        "created": result.users_created,
        "updated": result.users_updated,
        "added": result.memberships_added,
        "same": result.memberships_unchanged,
    }


@login_required
@require_GET
@_handles_refusal
def user_template(request: HttpRequest) -> HttpResponse:
    service.require_user_admin(request.user)
    response = HttpResponse(user_import.template(request.user), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="users.xlsx"'
    return response


@accepts_uploads
@csrf_exempt
@login_required
def user_import_view(request: HttpRequest) -> HttpResponse:
    # The size-limiting upload handler goes first, before CSRF checking reads the body; CSRF is enforced by the
    # inner view (as for the submission template upload).
    request.upload_handlers.insert(0, UploadLimitHandler(request))  # type: ignore[union-attr]  # not yet read
    return _user_import(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
@_handles_refusal
def _user_import(request: HttpRequest) -> HttpResponse:
    service.require_user_admin(request.user)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if getattr(request, "upload_too_large", False):
            errors = [_("文件过大，上传上限为 %(limit).1f MB。") % {"limit": settings.MAX_UPLOAD_BYTES / 1048576}]
            status = 400
        elif upload is None:
            errors = [_("请选择要上传的 Excel 文件。")]
            status = 400
        else:
            try:
                result = user_import.import_users(request.user, upload)
            except service.Refused:
                raise
            except ImportErrors as exc:
                errors = [str(error.message) for error in exc.cell_errors]
                status = exc.status_code
            except ServiceError as exc:
                errors = [m for texts in exc.errors.values() for m in texts]
                status = exc.status_code
            else:
                messages.success(request, _import_summary(result))
                return redirect("schools:user_list")
    return render(request, "schools/user_import.html", {"errors": errors, "title": _("导入用户")}, status=status)
