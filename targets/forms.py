"""Browser forms of a target: its definition (bureau staff), its expected path, progress notes (owners) and
their review. Saving goes through targets.targets_service; the preview through ``TargetForm.candidate``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.models import Plan, WorkItem
from portal import scope
from portal.scope import Perm
from submissions.models import Period
from targets.models import MilestoneStatus, Target, TargetKind
from targets.targets_service import EDITABLE_FIELDS


class TargetForm(forms.ModelForm):
    """The target's fields; saving goes through the target service (rules, history, version check)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("变更原因"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("已发布工作要点的目标值、指标、范围、期限等变更须填写原因"),
    )  # fmt: skip

    class Meta:
        model = Target
        fields = [name for name in EDITABLE_FIELDS if name != "milestone_status"] + ["milestone_status"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, plan: Plan, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["section"].queryset = plan.sections.all()
        self.fields["work_item"].queryset = WorkItem.objects.filter(section__plan=plan).select_related("section")
        units = scope.visible_units(user, Perm.ADMIN).exclude(level="school")
        self.fields["scope"].queryset = units
        self.fields["scope"].required = False
        self.fields["owner_unit"].queryset = scope.visible_units(user, Perm.ADMIN)
        periods = Period.objects.filter(year__in=[plan.year - 1, plan.year])
        self.fields["due_period"].queryset = periods
        self.fields["baseline_period"].queryset = periods
        self.fields["assess_from"].queryset = periods.filter(year=plan.year)
        others = (
            Target.objects.filter(plan=plan).exclude(pk=self.instance.pk) if self.instance.pk else plan.targets.all()
        )
        self.fields["part_of"].queryset = others
        self.fields["contributes_to"].queryset = (
            Target.objects.filter(plan_id=plan.parent_id) if plan.parent_id else Target.objects.none()
        )
        self.fields["owner_user"].queryset = (
            self.fields["owner_user"]
            .queryset.filter(memberships__org_unit__in=scope.visible_units(user, Perm.VIEW))
            .distinct()
        )
        self.fields["version"].initial = self.instance.version if self.instance.pk else None
        # Validating writes the cleaned values onto ``self.instance``: keep what is stored now.
        self.stored_scope = self.instance.scope if self.instance.pk else plan.owner_unit
        self.stored_values = {
            Target._meta.get_field(name).attname: getattr(self.instance, Target._meta.get_field(name).attname)
            for name in self.Meta.fields
        }

    def target_fields(self) -> dict[str, Any]:
        """The cleaned values the service takes (only the model fields)."""
        fields = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        if fields.get("scope") is None:
            fields["scope"] = self.stored_scope
        for name in ("comparator", "owner_name", "milestone_status"):
            fields[name] = fields.get(name) or ""
        if fields.get("order") is None:
            fields["order"] = 0
        return fields

    def candidate(self) -> Target:
        """The unsaved target this bound form describes, for the preview (the 预览 button and the live JS).

        Built from ``target_fields()``, the values saving hands to the target service, so a valid form
        previews exactly what it would save. A form still being filled in previews what it has: a field
        that does not validate yet keeps the target's current value (a new target: the model's default;
        a kind not chosen yet is previewed as a threshold).
        """
        self.is_valid()
        fields = {
            name: value for name, value in self.target_fields().items() if name in self.cleaned_data or name == "scope"
        }
        candidate = Target(plan=self.plan, **fields)
        if self.instance.pk:
            for name in self.Meta.fields:
                if name not in fields:
                    attname = Target._meta.get_field(name).attname
                    setattr(candidate, attname, self.stored_values[attname])
            candidate.pk = self.instance.pk
        if candidate.kind not in TargetKind.values:
            candidate.kind = TargetKind.THRESHOLD
        return candidate


class PathPointForm(forms.Form):
    """One quarter of the explicit expected path."""

    period = forms.ModelChoiceField(queryset=Period.objects.all(), widget=forms.HiddenInput)
    expected_value = forms.DecimalField(label=_("预期值"), max_digits=20, decimal_places=4, required=False)


PathPointFormSet = forms.formset_factory(PathPointForm, extra=0)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("进展说明"), widget=forms.Textarea(attrs={"rows": 4}))
    period = forms.ModelChoiceField(label=_("季度"), queryset=Period.objects.none(), required=False)
    evidence = forms.FileField(label=_("佐证材料"), required=False, help_text=_("PDF、图片、Word 或 Excel 文件"))
    milestone_status = forms.ChoiceField(
        label=_("里程碑状态"), choices=[("", "—"), *MilestoneStatus.choices], required=False
    )

    def __init__(self, *args: Any, target: Target, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = Period.objects.filter(year=target.plan.year)
        if target.kind != TargetKind.MILESTONE:
            del self.fields["milestone_status"]
        else:
            self.fields["milestone_status"].initial = target.milestone_status


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("认可")), ("return", _("退回补充"))])
    comment = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
