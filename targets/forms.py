"""Browser forms of a target: its definition (bureau staff), its expected path, progress notes (owners) and
their review. Saving goes through targets.targets_service; the preview through ``TargetForm.candidate``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.models import Plan, WorkItem
from portal import scope
from portal.scope import Perm
from schools.models import Level, OrgUnit
from schools.unit_search import nearby_units
from submissions.models import Period
from targets import kind_fields
from targets.models import MilestoneStatus, Target, TargetKind
from targets.targets_service import EDITABLE_FIELDS

# The unit pickers of the form (static/js/unit-picker.js searches the rest): field → levels offered.
UNIT_PICKERS = {"scope": (Level.BUREAU, Level.DISTRICT, Level.TOWNSHIP), "owner_unit": ()}


INDENT = "\u3000"  # a full-width space per level of the tree


def _unit_choice(unit: OrgUnit) -> tuple[int, str]:
    return unit.pk, f"{INDENT * unit.depth}{unit.name}（{unit.code}）"


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
            "completed_on": forms.DateInput(attrs={"type": "date"}),
            "start_month": forms.NumberInput(attrs={"min": 1, "max": 12}),
            "due_month": forms.NumberInput(attrs={"min": 1, "max": 12}),
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
        self._bound_unit_pickers(user)
        self.kind = kind_fields.kind_of(self._chosen_kind())
        self._defaults = {
            name: (str(field.label or ""), str(field.help_text or "")) for name, field in self.fields.items()
        }
        for name in self.Meta.fields:
            text = kind_fields.text_of(self.kind, name)
            if text.label:
                self.fields[name].label = text.label
            if text.help:
                self.fields[name].help_text = text.help
        # Validating writes the cleaned values onto ``self.instance``: keep what is stored now.
        self.stored_scope = self.instance.scope if self.instance.pk else plan.owner_unit
        self.stored_values = {
            Target._meta.get_field(name).attname: getattr(self.instance, Target._meta.get_field(name).attname)
            for name in self.Meta.fields
        }

    def _chosen_kind(self) -> Any:
        """The kind the form is shown in: the posted one, else the target's, else the initial one."""
        if self.is_bound:
            return self.data.get("kind")
        if self.instance.pk:
            return self.instance.kind
        return self.initial.get("kind")

    def _bound_unit_pickers(self, user: Any) -> None:
        """Unit selects list only the chosen unit and its neighbourhood (bounded): the queryset still
        validates any unit of the user's scope, which static/js/unit-picker.js finds by searching."""
        for name, levels in UNIT_PICKERS.items():
            field = self.fields[name]
            raw = self.data.get(name) if self.is_bound else None
            chosen = [int(raw)] if raw and str(raw).isascii() and str(raw).isdigit() and len(str(raw)) < 19 else []
            current = getattr(self.instance, f"{name}_id", None) if self.instance.pk else None
            anchor = self.instance.scope if self.instance.pk else self.plan.owner_unit
            units = nearby_units(user, anchor, levels=levels, perm=Perm.ADMIN, extra_ids=[*chosen, current or 0])
            field.widget.choices = [("", "---------"), *(_unit_choice(unit) for unit in units)]
            field.widget.attrs.update({"data-unit-picker": "1", "data-levels": ",".join(levels), "data-perm": "admin"})

    def rows(self) -> list[tuple[Any, bool]]:
        """(bound field, shown) for the template: a field of another kind is rendered hidden (the JS shows it
        when the kind changes; without JS, 预览 re-renders the form in the chosen kind)."""
        applies = kind_fields.fields_of(self.kind)
        return [(self[name], name in applies or name not in self.Meta.fields) for name in self.fields]

    def kind_table(self) -> dict[str, dict[str, dict[str, str]]]:
        """kind → field → wording, for static/js/target-kind.js (json_script)."""
        return kind_fields.as_json(self._defaults)

    def target_fields(self) -> dict[str, Any]:
        """The cleaned values the service takes (only the model fields); fields that do not apply to the
        chosen kind are reset to their defaults (kind_fields), so a switched kind leaves no stale value."""
        fields = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        if fields.get("scope") is None:
            fields["scope"] = self.stored_scope
        for name in ("comparator", "direction", "owner_name", "milestone_status"):
            fields[name] = fields.get(name) or ""
        if fields.get("order") is None:
            fields["order"] = 0
        return kind_fields.only_kind_fields(kind_fields.kind_of(fields.get("kind")), fields)

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
    reported_on = forms.DateField(
        label=_("进展日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("记录所反映的日期（计入该日期所在季度）；不填为今天"),
    )  # fmt: skip
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
