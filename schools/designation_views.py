"""Portal pages for designations: kinds, grants, revocations, evidence files and the Excel import.

Every write goes through ``schools/designations.py`` (the API calls the same functions); the pages only
collect input and show the service's translated errors. Unit pickers are bounded selects enhanced by
``static/js/unit-picker.js`` (search-as-you-type through ``schools:unit_search``, admin scope).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from portal import scope
from portal.errors import ServiceError
from portal.media import protected_file
from portal.middleware import accepts_uploads
from portal.scope import Perm
from portal.xlsx import XLSX_CONTENT_TYPE
from schools import designations
from schools.models import Designation, DesignationKind, DesignationLevel, OrgUnit
from schools.unit_search import nearby_units

INDENT = "\u3000"  # a full-width space per level of the tree, as in the other unit pickers
PAGE_SIZE = 50


def _add_errors(form: forms.Form, error: ServiceError) -> None:
    for field, field_messages in error.errors.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


# --- Forms ---


class KindForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("代码"), max_length=60)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=200, required=False)
    levels = forms.MultipleChoiceField(
        label=gettext_lazy("认定级别"),
        choices=DesignationLevel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("不选表示任何级别均可"),
    )


class GrantForm(forms.Form):
    org_unit = forms.ModelChoiceField(label=gettext_lazy("单位"), queryset=OrgUnit.objects.none())
    kind = forms.ModelChoiceField(label=gettext_lazy("认定类别"), queryset=DesignationKind.objects.order_by("code"))
    level = forms.ChoiceField(
        label=gettext_lazy("级别"), choices=[("", "---------"), *DesignationLevel.choices], required=False
    )
    granted_on = forms.DateField(label=gettext_lazy("认定日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("备注"), max_length=500, required=False)
    evidence = forms.FileField(
        label=gettext_lazy("证明材料"), required=False, help_text=gettext_lazy("PDF、图片、Word 或 Excel 文件")
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["org_unit"]
        # Validates any unit the user administers; the select itself lists a bounded neighbourhood (the JS searches).
        field.queryset = scope.visible_units(user, Perm.ADMIN)  # type: ignore[attr-defined]
        raw = self.data.get("org_unit") if self.is_bound else self.initial.get("org_unit")
        chosen = [int(raw)] if raw and str(raw).isascii() and str(raw).isdigit() and len(str(raw)) < 19 else []
        units = nearby_units(user, None, perm=Perm.ADMIN, extra_ids=chosen)
        field.widget.choices = [("", "---------"), *((u.pk, f"{INDENT * u.depth}{u.name}（{u.code}）") for u in units)]
        field.widget.attrs.update({"data-unit-picker": "1", "data-levels": "", "data-perm": "admin"})


class RevokeForm(forms.Form):
    revoked_on = forms.DateField(label=gettext_lazy("撤销日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("撤销说明"), max_length=500, required=False)
    evidence = forms.FileField(
        label=gettext_lazy("撤销依据"), required=False, help_text=gettext_lazy("PDF、图片、Word 或 Excel 文件")
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel 文件（.xlsx）"))


# --- Pages ---


@login_required
@require_GET
def designation_list(request: HttpRequest) -> HttpResponse:
    """Grants in the user's scope, newest first, filtered by kind and level; admins get the actions."""
    queryset = scope.filter_by_scope(
        request.user, Designation.objects.select_related("org_unit", "kind"), "org_unit"
    ).order_by("-granted_on", "pk")
    kinds = list(DesignationKind.objects.order_by("code"))
    kind_code = request.GET.get("kind", "")
    level = request.GET.get("level", "")
    if kind_code:
        queryset = queryset.filter(kind__code=kind_code)
    if level in DesignationLevel.values:
        queryset = queryset.filter(level=level)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kinds": kinds,
        "kind_code": kind_code,
        "level": level,
        "levels": DesignationLevel.choices,
        "can_admin": scope.has_perm(request.user, Perm.ADMIN),
        "can_edit_kinds": scope.is_bureau_wide_admin(request.user),
    }
    return render(request, "schools/designation_list.html", context)


