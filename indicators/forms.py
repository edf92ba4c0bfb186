"""Indicator definition form: expressions are checked by the engine's parser, errors name the position."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from indicators import engine
from indicators.models import Indicator
from schools.models import Level, Ownership, SchoolType


class IndicatorForm(forms.ModelForm):
    unit_filter_levels = forms.MultipleChoiceField(
        label=_("单位层级"), choices=Level.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    unit_filter_school_types = forms.MultipleChoiceField(
        label=_("学校类型"), choices=SchoolType.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    unit_filter_ownership = forms.MultipleChoiceField(
        label=_("办学性质"), choices=Ownership.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "name_en",
            "definition",
            "aggregation",
            "numerator",
            "denominator",
            "weight",
            "condition",
            "designation_kind",
            "designation_level",
            "factor",
            "decimals",
            "unit",
            "unit_filter_levels",
            "unit_filter_school_types",
            "unit_filter_ownership",
            "unit_filter_central_only",
            "is_active",
        ]
        widgets = {
            "definition": forms.Textarea(attrs={"rows": 4}),
            "numerator": forms.TextInput(attrs={"class": "expr", "spellcheck": "false", "size": 80}),
            "denominator": forms.TextInput(attrs={"class": "expr", "spellcheck": "false", "size": 80}),
            "condition": forms.TextInput(attrs={"class": "expr", "spellcheck": "false", "size": 80}),
            "weight": forms.TextInput(attrs={"class": "expr", "spellcheck": "false", "size": 80}),
        }
        help_texts = {
            "numerator": _("填报项代码与 + − × ÷、括号、数字；code[-4] 表示 4 个季度前的值"),
            "denominator": _("“比率”及平均值、标准差、差异系数使用；分母为 0 或缺失时无值（跨单位汇总时该单位不计入）"),
            "condition": _("仅“满足条件的单位数”使用，例如 pri_enrolled > 2000，可用 and / or / not"),
            "factor": _("比率 = 分子之和 ÷ 分母之和 × 系数（百分比填 100）"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The code is the indicator's natural key (URLs, API, targets): fixed once created.
            self.fields["code"].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            candidate = self.instance
            for name, value in cleaned.items():
                setattr(candidate, name, value)
            for field, messages in engine.validate_definition(candidate).items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned
