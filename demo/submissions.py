"""Demo figures, rules, periods and realistic data for the demo bureau, up to today's quarter.

The figures cover the 2023 plan's measurable targets (seed 000): kindergarten and primary intake
(其中外来生, 其中适龄按时入学), enrolment, graduates and their cohort, transfers, dropouts, class sizes,
enrolment of children with the three categories of disability, the areas' population by age, and
central schools' joint research and quality monitoring. Values are drawn from a generator seeded by
the unit code, so they are the same on every machine; the city totals land near the plan's numbers
(≈ 23 000 primary entrants, rates around their targets).

Periods run without a gap from 2022Q4 to the end of the current year (from ``timezone.localdate()``). Data is
written for the 2023 plan's history (2022Q4–2023Q4) and for the current year with the quarter before it
(last year's Q4, so the current quarter always has a previous one): earlier quarters approved, the current
quarter a mix of approved, submitted, returned and draft forms. The years between keep their periods and
no data. A few drafts of the current quarter carry a stock figure typed 40 % above last quarter's, so the
form shows the stock-change warning.

Idempotent: figures, rules and periods are matched by code and left alone when present; a period
that already has submissions gets no demo data. Loads in a few seconds on SQLite.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone

from schools.models import PATH_SEGMENT_WIDTH, OrgUnit, SchoolType, Stage
from submissions.models import (
    Channel,
    Figure,
    HistoryAction,
    Operator,
    Period,
    Severity,
    Submission,
    SubmissionHistory,
    SubmissionStatus,
    TimeAggregation,
    UnitAggregation,
    ValidationRule,
    Value,
    ValueType,
)
from submissions.reporting import active_figures, store_within
from submissions.validation import Issue, RuleSet, applies_to, figures_for_unit
from submissions.workflow import previous_values

KG = (SchoolType.KINDERGARTEN,)
PRI = (SchoolType.PRIMARY, SchoolType.NINE_YEAR)
CENTRAL = (SchoolType.PRIMARY,)
DISABILITY = (SchoolType.PRIMARY, SchoolType.NINE_YEAR, SchoolType.JUNIOR, SchoolType.SPECIAL)
SPECIAL = (SchoolType.SPECIAL,)
FLOW, STOCK = TimeAggregation.FLOW, TimeAggregation.STOCK
GRADUATES_HELP = "7 月毕业后在第三季度填报；其他季度不填"


@dataclass(frozen=True)
class FigureSpec:
    code: str
    name: str
    name_en: str
    unit: str
    group: str
    time: str = FLOW
    types: tuple[str, ...] = ()
    top_areas: bool = False
    central_only: bool = False
    aggregation: str = UnitAggregation.SUM
    max_value: int | None = None
    help_text: str = ""
    change_share: Decimal | None = None  # None: the portal-wide STOCK_CHANGE_WARNING_SHARE
    within: tuple[str, ...] = ()  # org-unit codes: only their subtrees report
    required: bool = True
    allows_na: bool = False


FIGURES = [
    # --- 幼儿园 ---
    FigureSpec("kg_enrolled", "在园幼儿数", "Children enrolled", "人", "幼儿园", STOCK, KG, max_value=2000),
    FigureSpec("kg_enrolled_senior", "大班在园幼儿数", "Children enrolled in the senior class", "人", "幼儿园", STOCK,
               KG, max_value=1000, help_text="学前一年（大班）在园幼儿数"),
    FigureSpec("kg_new_entrants", "本季度新招收幼儿数", "New entrants this quarter", "人", "幼儿园", FLOW, KG,
               max_value=1000),
    FigureSpec("kg_new_entrants_migrant", "其中：外来生", "of which migrant children", "人", "幼儿园", FLOW, KG,
               max_value=1000, help_text="非本市户籍的随迁子女"),
    # --- 小学 ---
    FigureSpec("pri_new_entrants", "一年级新生数", "Grade-1 entrants", "人", "小学招生", FLOW, PRI, max_value=2000),
    FigureSpec("pri_new_entrants_migrant", "其中：外来生", "of which migrant children", "人", "小学招生", FLOW,
               PRI, max_value=2000),
    FigureSpec("pri_new_entrants_ontime", "其中：适龄按时入学", "of which entering at the proper age", "人",
               "小学招生", FLOW, PRI, max_value=2000, help_text="当年8月31日前满6周岁入学的新生"),
    FigureSpec("pri_enrolled", "在校生数", "Pupils enrolled", "人", "小学在校生", STOCK, PRI, max_value=5000),
    # Graduation is in July: graduates are filled in the third quarter only and left empty in the others, so a
    # quarter without a graduating class has no retention rate ("无数据"), not 0 %.
    FigureSpec("pri_graduates", "毕业生数", "Graduates", "人", "小学在校生", FLOW, PRI, max_value=2000,
               required=False, help_text=GRADUATES_HELP),
    FigureSpec("pri_cohort_entrants", "毕业年级入学时人数", "Graduating cohort's grade-1 intake", "人", "小学在校生",
               STOCK, PRI, max_value=2000, help_text="本届毕业生一年级入学时的人数，用于计算巩固率"),
    FigureSpec("pri_transfers_in", "转入学生数", "Transfers in", "人", "小学在校生", FLOW, PRI, max_value=500),
    FigureSpec("pri_transfers_out", "转出学生数", "Transfers out", "人", "小学在校生", FLOW, PRI, max_value=500),
    FigureSpec("pri_dropouts", "辍学学生数", "Dropouts", "人", "小学在校生", FLOW, PRI, max_value=500),
    FigureSpec("pri_classes", "班级数", "Classes", "个", "班额", STOCK, PRI, max_value=120),
    FigureSpec("pri_classes_over_55", "其中：56人及以上大班额班级数", "of which classes over 55 pupils", "个", "班额",
               STOCK, PRI, max_value=120, change_share=Decimal(1)),  # small counts: 2 → 1 is a 50 % move
    FigureSpec("pri_grade1_classes", "一年级班级数", "Grade-1 classes", "个", "班额", STOCK, PRI, max_value=30,
               change_share=Decimal(1)),
    FigureSpec("pri_grade1_max_class_size", "一年级最大班额", "Largest grade-1 class", "人", "班额", STOCK, PRI,
               aggregation=UnitAggregation.MAX, max_value=80),
    # --- 残疾儿童 ---
    FigureSpec("special_enrolled_disabled", "三类残疾儿童在校生数", "Enrolled children with the three disabilities",
               "人", "特殊教育", STOCK, DISABILITY, max_value=1000, help_text="视力、听力、智力残疾儿童在校生合计"),
    FigureSpec("special_new_kaizhi_classes", "新招开智班数", "New kaizhi classes", "个", "特殊教育", FLOW, SPECIAL,
               max_value=20),
    FigureSpec("special_new_preschool_classes", "新招学前班数", "New preschool classes", "个", "特殊教育", FLOW,
               SPECIAL, max_value=20),
    # --- 区县人口（区县/直属乡镇填报） ---
    FigureSpec("pop_age_3_5", "3-5周岁常住儿童数", "Resident children aged 3-5", "人", "人口", STOCK, top_areas=True,
               max_value=200000),
    FigureSpec("pop_age_5", "5周岁常住儿童数", "Resident children aged 5", "人", "人口", STOCK, top_areas=True,
               max_value=100000, help_text="学前一年适龄儿童"),
    FigureSpec("pop_age_6", "6周岁常住儿童数", "Resident children aged 6", "人", "人口", STOCK, top_areas=True,
               max_value=100000, help_text="小学一年级适龄儿童"),
    FigureSpec("pop_disabled_school_age", "三类残疾适龄儿童数", "School-age children with the three disabilities", "人",
               "人口", STOCK, top_areas=True, max_value=10000),
    # --- 中心小学 ---
    FigureSpec("central_joint_research", "片区合作教研活动次数", "Joint teaching-research activities", "次", "片区管理",
               FLOW, CENTRAL, central_only=True, max_value=50,
               help_text="本季度组织辖区小学、幼儿园小片区合作教研活动的次数"),
    FigureSpec("central_quality_monitoring", "辖区小学质量监测次数", "Quality-monitoring rounds", "次", "片区管理",
               FLOW, CENTRAL, central_only=True, max_value=20),
    # --- 课后服务与寄宿: one scoped figure (东城区 only), one optional, one that allows 不适用 ---
    FigureSpec("pri_after_school_pupils", "参加课后服务学生数", "Pupils in after-school care", "人", "课后服务与寄宿",
               STOCK, PRI, max_value=5000, within=("D01",), help_text="东城区试点学校填报"),
    FigureSpec("pri_library_books_added", "本季度新增图书册数", "Library books added this quarter", "册",
               "课后服务与寄宿", FLOW, PRI, max_value=20000, required=False, help_text="选填"),
    FigureSpec("pri_boarding_pupils", "寄宿生数", "Boarding pupils", "人", "课后服务与寄宿", STOCK, PRI,
               max_value=3000, allows_na=True, help_text="没有寄宿的学校选择“不适用”"),
]  # fmt: skip

RULES = [
    # code, name, left, operator, right, severity, message (the English name and message: RULES_EN)
    ("kg_migrant_le_new", "外来生不超过新招收幼儿数", "kg_new_entrants_migrant", Operator.LE, "kg_new_entrants",
     Severity.ERROR, "外来生数不能超过新招收幼儿数"),
    ("kg_senior_le_enrolled", "大班幼儿不超过在园幼儿", "kg_enrolled_senior", Operator.LE, "kg_enrolled",
     Severity.ERROR, "大班在园幼儿数不能超过在园幼儿总数"),
    ("pri_migrant_le_new", "外来生不超过新生数", "pri_new_entrants_migrant", Operator.LE, "pri_new_entrants",
     Severity.ERROR, "外来生数不能超过一年级新生数"),
    ("pri_ontime_le_new", "按时入学不超过新生数", "pri_new_entrants_ontime", Operator.LE, "pri_new_entrants",
     Severity.ERROR, "适龄按时入学人数不能超过一年级新生数"),
    ("pri_new_le_enrolled", "新生不超过在校生", "pri_new_entrants", Operator.LE, "pri_enrolled",
     Severity.ERROR, "一年级新生数不能超过在校生数"),
    ("pri_over55_le_classes", "大班额班级不超过班级数", "pri_classes_over_55", Operator.LE, "pri_classes",
     Severity.ERROR, "大班额班级数不能超过班级总数"),
    ("pri_grade1_le_classes", "一年级班级不超过班级数", "pri_grade1_classes", Operator.LE, "pri_classes",
     Severity.ERROR, "一年级班级数不能超过班级总数"),
    ("pri_average_class_size", "平均班额不超过60人", "pri_enrolled", Operator.LE, "pri_classes * 60",
     Severity.WARNING, "平均班额超过60人，请核实在校生数和班级数"),
    ("pri_grade1_max_size", "一年级最大班额不超过55人", "pri_grade1_max_class_size", Operator.LE, "55",
     Severity.WARNING, "一年级最大班额超过55人，请说明原因"),
    ("pop_5_le_3_5", "5周岁人口不超过3-5周岁人口", "pop_age_5", Operator.LE, "pop_age_3_5",
     Severity.ERROR, "5周岁儿童数不能超过3-5周岁儿童数"),
]  # fmt: skip

# The rules' English name and message, shown on English pages (portal.i18n.localized).
RULES_EN = {
    "kg_migrant_le_new": (
        "Migrant entrants ≤ new kindergarten entrants",
        "Migrant children cannot exceed the newly admitted children",
    ),
    "kg_senior_le_enrolled": (
        "Senior class ≤ children enrolled",
        "Children in the senior class cannot exceed all children enrolled",
    ),
    "pri_migrant_le_new": ("Migrant entrants ≤ first-graders", "Migrant pupils cannot exceed the new first-graders"),
    "pri_ontime_le_new": (
        "On-time entrants ≤ first-graders",
        "Pupils entering at the right age cannot exceed the new first-graders",
    ),
    "pri_new_le_enrolled": ("First-graders ≤ pupils enrolled", "New first-graders cannot exceed the pupils enrolled"),
    "pri_over55_le_classes": ("Large classes ≤ classes", "Classes over 55 pupils cannot exceed the number of classes"),
    "pri_grade1_le_classes": ("Grade-1 classes ≤ classes", "Grade-1 classes cannot exceed the number of classes"),
    "pri_average_class_size": (
        "Average class size ≤ 60",
        "The average class has more than 60 pupils: please check the pupils enrolled and the classes",
    ),
    "pri_grade1_max_size": (
        "Largest grade-1 class ≤ 55",
        "The largest grade-1 class has more than 55 pupils: please explain why",
    ),
    "pop_5_le_3_5": ("Age 5 ≤ ages 3–5", "Children aged 5 cannot exceed the children aged 3–5"),
}

# The 2023 plan's history (with the quarter before it, for quarter-on-quarter warnings); periods start here.
HISTORY_QUARTERS = [(2022, 4), (2023, 1), (2023, 2), (2023, 3), (2023, 4)]
# Drafts of the current quarter with one stock figure typed this much above last quarter's (the first the
# unit reports, in this order): the stock-change warning fires on them.
DRAFT_JUMP = Decimal("1.4")
DRAFT_JUMP_FIGURES = ("kg_enrolled", "pri_enrolled", "pop_age_3_5", "special_enrolled_disabled")
AREA_PATH_LENGTH = 2 * (PATH_SEGMENT_WIDTH + 1)
URBAN_AREAS = ("D01", "D02", "D03")


def period_dates(year: int, quarter: int) -> tuple[datetime.date, datetime.date, datetime.date]:
    """Opens on the first day of the quarter's last month, due on the 10th after it, locks at that month's end."""
    last_month = 3 * quarter
    opens = datetime.date(year, last_month, 1)
    next_year, next_month = (year + 1, 1) if quarter == 4 else (year, last_month + 1)
    due = datetime.date(next_year, next_month, 10)
    following = datetime.date(next_year + (next_month == 12), next_month % 12 + 1, 1)
    return opens, due, following - datetime.timedelta(days=1)


def quarter_of(day: datetime.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarters_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """Every quarter from ``first`` to ``last``, both included (empty when ``last`` is earlier)."""
    result = []
    year, quarter = first
    while (year, quarter) <= last:
        result.append((year, quarter))
        year, quarter = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    return result


def demo_quarters(today: datetime.date) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(every period to define, the periods given data) as of ``today``: periods without a gap from the first
    history quarter to the end of this year (a plan of the year names its later quarters: due, 起评); data for
    the history and for this year up to today's quarter, with last year's Q4 before it."""
    current = quarter_of(today)
    periods = quarters_between(HISTORY_QUARTERS[0], max((current[0], 4), HISTORY_QUARTERS[-1]))
    recent = quarters_between((current[0] - 1, 4), current)
    return periods, sorted(set(HISTORY_QUARTERS) | set(recent))