@login_required
def kind_list(request: HttpRequest) -> HttpResponse:
    """The kinds (everyone reads them) and, for a bureau-wide admin, the form to add one."""
    can_edit = scope.is_bureau_wide_admin(request.user)
    form = KindForm(request.POST or None)
    if request.method == "POST":
        designations.require_kind_admin(request.user)
        if form.is_valid():
            try:
                kind = designations.save_kind(request.user, **form.cleaned_data)
            except ServiceError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("已新建认定类别“%(name)s”。") % {"name": kind.name})
                return redirect("schools:designation_kinds")
    kinds = DesignationKind.objects.order_by("code")
    return render(request, "schools/designation_kinds.html", {"kinds": kinds, "form": form, "can_edit": can_edit})


@login_required
def kind_edit(request: HttpRequest, code: str) -> HttpResponse:
    designations.require_kind_admin(request.user)
    kind = get_object_or_404(DesignationKind, code=code)
    initial = {"code": kind.code, "name": kind.name, "name_en": kind.name_en, "levels": kind.levels}
    form = KindForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            designations.save_kind(request.user, instance=kind, **form.cleaned_data)
        except ServiceError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("已保存。"))
            return redirect("schools:designation_kinds")
    title = _("修改认定类别")
    return render(request, "schools/designation_form.html", {"form": form, "title": title})


@accepts_uploads
@login_required
def grant(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    form = GrantForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            designation = designations.grant(
                request.user,
                unit=data["org_unit"],
                kind=data["kind"],
                level=data["level"],
                granted_on=data["granted_on"],
                note=data["note"],
                evidence=data.get("evidence"),
            )
        except ServiceError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("已为“%(unit)s”登记认定“%(kind)s”。")
                % {"unit": designation.org_unit.name, "kind": designation.kind.name},
            )
            return redirect("schools:designation_list")
    context = {"form": form, "title": _("登记认定"), "unit_picker": True, "multipart": True}
    return render(request, "schools/designation_form.html", context)


@accepts_uploads
@login_required
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    designation = scope.get_in_scope(
        request.user, Designation.objects.select_related("org_unit", "kind"), "org_unit", pk=pk
    )
    scope.require(request.user, Perm.ADMIN, designation.org_unit)
    form = RevokeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            designations.revoke(
                request.user,
                designation,
                revoked_on=form.cleaned_data["revoked_on"],
                note=form.cleaned_data["note"],
                evidence=form.cleaned_data.get("evidence"),
            )
        except ServiceError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("已撤销。"))
            return redirect("schools:designation_list")
    title = _("撤销认定：%(unit)s · %(kind)s") % {"unit": designation.org_unit.name, "kind": designation.kind.name}
    context = {"form": form, "title": title, "designation": designation, "multipart": True}
    return render(request, "schools/designation_form.html", context)


@login_required
@require_GET
def evidence(request: HttpRequest, pk: int, which: str) -> HttpResponseBase:
    """A grant's (``which=grant``) or revocation's (``which=revoke``) evidence, to users who see the unit."""
    if which not in ("grant", "revoke"):
        raise Http404
    designation = scope.get_in_scope(request.user, Designation.objects.select_related("org_unit"), "org_unit", pk=pk)
    return protected_file(designation.evidence if which == "grant" else designation.revoke_evidence)


@accepts_uploads
@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            result = designations.import_grants(request.user, form.cleaned_data["file"])
        except ServiceError as error:
            errors = error.errors
        else:
            messages.success(request, _("已导入 %(n)s 条认定。") % {"n": len(result.created)})
            return redirect("schools:designation_list")
    return render(request, "schools/designation_import.html", {"form": form, "errors": errors})


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    response = HttpResponse(designations.import_template(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="designations.xlsx"'
    return response
