"""The equity view of a county (县域义务教育优质均衡): each 校际差异系数 (cv) indicator for primary and for junior
schools against the national thresholds, with the schools furthest from the mean.

Reads only the stored rows of the engine: a school's cv row carries its own PᵢXᵢ, Pᵢ and PᵢXᵢ² (numerator,
denominator, moment2), so the rows of one stage's schools add up to the stage's X̄ and CV exactly as the engine
adds them up the tree (``engine.dispersion_value``). Four queries whatever the number of schools: the cv
indicators, the stages of their figures, the sums per indicator and stage, the furthest schools per indicator and
stage (a window function).

A stage indicator (one reading 小学部 or 初中部 figures, ``Figure.stage``; ``engine.indicator_stages``) has
that one stage: every school with a part of that stage (``schools.models.STAGE_SCHOOL_TYPES``) is one unit of it,
a 九年一贯制 school by its part's own figures, listed as "XX学校（小学部）". The engine computed that row from
the part's figures, so nothing is split here and a district's sums count each school once.

An indicator reading whole-school figures keeps the older reading by school type: 小学 = primary schools and
teaching points, 初中 = junior and complete secondary schools, and a 九年一贯制 school (one value for both
parts) is counted with its primary side unless the indicator counts junior schools only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Abs, RowNumber
from django.utils.translation import gettext_lazy as _

from indicators.engine import dispersion_value, indicator_stages
from indicators.models import Aggregation, Indicator, IndicatorValue
from indicators.unit_filter import UnitFilter
from schools.models import STAGE_SCHOOL_TYPES, Level, OrgUnit, SchoolType, stage_unit_name
from submissions.models import Period

PRIMARY, JUNIOR = "primary", "junior"
# The national standard's ceilings: 小学 ≤ 0.50, 初中 ≤ 0.45.
THRESHOLDS = {PRIMARY: Decimal("0.50"), JUNIOR: Decimal("0.45")}
STAGE_LABELS = {PRIMARY: _("小学"), JUNIOR: _("初中")}
STAGE_TYPES = {
    PRIMARY: [SchoolType.PRIMARY, SchoolType.TEACHING_POINT],
    JUNIOR: [SchoolType.JUNIOR, SchoolType.COMPLETE_SECONDARY],
}
FURTHEST = 5


@dataclass
class School:
    code: str
    name: str
    value: float  # the school's own Xᵢ
    gap: float  # Xᵢ − X̄ of its stage


@dataclass
class StageValue:
    stage: str
    label: str
    threshold: Decimal
    cv: Decimal | None = None
    mean: Decimal | None = None
    units: int = 0
    left_out: int = 0
    furthest: list[School] = field(default_factory=list)

    @property
    def meets(self) -> bool | None:
        """True / False against the threshold; None without a value."""
        return None if self.cv is None else self.cv <= self.threshold


@dataclass
class EquityRow:
    indicator: Indicator
    stages: list[StageValue]
    stage: str = ""  # a stage indicator's one stage; "" for whole-school figures (both stages shown)


def _nine_year_stage(indicator: Indicator) -> str:
    types = set(UnitFilter.of(indicator).school_types)
    return JUNIOR if types and not types & {SchoolType.PRIMARY, SchoolType.TEACHING_POINT} else PRIMARY


def _stage_case(indicators: list[Indicator], own_stage: dict[int, str]) -> Case:
    whens = [
        When(indicator_id=pk, org_unit__school_type__in=STAGE_SCHOOL_TYPES[stage], then=Value(stage))
        for pk, stage in sorted(own_stage.items())
    ]
    if own_stage:
        whens.append(When(indicator_id__in=sorted(own_stage), then=Value("")))
    whens += [When(org_unit__school_type__in=types, then=Value(stage)) for stage, types in STAGE_TYPES.items()]
    whens += [
        When(Q(org_unit__school_type=SchoolType.NINE_YEAR, indicator_id=i.pk), then=Value(_nine_year_stage(i)))
        for i in indicators
    ]
    return Case(*whens, default=Value(""), output_field=CharField())


def equity_rows(unit: OrgUnit, period: Period | None, furthest: int = FURTHEST) -> list[EquityRow]:
    """The cv indicators with their primary and junior values in ``unit``'s subtree for ``period``."""
    indicators = list(Indicator.objects.filter(aggregation=Aggregation.CV, is_active=True).order_by("code"))
    if not indicators:
        return []
    stages = {
        (i.pk, stage): StageValue(stage, str(STAGE_LABELS[stage]), THRESHOLDS[stage])
        for i in indicators
        for stage in (PRIMARY, JUNIOR)
    }
    own_stage = {pk: stage for pk, stage in indicator_stages(indicators).items() if stage in THRESHOLDS}
    rows = [
        EquityRow(i, [stages[(i.pk, own_stage[i.pk])]], own_stage[i.pk])
        if i.pk in own_stage
        else EquityRow(i, [stages[(i.pk, PRIMARY)], stages[(i.pk, JUNIOR)]])
        for i in indicators
    ]
    if period is None:
        return rows
    schools = IndicatorValue.objects.filter(
        indicator__in=indicators,
        period=period,
        org_unit__path__startswith=unit.path,
        org_unit__level=Level.SCHOOL,
        org_unit__is_active=True,
    ).annotate(stage=_stage_case(indicators, own_stage))
    means: dict[tuple[int, str], Decimal] = {}
    for item in (
        schools.exclude(stage="")
        .values("indicator_id", "stage")
        .annotate(
            num=Sum("numerator"),
            den=Sum("denominator"),
            m2=Sum("moment2"),
            cnt=Sum("unit_count"),
            lo=Sum("left_out_count"),
        )
        .order_by()
    ):
        target = stages[(item["indicator_id"], item["stage"])]
        num, den, m2 = (_decimal(item[k]) for k in ("num", "den", "m2"))
        target.units, target.left_out = int(item["cnt"] or 0), int(item["lo"] or 0)
        target.cv = dispersion_value(Aggregation.CV, num, den, m2, target.units)
        target.mean = dispersion_value(Aggregation.MEAN, num, den, m2, target.units)
        if target.mean is not None:
            means[(item["indicator_id"], item["stage"])] = target.mean
    if not means or furthest <= 0:
        return rows
    own = ExpressionWrapper(F("numerator") * Value(1.0) / F("denominator"), output_field=FloatField())
    mean = Case(
        *[When(indicator_id=ind, stage=stage, then=Value(float(m))) for (ind, stage), m in sorted(means.items())],
        output_field=FloatField(),
    )
    ranked = (
        schools.filter(unit_count__gt=0, denominator__gt=0)
        .annotate(own=own, mean=mean)
        .exclude(mean=None)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("indicator_id"), F("stage")],
                order_by=[Abs(F("own") - F("mean")).desc(), F("org_unit__code").asc()],
            )
        )
        .filter(rank__lte=furthest)
        .values_list(
            "indicator_id", "stage", "org_unit__code", "org_unit__name", "org_unit__school_type", "own", "mean", "rank"
        )
        .order_by("indicator_id", "stage", "rank")
    )
    for ind, stage, code, name, school_type, own_value, mean_value, _rank in ranked:
        if ind in own_stage:
            name = stage_unit_name(name, school_type, stage)  # "XX学校（小学部）": the part is the unit
        stages[(ind, stage)].furthest.append(School(code, name, float(own_value), float(own_value - mean_value)))
    return rows


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))