def _period(year: int, quarter: int) -> Period:
    opens, due, locks = period_dates(year, quarter)
    period, _created = Period.objects.get_or_create(
        year=year, quarter=quarter,
        defaults={"code": Period.code_for(year, quarter), "opens_on": opens, "due_on": due, "locks_on": locks},
    )  # fmt: skip
    return period


def load(stdout: TextIO | None = None) -> dict[str, int]:
    with transaction.atomic():
        figures = _load_figures()
        for code, name, left, op, right, severity, message in RULES:
            name_en, message_en = RULES_EN[code]
            rule, _created = ValidationRule.objects.get_or_create(
                code=code,
                defaults={"name": name, "left": left, "operator": op, "right": right, "severity": severity,
                          "message": message, "name_en": name_en, "message_en": message_en},
            )  # fmt: skip
            if not rule.name_en and not rule.message_en:  # a demo loaded before rules had English texts
                rule.name_en, rule.message_en = name_en, message_en
                rule.save(update_fields=["name_en", "message_en", "updated_at"])
        today = timezone.localdate()
        all_quarters, data_quarters = demo_quarters(today)
        periods = {key: _period(*key) for key in all_quarters}
        current = periods.get(quarter_of(today)) or periods[all_quarters[-1]]
        if current.opens_on > today:
            # The demo's current quarter is open from its first day, so principals can try the form now.
            current.opens_on = current.start_date
            current.save(update_fields=["opens_on", "updated_at"])
        counts = {"figures": len(figures), "periods": len(periods), "submissions": 0, "values": 0}
        units = [u for u in OrgUnit.objects.filter(is_active=True).order_by("path") if _reports(u, figures)]
        for key in data_quarters:
            period = periods[key]
            if Submission.objects.filter(period=period).exists():
                continue  # loaded earlier
            made, values = _load_period(period, units, figures, latest=period == current)
            counts["submissions"] += made
            counts["values"] += values
    if stdout is not None:
        stdout.write(
            f"submissions: {counts['figures']} figures, {len(RULES)} rules, {counts['periods']} periods "
            f"(current {current.code}), "
            f"{counts['submissions']} submissions with {counts['values']} values\n"
        )
    return counts


