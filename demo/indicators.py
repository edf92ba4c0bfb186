"""The demo's standard indicators, their definitions written out (formula and where each input comes from).

Codes match the seed plan's ``suggested_indicator`` names so ``demo.targets`` links targets to
them; figure codes are those of ``demo.submissions``. An indicator whose figures are missing is
skipped with a message (never half-defined). Idempotent: matched by code, updated in place.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TextIO

from django.db import transaction

from indicators.models import Aggregation, Indicator
from portal import expressions
from schools.models import DesignationKind, SchoolType
from submissions.models import Figure

KG = [SchoolType.KINDERGARTEN]
PRIMARY = [SchoolType.PRIMARY, SchoolType.NINE_YEAR, SchoolType.TEACHING_POINT]

RATE_3YR = {
    "name": "学前三年毛入园率",
    "name_en": "Gross three-year preschool enrolment rate",
    "numerator": "kg_enrolled",
    "denominator": "pop_age_3_5",
    "factor": 100,
    "unit": "%",
    "school_types": KG,
    "definition": (
        "在园幼儿数 ÷ 3–5 周岁常住人口 × 100。分子：各幼儿园每季度填报的在园幼儿数（存量，取本年最新一期）；"
        "分母：各区县教育局填报的 3–5 周岁人口（存量）。区县及全市的比率是分子之和除以分母之和，不是各园比率的平均。"
    ),
}
RATE_1YR = {
    "name": "学前一年入园率",
    "name_en": "Pre-school-year enrolment rate",
    "numerator": "kg_enrolled_senior",
    "denominator": "pop_age_5",
    "factor": 100,
    "unit": "%",
    "school_types": KG,
    "definition": (
        "大班在园幼儿数 ÷ 5 周岁常住人口 × 100。分子：各幼儿园填报的大班在园人数（存量）；"
        "分母：区县教育局填报的 5 周岁人口（存量）。"
    ),
}
RETENTION = {
    "name": "小学巩固率",
    "name_en": "Primary retention rate",
    "numerator": "pri_graduates",
    "denominator": "pri_cohort_entrants + pri_transfers_in - pri_transfers_out",
    "factor": 100,
    "unit": "%",
    "school_types": PRIMARY,
    "definition": (
        "毕业生数 ÷（该届入学时新生数 + 转入 − 转出）× 100。各小学填报：毕业生数、该届入学新生数、"
        "六年间累计转入与转出人数（流量，年内累计）。转入多于流失时可以超过 100%。"
        "毕业生在第三季度（7 月毕业后）填报，其他季度不填：本年尚无毕业生的季度分子无数据，"
        "显示“无数据”而不是 0%。"
    ),
}

INDICATORS: list[dict[str, Any]] = [
    {"code": "kg_3yr_rate", **RATE_3YR},
    {"code": "kg_preschool_1yr_rate", **RATE_1YR},
    {
        "code": "pri_ontime_entry_rate",
        "name": "适龄儿童按时入学率",
        "name_en": "On-time primary entry rate",
        "numerator": "pri_new_entrants_ontime",
        "denominator": "pop_age_6",
        "factor": 100,
        "unit": "%",
        "school_types": PRIMARY,
        "definition": (
            "一年级新生中适龄（6 周岁）按时入学人数 ÷ 6 周岁常住人口 × 100。分子：各小学填报的"
            "“其中适龄按时入学”（流量，年内累计）；分母：区县教育局填报的 6 周岁人口（存量）。"
        ),
    },
    {"code": "pri_retention_rate", **RETENTION},
    {
        "code": "special_disabled_enrolment_rate",
        "name": "三类残疾儿童义务教育入学率",
        "name_en": "Compulsory-education enrolment rate of children with disabilities",
        "numerator": "special_enrolled_disabled",
        "denominator": "pop_disabled_school_age",
        "factor": 100,
        "unit": "%",
        "definition": (
            "在校（含随班就读、送教上门）视力、听力、智力残疾适龄儿童数 ÷ 区县残联核定的三类残疾适龄儿童数 × 100。"
            "分子：各学校和特殊教育学校填报（存量）；分母：区县教育局填报（存量）。"
        ),
    },
    {
        "code": "kg_new_entrants",
        "name": "幼儿园招生数",
        "name_en": "Kindergarten new entrants",
        "numerator": "kg_new_entrants",
        "aggregation": Aggregation.SUM,
        "unit": "人",
        "decimals": 0,
        "school_types": KG,
        "definition": "各幼儿园填报的新入园幼儿数之和（流量，年内各季度累计）。",
    },
    {
        "code": "kg_new_entrants_migrant",
        "name": "幼儿园招生数（其中外来生）",
        "name_en": "Kindergarten new entrants, of whom migrants",
        "numerator": "kg_new_entrants_migrant",
        "aggregation": Aggregation.SUM,
        "unit": "人",
        "decimals": 0,
        "school_types": KG,
        "definition": "各幼儿园填报的新入园幼儿中外来（随迁）幼儿数之和（流量，年内累计）。",
    },
    {
        "code": "pri_new_entrants",
        "name": "小学招生数",
        "name_en": "Primary new entrants",
        "numerator": "pri_new_entrants",
        "aggregation": Aggregation.SUM,
        "unit": "人",
        "decimals": 0,
        "school_types": PRIMARY,
        "definition": "各小学填报的一年级新生数之和（流量，年内累计）。",
    },
    {
        "code": "pri_new_entrants_migrant",
        "name": "小学招生数（其中外来生）",
        "name_en": "Primary new entrants, of whom migrants",
        "numerator": "pri_new_entrants_migrant",
        "aggregation": Aggregation.SUM,
        "unit": "人",
        "decimals": 0,
        "school_types": PRIMARY,
        "definition": "各小学填报的一年级新生中外来（随迁子女）人数之和（流量，年内累计）。",
    },
    {
        "code": "special_school_new_kaizhi_classes",
        "name": "特教学校新招开智班数",
        "name_en": "New kaizhi classes at the special school",
        "numerator": "special_new_kaizhi_classes",
        "aggregation": Aggregation.SUM,
        "unit": "个",
        "decimals": 0,
        "school_types": [SchoolType.SPECIAL],
        "definition": "特殊教育学校填报的新招开智班数（流量，年内累计）。",
    },
    {
        "code": "special_school_new_preschool_classes",
        "name": "特教学校新招学前班数",
        "name_en": "New preschool classes at the special school",
        "numerator": "special_new_preschool_classes",
        "aggregation": Aggregation.SUM,
        "unit": "个",
        "decimals": 0,
        "school_types": [SchoolType.SPECIAL],
        "definition": "特殊教育学校填报的新招学前班数（流量，年内累计）。",
    },
    {
        "code": "schools_over_2000",
        "name": "2000人以上大校额学校数",
        "name_en": "Schools with more than 2,000 pupils",
        "aggregation": Aggregation.COUNT_UNITS_WHERE,
        "condition": "pri_enrolled > 2000",
        "unit": "所",
        "decimals": 0,
        "definition": "在校生数（各小学填报，存量）超过 2000 人的学校数；目标为 0。",
    },
    {
        "code": "classes_over_55",
        "name": "55人以上大班额班数",
        "name_en": "Classes over 55 pupils",
        "numerator": "pri_classes_over_55",
        "aggregation": Aggregation.SUM,
        "unit": "个",
        "decimals": 0,
        "definition": "各小学填报的 56 人及以上班级数之和（存量）；目标为 0。",
    },
    {
        "code": "max_grade1_class_size",
        "name": "新一年级最大班额",
        "name_en": "Largest grade-1 class",
        "numerator": "pri_grade1_max_class_size",
        "aggregation": Aggregation.MAX,
        "unit": "人",
        "decimals": 0,
        "school_types": PRIMARY,
        "definition": "各小学填报的一年级最大班人数（存量）在范围内的最大值；目标 ≤ 45。",
    },
    {
        "code": "designations_standard_kg",
        "name": "新认定标准化幼儿园数",
        "name_en": "Kindergartens newly designated standardised",
        "aggregation": Aggregation.COUNT_DESIGNATIONS,
        "designation_kind": "standard_kg",
        "unit": "所",
        "decimals": 0,
        "definition": "本年 1 月 1 日至本期末认定、且未被撤销的“标准化幼儿园”数（来自单位认定记录）。",
    },
    {
        "code": "designations_demo_kg",
        "name": "新认定示范幼儿园数",
        "name_en": "Kindergartens newly designated model",
        "aggregation": Aggregation.COUNT_DESIGNATIONS,
        "designation_kind": "model_kg",
        "unit": "所",
        "decimals": 0,
        "definition": "本年内认定、至本期末未撤销的各级“示范幼儿园”数。",
    },
    {
        "code": "designations_province_model_kg",
        "name": "新认定省级示范幼儿园数",
        "name_en": "Kindergartens newly designated provincial model",
        "aggregation": Aggregation.COUNT_DESIGNATIONS,
        "designation_kind": "model_kg",
        "designation_level": "province",
        "unit": "所",
        "decimals": 0,
        "definition": "本年内认定为省级、至本期末未撤销的“示范幼儿园”数（只计省级认定）。",
    },
    {
        "code": "designations_standard_mgmt_pri",
        "name": "通过义务教育管理标准化学校验收数",
        "name_en": "Schools passing the compulsory-education management standard",
        "aggregation": Aggregation.COUNT_DESIGNATIONS,
        "designation_kind": "standard_school",
        "unit": "所",
        "decimals": 0,
        "definition": "本年内通过评估验收、至本期末未撤销的“义务教育管理标准化学校”数。",
    },
    {
        "code": "central_joint_research_per_semester",
        "name": "中心小学片区合作教研活动次数",
        "name_en": "Joint teaching-research activities led by central schools",
        "numerator": "central_joint_research",
        "aggregation": Aggregation.SUM,
        "unit": "次",
        "decimals": 0,
        "central_only": True,
        "definition": "各中心小学填报的组织辖区小学、幼儿园小片区合作教研活动次数（流量，年内累计；每学期应 ≥ 3 次）。",
    },
    {
        "code": "central_quality_monitoring_per_semester",
        "name": "中心小学质量监测次数",
        "name_en": "Quality-monitoring rounds by central schools",
        "numerator": "central_quality_monitoring",
        "aggregation": Aggregation.SUM,
        "unit": "次",
        "decimals": 0,
        "central_only": True,
        "definition": "各中心小学对辖区小学开展质量监测的次数（流量，年内累计；每学期应 ≥ 1 次）。",
    },
]


# 校际差异系数 (县域义务教育优质均衡): the spread of the schools' own values, CV = S ÷ X̄, each school weighted by
# its pupils. The national seven (生均教学及辅助用房面积, 生均教学仪器设备值, 每百名学生高学历教师数 …) need
# figures the demo does not collect (the catalogue has them); these three use the demo's primary-school figures.
CV_DEFINITION = (
    "校际差异系数 = 各校指标值的标准差 ÷ 平均值，以各校在校生数为权重：X̄ = ΣPᵢXᵢ ÷ ΣPᵢ，"
    "S = √(ΣPᵢ(Xᵢ − X̄)² ÷ ΣPᵢ)。分母为 0 或缺失的学校不计入（并计数），少于两所学校时无值。"
    "县域义务教育优质均衡标准：小学不高于 0.50，初中不高于 0.45。"
)
INDICATORS += [
    {
        "code": "cv_class_size",
        "name": "平均班额校际差异系数",
        "name_en": "Average class size: inter-school coefficient of variation",
        "numerator": "pri_enrolled",
        "denominator": "pri_classes",
        "weight": "pri_enrolled",
        "aggregation": Aggregation.CV,
        "decimals": 3,
        "school_types": PRIMARY,
        "definition": "各校的值：在校生数 ÷ 班级数（存量）。" + CV_DEFINITION,
    },
    {
        "code": "cv_boarding_share",
        "name": "寄宿生比例校际差异系数",
        "name_en": "Share of boarding pupils: inter-school coefficient of variation",
        "numerator": "pri_boarding_pupils",
        "denominator": "pri_enrolled",
        "factor": 100,
        "aggregation": Aggregation.CV,
        "decimals": 3,
        "school_types": PRIMARY,
        "definition": "各校的值：寄宿生数 ÷ 在校生数 × 100（存量）；填“不适用”的学校不参与。" + CV_DEFINITION,
    },
    {
        "code": "cv_books_added_per_100",
        "name": "每百名学生新增图书册数校际差异系数",
        "name_en": "Library books added per 100 pupils: inter-school coefficient of variation",
        "numerator": "pri_library_books_added",
        "denominator": "pri_enrolled",
        "factor": 100,
        "aggregation": Aggregation.CV,
        "decimals": 3,
        "school_types": PRIMARY,
        "definition": "各校的值：新增图书册数（流量，年内累计）÷ 在校生数 × 100；未填报新增图书的学校不计入（计数）。"
        + CV_DEFINITION,
    },
]


def _fields(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": spec["name"],
        "name_en": spec.get("name_en", ""),
        "definition": spec.get("definition", ""),
        "numerator": spec.get("numerator", ""),
        "denominator": spec.get("denominator", ""),
        "weight": spec.get("weight", ""),
        "factor": Decimal(str(spec.get("factor", 1))),
        "decimals": spec.get("decimals", 1),
        "unit": spec.get("unit", ""),
        "aggregation": spec.get("aggregation", Aggregation.RATIO),
        "condition": spec.get("condition", ""),
        "designation_level": spec.get("designation_level", ""),
        "unit_filter_school_types": list(spec.get("school_types", [])),
        "unit_filter_central_only": spec.get("central_only", False),
    }


@transaction.atomic
def load(stdout: TextIO | None = None) -> dict[str, int]:
    known = set(Figure.objects.values_list("code", flat=True))
    kinds = {kind.code: kind for kind in DesignationKind.objects.all()}
    created = updated = 0
    skipped: list[str] = []
    for spec in INDICATORS:
        fields = _fields(spec)
        missing: set[str] = set()
        for key, is_condition in (
            ("numerator", False),
            ("denominator", False),
            ("condition", True),
            ("weight", False),
        ):
            if fields[key]:
                node = expressions.parse(fields[key], None, condition=is_condition)
                missing |= {code for code, _offset in expressions.references(node)} - known
        if "designation_kind" in spec:
            if spec["designation_kind"] not in kinds:
                missing.add(f"kind:{spec['designation_kind']}")
            else:
                fields["designation_kind"] = kinds[spec["designation_kind"]]
        if missing:
            skipped.append(f"{spec['code']} ({', '.join(sorted(missing))})")
            continue
        indicator, was_created = Indicator.objects.get_or_create(code=spec["code"], defaults=fields)
        if was_created:
            created += 1
        elif any(getattr(indicator, name) != value for name, value in fields.items()):
            Indicator.objects.filter(pk=indicator.pk).update(**fields)
            updated += 1
    if stdout:
        stdout.write(f"targets: {len(INDICATORS) - len(skipped)} indicators ({created} new, {updated} updated)\n")
        if skipped:
            stdout.write(f"targets: skipped, figures not defined: {'; '.join(skipped)}\n")
    return {"created": created, "updated": updated, "skipped": len(skipped)}
