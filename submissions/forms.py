"""Forms of the bureau's definition pages (figures, rules, periods) and of the workflow steps.

The principal's value form is not a Django form: its fields depend on the unit and every value is
parsed by ``submissions.validation.parse_value`` inside the workflow service, so the browser, the
API and the Excel import give the same messages.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.labels import LabelSuffixMixin
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions import workflow
from submissions.models import Figure, Period, PeriodException, ValidationRule
from submissions.reporting import ReportedBy, scope_errors, stage_errors
from submissions.validation import check_rule_definition


class FigureForm(LabelSuffixMixin, forms.ModelForm):
    reported_by_levels = forms.MultipleChoiceField(
        label=_("填报层级"), choices=Level.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    reported_by_school_types = forms.MultipleChoiceField(
        label=_("填报学校类型"), choices=SchoolType.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    reported_by_ownership = forms.MultipleChoiceField(
        label=_("填报办学性质"), choices=Ownership.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    # Codes typed, not a select: the tree has thousands of units.
    reported_by_within = forms.CharField(
        label=_("填报区域"),
        required=False,
        help_text=_("单位代码，多个用逗号分隔；这些单位及其下级符合条件的单位填报。留空表示全市。"),
    )

    class Meta:
        model = Figure
        fields = [
            "code", "name", "name_en", "unit", "value_type", "time_aggregation", "unit_aggregation",
            "min_value", "max_value", "reported_by_levels", "reported_by_school_types", "reported_by_ownership",
            "reported_by_within", "reported_by_top_areas", "reported_by_central_only", "stage", "required",
            "allows_not_applicable", "from_period", "until_period",
            "change_warning_share", "help_text", "group", "order", "is_active",
        ]  # fmt: skip
        help_texts = {
            "reported_by_levels": _("所选条件须同时满足（层级、学校类型、办学性质、区域）。都不选表示所有学校填报。"),
        }

    def __init__(self, *args: Any, require_units: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_units = require_units
        self.reported_by: ReportedBy | None = ReportedBy.of(self.instance) if self.instance.pk else None
        if self.reported_by is not None and not self.is_bound:
            self.initial["reported_by_within"] = ", ".join(unit.code for unit in self.reported_by.within)

    def clean_reported_by_within(self) -> list[OrgUnit]:
        codes = list(
            dict.fromkeys(code.strip() for code in re.split(r"[,，、\s]+", self.cleaned_data["reported_by_within"]))
        )
        codes = [code for code in codes if code]
        units = list(OrgUnit.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {unit.code for unit in units})
        if unknown:
            raise forms.ValidationError(_("单位代码不存在：{codes}").format(codes="、".join(unknown)))
        return units

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "reported_by_within" in data:
            self.reported_by = ReportedBy(
                levels=list(data.get("reported_by_levels") or []),
                school_types=list(data.get("reported_by_school_types") or []),
                ownership=list(data.get("reported_by_ownership") or []),
                within=data["reported_by_within"],
                central_only=bool(data.get("reported_by_central_only")),
                top_areas=bool(data.get("reported_by_top_areas")),
                stage=data.get("stage") or "",
            )
            for problem in scope_errors(self.reported_by, require_units=self.require_units):
                self.add_error(None, problem)
            for problem in stage_errors(data.get("stage") or "", self.reported_by):
                self.add_error("stage", problem)
        start, end = data.get("from_period"), data.get("until_period")
        if start is not None and end is not None and start.index > end.index:
            self.add_error("until_period", _("截止周期不能早于起始周期"))
        return data

    def reported_by_sentence(self) -> str:
        """Who will report, in words, with the count: the page shows it above the form."""
        return self.reported_by.sentence() if self.reported_by is not None else ""


class ValidationRuleForm(LabelSuffixMixin, forms.ModelForm):
    class Meta:
        model = ValidationRule
        fields = [
            "code",
            "name",
            "name_en",
            "left",
            "operator",
            "right",
            "severity",
            "message",
            "message_en",
            "is_active",
        ]
        help_texts = {
            "left": _("填报项代码与数字的四则运算，例如 pri_new_entrants_migrant"),
            "right": _("例如 pri_new_entrants 或 pri_enrolled * 0.5"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("left") and data.get("right"):
            codes = Figure.objects.values_list("code", flat=True)
            for name, messages in check_rule_definition(data["left"], data["right"], codes).items():
                for message in messages:
                    self.add_error(name, message)
        return data


class PeriodForm(LabelSuffixMixin, forms.ModelForm):
    code = forms.CharField(label=_("代码"), max_length=6, help_text=_("例如 2023Q1"))

    class Meta:
        model = Period
        fields = ["code", "opens_on", "due_on", "locks_on"]
        widgets = {name: forms.DateInput(attrs={"type": "date"}) for name in ("opens_on", "due_on", "locks_on")}

    def clean_code(self) -> str:
        try:
            year, quarter = workflow.parse_period_code(self.cleaned_data["code"])
        except Exception as exc:  # noqa: BLE001  (ServiceError carries the translated message)
            raise forms.ValidationError(getattr(exc, "errors", {}).get("period", [str(exc)])) from None
        self.instance.year, self.instance.quarter = year, quarter
        code = Period.code_for(year, quarter)
        clash = Period.objects.filter(year=year, quarter=quarter).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("该周期已存在"))
        return code


class PeriodExceptionForm(LabelSuffixMixin, forms.ModelForm):
    org_unit = forms.CharField(label=_("单位代码"))

    class Meta:
        model = PeriodException
        fields = ["org_unit", "reason", "until"]
        widgets = {"until": forms.DateInput(attrs={"type": "date"})}

    def clean_org_unit(self) -> OrgUnit:
        unit = OrgUnit.objects.filter(code=self.cleaned_data["org_unit"].strip()).first()
        if unit is None:
            raise forms.ValidationError(_("单位代码不存在"))
        return unit


class ReasonForm(LabelSuffixMixin, forms.Form):
    reason = forms.CharField(label=_("原因"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
