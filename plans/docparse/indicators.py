"""Suggesting the indicator or designation kind a target most likely uses, by name and synonyms.

A small table for the demo indicator codes (``demo/indicators.py``) first: each entry lists keyword groups, every
group must match (any synonym in a group), and ``exclude`` words veto. A measure the table does not know is looked
up in the standard catalogue's names and synonyms (``indicators.catalogue_names``, no database), with less confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from indicators import catalogue_names

# A catalogue name found in the target's own text: a plain name match, surer than a guess from context only.
CATALOGUE_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Synonyms:
    """One indicator code and the words that name it in plans."""

    code: str
    groups: tuple[tuple[str, ...], ...]
    exclude: tuple[str, ...] = ()


SYNONYMS: tuple[Synonyms, ...] = (
    # 毛入园率 and 入园率 name one measure in these plans: the demo keeps one indicator for each age band.
    Synonyms("kg_3yr_rate", (("学前三年",), ("入园率",))),
    Synonyms("kg_preschool_1yr_rate", (("学前一年",), ("入园率",))),
    Synonyms("pri_ontime_entry_rate", (("按时入学率", "适龄儿童入学率"),)),
    Synonyms("pri_retention_rate", (("小学",), ("巩固率",))),
    Synonyms("special_disabled_enrolment_rate", (("残疾",), ("入学率",))),
    Synonyms("kg_new_entrants_migrant", (("幼儿园", "入园"), ("外来生", "随迁子女", "外来务工"))),
    Synonyms("kg_new_entrants", (("幼儿园",), ("招收", "招生", "新生", "入园人数")), exclude=("外来生",)),
    Synonyms("pri_new_entrants_migrant", (("小学", "一年级"), ("外来生", "随迁子女", "外来务工"))),
    Synonyms("pri_new_entrants", (("小学", "一年级"), ("招收", "招生", "新生")), exclude=("外来生",)),
    Synonyms("special_school_new_kaizhi_classes", (("开智班",),)),
    Synonyms("special_school_new_preschool_classes", (("学前班",),)),
    Synonyms("schools_over_2000", (("大校额", "2000人以上"),)),
    Synonyms("classes_over_55", (("大班额",),), exclude=("超大班额",)),
    Synonyms("max_grade1_class_size", (("一年级",), ("班额", "班生规模", "班级规模"))),
    Synonyms("designations_standard_kg", (("标准化",), ("幼儿园", "园"))),
    Synonyms("designations_demo_kg", (("示范",), ("幼儿园", "示范园"))),
    Synonyms("designations_standard_mgmt_pri", (("管理标准化", "标准化学校"), ("小学", "学校")), exclude=("幼儿园",)),
    Synonyms("central_joint_research_per_semester", (("教研活动", "合作教研", "联片教研"),)),
    Synonyms("central_quality_monitoring_per_semester", (("质量监测", "质量检测", "教学质量监控"),)),
)


def suggest_indicator(text: str, context: str = "") -> tuple[str | None, float]:
    """The best indicator code for a target's normalised ``text`` (``context``: its parent's text), with confidence.

    Words found in the target itself count more than words found only in the context.
    """
    best: tuple[str | None, float] = (None, 0.0)
    for entry in SYNONYMS:
        if any(word in text for word in entry.exclude):
            continue
        own = 0
        borrowed = 0
        for group in entry.groups:
            if any(word in text for word in group):
                own += 1
            elif context and any(word in context for word in group):
                borrowed += 1
            else:
                break
        else:
            total = len(entry.groups)
            score = (own + 0.6 * borrowed) / total
            confidence = round(min(0.95, 0.5 + 0.2 * total * score), 2) if own else 0.0
            if own and (confidence > best[1]):
                best = (entry.code, confidence)
    if best[0] is None:
        found = catalogue_names.match(text, installable_only=True)
        if found:
            best = (found[0], CATALOGUE_CONFIDENCE)
    return best