def _stage(spec: FigureSpec) -> str:
    """The 小学 figures are stage figures: a 九年一贯制 school reports its primary part (小学部), so the equity view
    counts that part as one primary school (docs/architecture.md, "Who reports what")."""
    return Stage.PRIMARY if spec.types == PRI else ""


def _load_figures() -> dict[str, Figure]:
    result = {}
    for order, spec in enumerate(FIGURES, start=1):
        figure, _created = Figure.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name, "name_en": spec.name_en, "unit": spec.unit, "group": spec.group, "order": order,
                "value_type": ValueType.INTEGER, "time_aggregation": spec.time, "unit_aggregation": spec.aggregation,
                "min_value": Decimal(0), "max_value": None if spec.max_value is None else Decimal(spec.max_value),
                "reported_by_school_types": list(spec.types), "reported_by_top_areas": spec.top_areas,
                "reported_by_central_only": spec.central_only, "help_text": spec.help_text,
                "change_warning_share": spec.change_share, "required": spec.required,
                "allows_not_applicable": spec.allows_na, "stage": _stage(spec),
            },
        )  # fmt: skip
        if _created and spec.within:
            store_within(figure, OrgUnit.objects.filter(code__in=spec.within))
        result[figure.code] = figure
    # Read back with what the reporting rule needs loaded (regions, periods): no query per unit and figure.
    return {figure.code: figure for figure in active_figures() if figure.code in result}


