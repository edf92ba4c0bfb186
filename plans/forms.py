"""Browser forms for bureau staff: plans, sections, work items and the plan workbook import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.models import Plan, Section, WorkItem
from portal import scope
from portal.scope import Perm


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ["code", "title", "year", "owner_unit", "parent", "status", "guiding_ideas"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = scope.visible_units(user, Perm.ADMIN).exclude(level="school")
        self.fields["parent"].queryset = (
            Plan.objects.exclude(pk=self.instance.pk) if self.instance.pk else Plan.objects.all()
        )
        if self.instance.pk:
            self.fields["code"].disabled = True  # natural key used by the API and workbooks


class SectionForm(forms.ModelForm):
    class Meta:
        model = Section
        fields = ["code", "title", "order", "intro"]

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        clash = Section.objects.filter(plan=self.plan, code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("同一工作要点中部分代码不能重复"))
        return code


class WorkItemForm(forms.ModelForm):
    class Meta:
        model = WorkItem
        fields = ["section", "number", "title", "text"]

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = plan.sections.all()
        if self.instance.pk is None and not self.is_bound:
            # Work items are numbered through the whole document (一、1. 2. … 二、5. 6.): offer the next one,
            # in the last section (where a new item is usually appended).
            last = WorkItem.objects.filter(section__plan=plan).order_by("-number", "-pk").first()
            # (An unsaved instance gives the form its empty values as initial: replace those.)
            if self.initial.get("number") is None:
                self.initial["number"] = (last.number + 1) if last else 1
            if last is not None and self.initial.get("section") is None:
                self.initial["section"] = last.section_id

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        section, number = data.get("section"), data.get("number")
        if section and number is not None:
            clash = WorkItem.objects.filter(section=section, number=number).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("number", _("同一部分中序号不能重复"))
        return data


class PlanImportForm(forms.Form):
    file = forms.FileField(label=_("工作要点工作簿（.xlsx）"))
