"""Portal pages to create and edit org units (the API does the same through ``schools/units.py``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal import scope
from portal.errors import ServiceError
from portal.scope import Perm
from schools import units
from schools.models import OrgUnit
from schools.unit_search import nearby_units

INDENT = "\u3000"


class OrgUnitForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = units.EDITABLE_FIELDS
        widgets = {
            "opened_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "closed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        error_messages = {"code": {"unique": units.DUPLICATE_CODE}}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["parent"]
        allowed = scope.visible_units(user, Perm.ADMIN)
        current = self.instance.parent if self.instance.pk and self.instance.parent_id else None
        if current is not None:  # keeping the parent one does not administer is not a move (units.check_placement)
            allowed = allowed | OrgUnit.objects.filter(pk=current.pk)
        field.queryset = allowed  # type: ignore[attr-defined]
        raw = self.data.get("parent") if self.is_bound else None
        chosen = [int(raw)] if raw and str(raw).isascii() and str(raw).isdigit() and len(str(raw)) < 19 else []
        options = nearby_units(user, current, perm=Perm.ADMIN, extra_ids=chosen)
        if current is not None and current not in options:
            options.insert(0, current)
        field.widget.choices = [
            ("", "---------"),
            *((u.pk, f"{INDENT * u.depth}{u.name}（{u.code}）") for u in options),
        ]
        field.widget.attrs.update({"data-unit-picker": "1", "data-levels": "", "data-perm": "admin"})
        field.required = not scope.is_superuser(user)  # only a superuser starts a new tree


def _save(request: HttpRequest, form: OrgUnitForm) -> HttpResponse | None:
    if not form.is_valid():
        return None
    try:
        unit = units.save_unit(request.user, form.save(commit=False))
    except ServiceError as error:
        for field, field_messages in error.errors.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
        return None
    messages.success(request, _("已保存。"))
    return redirect(unit)


def _render(request: HttpRequest, form: OrgUnitForm, title: str) -> HttpResponse:
    return render(request, "schools/unit_form.html", {"form": form, "title": title})


@login_required
def unit_create(request: HttpRequest) -> HttpResponse:
    scope.require(request.user, Perm.ADMIN)
    form = OrgUnitForm(request.POST or None, user=request.user)
    if request.method == "POST" and (response := _save(request, form)) is not None:
        return response
    return _render(request, form, _("新建单位"))


@login_required
def unit_edit(request: HttpRequest, code: str) -> HttpResponse:
    unit = scope.get_in_scope(request.user, OrgUnit.objects.select_related("parent"), "", code=code)
    scope.require(request.user, Perm.ADMIN, unit)
    form = OrgUnitForm(request.POST or None, instance=unit, user=request.user)
    if request.method == "POST" and (response := _save(request, form)) is not None:
        return response
    return _render(request, form, _("修改单位：%(name)s") % {"name": unit.name})