def _reports(unit: OrgUnit, figures: dict[str, Figure]) -> bool:
    return any(applies_to(figure, unit) for figure in figures.values())


# --- the numbers ---


def _service_values(unit: OrgUnit, period: Period) -> dict[str, int]:
    """After-school, library and boarding figures (stable per school). A negative boarding count stands for 不适用:
    about a quarter of the schools have no boarders; about half fill in the optional library figure."""
    base = random.Random(f"{unit.code}:services")
    quarterly = random.Random(f"{unit.code}:{period.code}:services")
    values = {"pri_after_school_pupils": base.randint(80, 600)}
    if base.random() < 0.5:
        values["pri_library_books_added"] = quarterly.randint(0, 800)
    values["pri_boarding_pupils"] = -1 if base.random() < 0.25 else base.randint(20, 400)
    return values


def _school_values(unit: OrgUnit, year: int, quarter: int) -> dict[str, int]:
    """One school's figures for a quarter; stable per unit (seeded by its code) and per school year."""
    base = random.Random(unit.code)  # the school's size and character
    urban = unit.code.startswith(URBAN_AREAS)
    school_year = year if quarter >= 3 else year - 1  # September starts a school year
    yearly = random.Random(f"{unit.code}:{school_year}")
    quarterly = random.Random(f"{unit.code}:{year}Q{quarter}")
    values: dict[str, int] = {}
    if unit.school_type == SchoolType.KINDERGARTEN:
        size = base.randint(230, 720) if urban else base.randint(85, 360)
        enrolled = int(size * yearly.uniform(0.95, 1.05))
        intake = int(enrolled / 3 * yearly.uniform(0.95, 1.08))
        new = intake if quarter == 3 else (int(intake * 0.08) if quarter == 1 else quarterly.randint(0, 3))
        values |= {
            "kg_enrolled": enrolled,
            "kg_enrolled_senior": int(enrolled / 3 * yearly.uniform(0.95, 1.02)),
            "kg_new_entrants": new,
            "kg_new_entrants_migrant": int(new * base.uniform(0.03, 0.16 if urban else 0.06)),
        }
    if unit.school_type in PRI:
        size = base.randint(800, 2050) if urban else base.randint(160, 800)
        if unit.is_central:
            size = int(size * 1.3)
        enrolled = int(size * yearly.uniform(0.97, 1.04))
        intake = int(enrolled / 6 * yearly.uniform(0.97, 1.06))
        new = intake if quarter == 3 else 0
        migrant = int(new * base.uniform(0.06, 0.2 if urban else 0.08))
        cohort = int(enrolled / 6 * yearly.uniform(0.95, 1.02))
        classes = max(6, round(enrolled / base.uniform(40, 52)))
        grade1_classes = max(1, round(intake / 44))
        crowded = base.random() < 0.15
        values |= {
            "pri_new_entrants": new,
            "pri_new_entrants_migrant": migrant,
            "pri_new_entrants_ontime": new - (quarterly.randint(0, 2) if new else 0),
            "pri_enrolled": enrolled,
            "pri_cohort_entrants": cohort,
            "pri_transfers_in": quarterly.randint(0, 12 if quarter in (1, 3) else 4),
            "pri_transfers_out": quarterly.randint(0, 10 if quarter in (1, 3) else 3),
            "pri_dropouts": 1 if quarterly.random() < 0.02 else 0,
            "pri_classes": classes,
            "pri_classes_over_55": (2 if school_year <= 2022 else 1) if crowded else 0,  # being phased out
            "pri_grade1_classes": grade1_classes,
            "pri_grade1_max_class_size": min(58, int(intake / grade1_classes) + base.randint(0, 6)),
        }
        if quarter == 3:  # the July graduation; left empty in the other quarters (GRADUATES_HELP)
            values["pri_graduates"] = int(cohort * yearly.uniform(0.985, 1.01))
        if unit.is_central:
            values |= {
                "central_joint_research": quarterly.randint(1, 2),
                "central_quality_monitoring": 1 if quarter in (2, 4) else quarterly.randint(0, 1),
            }
    if unit.school_type in DISABILITY:
        special = unit.school_type == SchoolType.SPECIAL
        # Children with visual, hearing or intellectual disability: a few per ordinary school (随班就读).
        enrolled = base.randint(80, 110) if special else int(base.random() < 0.3) + base.randint(0, 2)
        values["special_enrolled_disabled"] = enrolled
        if special:
            values |= {
                "special_new_kaizhi_classes": 2 if quarter == 3 else 0,
                "special_new_preschool_classes": 1 if quarter == 3 else 0,
            }
    return values


