"""Which fields of a target apply to each kind, and how the form words them for that kind.

The one table the target form reads: server-side it hides the rows of other kinds, labels the fields
in the kind's own words ("每个单位须达到", "每个单位每学期至少…次") and resets values of fields that
do not apply (a target switched from frequency to milestone keeps no stale per-unit minimum); the
template hands the same table to static/js/target-kind.js, which swaps rows and labels without reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Field
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from targets.models import Target, TargetKind


@dataclass(frozen=True)
class FieldText:
    """A field's label and help text in one kind's words (None: the model's own)."""

    label: Promise | None = None
    help: Promise | None = None


# Fields every kind has: where the target sits in the document, what it says, who owns it, when it is due.
COMMON_FIELDS = (
    "section", "work_item", "code", "text", "kind", "scope", "due_period", "due_date", "owner_unit",
    "owner_name", "owner_user", "part_of", "contributes_to", "order",
)  # fmt: skip

# kind → the fields of that kind beyond COMMON_FIELDS, with their wording (FieldText() keeps the model's).
KIND_FIELDS: dict[str, dict[str, FieldText]] = {
    TargetKind.THRESHOLD: {
        "indicator": FieldText(help=_("衡量该比率或数值的统计指标")),
        "comparator": FieldText(_("达标方式")),
        "direction": FieldText(
            help=_("仅“较上年有提高”时使用：如“入园率有一定提高”选越高越好，“辍学率下降”选越低越好")
        ),
        "target_value": FieldText(_("须达到的值"), _("如“入园率达99%以上”填 99；“较上年有提高”不填")),
        "target_value_max": FieldText(_("区间上限"), _("仅“区间”时填写")),
        "baseline_value": FieldText(),
        "baseline_period": FieldText(),
        "applies_to_each_unit": FieldText(_("每个单位须达到"), _("勾选后每个单位（默认每所学校）都须达到，不只看总体")),
        "each_unit_level": FieldText(_("逐个评估的单位"), _("“每个县区”“每个学区”“每所学校”：按该层级的每个单位评估")),
        "range_is_ceiling": FieldText(help=_("区间如“2-3所”：默认超过上限仍算达标；勾选后超过上限视为未达标")),
        "assess_from": FieldText(),
        "path_mode": FieldText(),
        "at_risk_margin": FieldText(),
    },
    TargetKind.QUANTITY: {
        "indicator": FieldText(help=_("年内累计的数量指标，如新增学位数")),
        "comparator": FieldText(_("达标方式")),
        "direction": FieldText(help=_("仅“较上年有提高”时使用：数量越多越好还是越少越好")),
        "target_value": FieldText(_("年内累计须达到"), _("如“新增学位2000个”填 2000；“较上年有提高”不填")),
        "target_value_max": FieldText(_("区间上限"), _("仅“区间”时填写")),
        "applies_to_each_unit": FieldText(_("每个单位须达到"), _("勾选后所选层级的每个单位都须达到该数量")),
        "each_unit_level": FieldText(_("逐个评估的单位"), _("“每个县区”“每个学区”“每所学校”：按该层级的每个单位评估")),
        "range_is_ceiling": FieldText(help=_("区间如“2-3所”：默认超过上限仍算达标；勾选后超过上限视为未达标")),
        "baseline_value": FieldText(),
        "baseline_period": FieldText(),
        "assess_from": FieldText(),
        "path_mode": FieldText(),
        "at_risk_margin": FieldText(),
    },
    TargetKind.COUNT_UNITS: {
        "indicator": FieldText(help=_("须选择“认定数”类指标（如标准化幼儿园认定数）")),
        "comparator": FieldText(_("达标方式")),
        "target_value": FieldText(_("须认定/创建的单位数"), _("如“新创建5所示范园”填 5；计划未给数量时留空（跟踪中）")),
        "target_value_max": FieldText(_("区间上限"), _("如“每个县区创建2-3所”填 3")),
        "applies_to_each_unit": FieldText(_("每个单位须达到"), _("勾选后所选层级（区县或学区）每个单位都须达到")),
        "each_unit_level": FieldText(_("逐个评估的单位"), _("“每个县区”“每个学区”“每所学校”：按该层级的每个单位评估")),
        "range_is_ceiling": FieldText(help=_("区间如“2-3所”：默认超过上限仍算达标；勾选后超过上限视为未达标")),
        "baseline_value": FieldText(),
        "baseline_period": FieldText(),
        "assess_from": FieldText(),
        "path_mode": FieldText(),
        "at_risk_margin": FieldText(),
    },
    TargetKind.LIMIT: {
        "indicator": FieldText(help=_("被控制的数量，如大班额学校数")),
        "comparator": FieldText(_("控制方式")),
        "target_value": FieldText(_("不得超过"), _("零容忍填 0")),
        "target_value_max": FieldText(_("区间上限"), _("仅“区间”时填写")),
        "each_unit_level": FieldText(_("逐个评估的单位"), _("“每个县区”“每个学区”“每所学校”：按该层级的每个单位评估")),
        "range_is_ceiling": FieldText(help=_("区间如“2-3所”：默认超过上限仍算达标；勾选后超过上限视为未达标")),
        "assess_from": FieldText(),
        "at_risk_margin": FieldText(),
    },
    TargetKind.FREQUENCY: {
        "indicator": FieldText(help=_("每所学校填报的次数，如送教下乡次数")),
        "per_unit_minimum": FieldText(_("每个单位每周期至少（次）"), _("每个符合条件的单位每个周期至少达到的次数")),
        "rhythm": FieldText(),
        "target_value": FieldText(_("看板显示的目标值"), _("可不填；未填每周期次数时作为每周期次数")),
        "target_value_max": FieldText(_("每周期上限（次）"), _("区间如“每学期2-3次”：每周期次数填 2、上限填 3")),
        "each_unit_level": FieldText(_("逐个评估的单位"), _("“每个县区”“每个学区”“每所学校”：按该层级的每个单位评估")),
        "range_is_ceiling": FieldText(help=_("区间如“2-3所”：默认超过上限仍算达标；勾选后超过上限视为未达标")),
        "assess_from": FieldText(),
        "at_risk_margin": FieldText(),
    },
    TargetKind.MILESTONE: {
        "start_month": FieldText(help=_("如“2–7月招生”填 2；此前的季度不评估")),
        "due_month": FieldText(help=_("如“2–7月招生”填 7、“3月评审”填 3；该月底前未完成即为滞后")),
        "milestone_status": FieldText(_("当前状态")),
        "completed_on": FieldText(help=_("完成之前的季度不算已达成；选“已完成”未填日期时记为今天")),
    },
    TargetKind.NARRATIVE: {},
}
# A form with no valid kind yet (a new target) is shown, previewed and saved as a threshold.
DEFAULT_KIND = TargetKind.THRESHOLD
KIND_WORDING: dict[str, dict[str, FieldText]] = {
    TargetKind.MILESTONE: {"due_date": FieldText(_("须在此日期前完成"))},
    TargetKind.NARRATIVE: {"due_period": FieldText(_("完成期限"), _("定性工作按季度填写进展记录"))},
}


def kind_of(value: Any) -> str:
    """A valid kind, else the default one."""
    return value if value in TargetKind.values else DEFAULT_KIND


def fields_of(kind: str) -> frozenset[str]:
    """The fields that apply to ``kind``."""
    return frozenset(COMMON_FIELDS) | frozenset(KIND_FIELDS[kind_of(kind)])


def text_of(kind: str, name: str) -> FieldText:
    """The wording of field ``name`` for ``kind`` (FieldText() when the model's own applies)."""
    kind = kind_of(kind)
    return KIND_FIELDS[kind].get(name) or KIND_WORDING.get(kind, {}).get(name) or FieldText()


def cleared_value(name: str) -> Any:
    """What a field not of the kind is reset to: the model's default (None, "", False, 0.05 …)."""
    field = Target._meta.get_field(name)
    assert isinstance(field, Field)  # the editable fields are concrete model fields
    if field.has_default():
        return field.get_default()
    if getattr(field, "null", False):
        return None
    return ""


def only_kind_fields(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every field that does not apply to ``kind`` reset to its default (ignored, cleared)."""
    applies = fields_of(kind)
    return {name: (value if name in applies else cleared_value(name)) for name, value in values.items()}


def as_json(defaults: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    """The table for the browser: kind → field → {"label", "help"} in the active language.

    ``defaults`` are the form's own (label, help) per field, used where a kind keeps the model's wording.
    """
    table: dict[str, dict[str, dict[str, str]]] = {}
    for kind in TargetKind.values:
        table[kind] = {}
        for name in sorted(fields_of(kind)):
            if name not in defaults:
                continue
            text = text_of(kind, name)
            label, help_text = defaults[name]
            table[kind][name] = {
                "label": str(text.label) if text.label else label,
                "help": str(text.help) if text.help else help_text,
            }
    return table