def _area_values(
    area: OrgUnit, schools: list[dict[str, int]], intake: int, year: int, city_disabled: int
) -> dict[str, int]:
    """An area's population, drawn around what its schools report so the rates land near the plan's targets.

    ``intake`` is the area's latest September intake of pupils entering at the proper age;
    ``city_disabled`` is this area's share of the pupils of the city's own special school.
    """
    rng = random.Random(f"{area.code}:pop:{year}")

    def total(code: str) -> int:
        return sum(values.get(code, 0) for values in schools)

    senior = total("kg_enrolled_senior")
    disabled = total("special_enrolled_disabled") + city_disabled
    pop_5 = int(senior / rng.uniform(0.985, 1.0))
    return {
        "pop_age_5": pop_5,
        "pop_age_3_5": max(pop_5, int(total("kg_enrolled") / rng.uniform(0.96, 0.99))),
        "pop_age_6": int(intake / rng.uniform(0.99, 1.0)),
        "pop_disabled_school_age": int(disabled / rng.uniform(0.93, 0.98)),
    }


def _status(unit: OrgUnit, latest: bool) -> str:
    """Every earlier quarter is approved; the latest shows a realistic mix for the review screens."""
    if not latest:
        return SubmissionStatus.APPROVED
    roll = random.Random(f"{unit.code}:status").random()
    if roll < 0.80:
        return SubmissionStatus.APPROVED
    if roll < 0.90:
        return SubmissionStatus.SUBMITTED
    if roll < 0.94:
        return SubmissionStatus.RETURNED
    if roll < 0.97:
        return SubmissionStatus.DRAFT
    return ""  # not started


EXPLANATIONS = {
    "pri_grade1_max_size": "片区内学位紧张，秋季已申请增设一个一年级班，下学期分班",
    "pri_average_class_size": "校舍改造期间临时合班，已报区教育局备案",
}


def _explanations(issues: list[Issue]) -> dict[str, str]:
    """What a principal wrote for each warning the demo data raises (a submitted form needs one)."""
    return {
        issue.key: EXPLANATIONS.get(issue.key, "新学年招生与分班调整，已核实") for issue in issues if not issue.is_error
    }


def _load_period(
    period: Period,
    units: list[OrgUnit],
    figures: dict[str, Figure],
    latest: bool,
) -> tuple[int, int]:
    """Write one quarter's submissions; warnings are judged against the stored values of the quarter before."""
    now = timezone.now()
    previous = previous_values(period, [unit.pk for unit in units])
    rules = RuleSet.load()
    figure_list = list(figures.values())
    per_unit: dict[int, dict[str, int]] = {}
    not_applicable: dict[int, set[str]] = {}  # unit → figures answered 不适用
    areas = [u for u in units if u.depth == 1 and u.level != "school"]
    area_by_path = {a.path: a for a in areas}
    schools_of: dict[int, list[dict[str, int]]] = {a.pk: [] for a in areas}
    intake: dict[int, int] = dict.fromkeys(schools_of, 0)
    school_year = period.year if period.quarter >= 3 else period.year - 1
    for unit in units:
        if unit.pk in schools_of:
            continue
        raw = _school_values(unit, period.year, period.quarter) | _service_values(unit, period)
        values = {code: v for code, v in raw.items() if code in figures and applies_to(figures[code], unit)}
        if "pri_boarding_pupils" in values and values["pri_boarding_pupils"] < 0:
            del values["pri_boarding_pupils"]
            not_applicable.setdefault(unit.pk, set()).add("pri_boarding_pupils")
        per_unit[unit.pk] = values
        area = area_by_path.get(unit.path[:AREA_PATH_LENGTH])
        if area is not None:
            schools_of[area.pk].append(values)
            intake[area.pk] += _school_values(unit, school_year, 3).get("pri_new_entrants_ontime", 0)
    # Pupils of schools directly under the bureau (the special school) live in every area: share them out.
    city_schools = [
        values for unit in units if unit.depth == 1 and unit.pk in per_unit for values in [per_unit[unit.pk]]
    ]
    city_disabled = sum(values.get("special_enrolled_disabled", 0) for values in city_schools) // max(1, len(areas))
    for area in areas:
        per_unit[area.pk] = _area_values(area, schools_of[area.pk], intake[area.pk], period.year, city_disabled)

    submissions: list[Submission] = []
    for unit in units:
        status = _status(unit, latest)
        if not status:
            continue
        if status == SubmissionStatus.DRAFT:
            _jump_a_stock_figure(per_unit[unit.pk], previous.get(unit.pk, {}))
        submitted = status in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED, SubmissionStatus.RETURNED)
        submissions.append(
            Submission(
                org_unit=unit, period=period, status=status, version=3 if submitted else 2,
                submitted_at=now if submitted else None,
                approved_at=now if status == SubmissionStatus.APPROVED else None,
                returned_at=now if status == SubmissionStatus.RETURNED else None,
                return_reason="请核对转入转出人数" if status == SubmissionStatus.RETURNED else "",
                # A draft is still being filled in: its warnings wait for the principal's explanation.
                explanations={} if status == SubmissionStatus.DRAFT else _explanations(
                    rules.check(
                        {code: Decimal(v) for code, v in per_unit[unit.pk].items()},
                        figures_for_unit(unit, figure_list),
                        previous.get(unit.pk, {}),
                    )
                ),
            )
        )  # fmt: skip
    Submission.objects.bulk_create(submissions, batch_size=500)
    if any(s.pk is None for s in submissions):
        by_unit = {s.org_unit_id: s for s in Submission.objects.filter(period=period)}
        submissions = [by_unit[s.org_unit_id] for s in submissions]
    value_rows: list[Value] = []
    history: list[SubmissionHistory] = []
    for submission in submissions:
        for code, number in per_unit[submission.org_unit_id].items():
            value_rows.append(Value(submission=submission, figure=figures[code], value=Decimal(number)))
        for code in sorted(not_applicable.get(submission.org_unit_id, ())):
            value_rows.append(Value(submission=submission, figure=figures[code], value=None, not_applicable=True))
        history.append(
            SubmissionHistory(
                submission=submission, action=HistoryAction.VALUE, note="演示数据导入", channel=Channel.SYSTEM,
                version=2,
            )
        )  # fmt: skip
        steps: list[Any] = []
        if submission.status != SubmissionStatus.DRAFT:
            steps.append(HistoryAction.SUBMIT)
        if submission.status == SubmissionStatus.APPROVED:
            steps.append(HistoryAction.APPROVE)
        if submission.status == SubmissionStatus.RETURNED:
            steps.append(HistoryAction.RETURN)
        history.extend(
            SubmissionHistory(
                submission=submission, action=action, channel=Channel.SYSTEM, version=3,
                note=submission.return_reason if action == HistoryAction.RETURN else "",
            )
            for action in steps
        )  # fmt: skip
    Value.objects.bulk_create(value_rows, batch_size=2000)
    SubmissionHistory.objects.bulk_create(history, batch_size=2000)
    return len(submissions), len(value_rows)


def _jump_a_stock_figure(values: dict[str, int], previous: Mapping[str, Decimal | None]) -> None:
    """A draft's first stock figure of ``DRAFT_JUMP_FIGURES`` typed ``DRAFT_JUMP`` times last quarter's value
    (a slip the form's stock-change warning is there to catch); nothing when last quarter has no such value."""
    for code in DRAFT_JUMP_FIGURES:
        before = previous.get(code)
        if code in values and before:
            values[code] = int(before * DRAFT_JUMP)
            return
