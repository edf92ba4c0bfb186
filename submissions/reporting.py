"""THE rule for "which units report a figure, in which periods" — and its set form, its words and its count.

Who reports a figure is an AND of what the figure gives: levels, school types, ownership, region (``within``: one
or more org-unit subtrees), the bureau's direct subdivisions (``top_areas``) and central schools only. With no
level and no ``top_areas``, schools report it. A figure reports only from ``from_period`` to ``until_period``
(either open-ended). Every channel asks this module: the submission page, the API, the Excel template and its
upload, completeness, reminders, the figure form's sentence and count (``tests/submissions/test_reporting.py``
fails on a second copy of the rule elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from portal.i18n import localized
from schools.models import SINGLE_STAGE_TYPES, STAGE_SCHOOL_TYPES, Level, OrgUnit, SchoolType, Stage, choice_labels
from schools.models import Ownership as OwnershipChoice
from submissions.models import Figure, Period


@dataclass
class ReportedBy:
    """A figure's reporting conditions, also for a figure not saved yet (the form and the API check them first)."""

    levels: list[str] = field(default_factory=list)
    school_types: list[str] = field(default_factory=list)
    ownership: list[str] = field(default_factory=list)
    within: list[OrgUnit] = field(default_factory=list)
    central_only: bool = False
    top_areas: bool = False
    # A stage figure (小学部在校生数): a school spanning stages reports only that part; said in ``describe``.
    stage: str = ""

    @classmethod
    def of(cls, figure: Figure) -> ReportedBy:
        # Without a pk there is no M2M yet; callers building a new figure pass ``within`` themselves.
        within = list(figure.reported_by_within.all()) if figure.pk else []
        return cls(
            levels=list(figure.reported_by_levels or []),
            school_types=list(figure.reported_by_school_types or []),
            ownership=list(figure.reported_by_ownership or []),
            within=within,
            central_only=figure.reported_by_central_only,
            top_areas=figure.reported_by_top_areas,
            stage=figure.stage,
        )

    def matches(self, unit: OrgUnit) -> bool:
        """Does ``unit`` meet every condition given? (The per-unit form of ``q``.)"""
        if self.top_areas and not (unit.depth == 1 and unit.level != Level.SCHOOL):
            return False
        if self.levels:
            if unit.level not in self.levels:
                return False
        elif not self.top_areas and unit.level != Level.SCHOOL:
            return False
        if self.school_types and unit.school_type not in self.school_types:
            return False
        if self.ownership and unit.ownership not in self.ownership:
            return False
        if self.within and not any(unit.path.startswith(area.path) for area in self.within):
            return False
        return unit.is_central or not self.central_only

    def q(self) -> Q:
        """The same conditions as a filter on OrgUnit (counts and lists in one query)."""
        condition = Q()
        if self.top_areas:
            condition &= Q(depth=1) & ~Q(level=Level.SCHOOL)
        if self.levels:
            condition &= Q(level__in=self.levels)
        elif not self.top_areas:
            condition &= Q(level=Level.SCHOOL)
        if self.school_types:
            condition &= Q(school_type__in=self.school_types)
        if self.ownership:
            condition &= Q(ownership__in=self.ownership)
        if self.within:
            region = Q(pk__in=[])
            for area in self.within:
                region |= Q(path__startswith=area.path)
            condition &= region
        if self.central_only:
            condition &= Q(is_central=True)
        return condition

    def units(self) -> int:
        """How many active units report (one query)."""
        return OrgUnit.objects.filter(is_active=True).filter(self.q()).count()

    def describe(self) -> str:
        """Who reports, in words: "东城区的公办小学和九年一贯制学校（仅中心校）"."""
        kinds = choice_labels(SchoolType, self.school_types) or choice_labels(Level, self.levels)
        if self.top_areas:
            kinds = [str(_("教育局直属区县/乡镇"))] + kinds
        if not (kinds or self.ownership or self.within or self.central_only):
            return str(_("所有学校"))
        text = join_and(kinds) if kinds else str(_("学校"))
        if self.ownership:
            text = _("{ownership}{units}").format(
                ownership=pgettext("list separator", "、").join(choice_labels(OwnershipChoice, self.ownership)),
                units=text,
            )
        if self.within:
            text = _("{region}的{units}").format(
                region=pgettext("list separator", "、").join(localized(area) for area in self.within), units=text
            )
        if self.central_only:
            text = _("{units}（仅中心校）").format(units=text)
        return text + self._stage_part()

    def _stage_part(self) -> str:
        """ " （九年一贯制学校只填其小学部）" for a stage figure that schools spanning stages report."""
        spanning = [
            kind
            for kind in self.school_types
            if kind in STAGE_SCHOOL_TYPES.get(self.stage, ()) and kind not in SINGLE_STAGE_TYPES.get(self.stage, ())
        ]
        if not spanning:
            return ""
        types = pgettext("list separator", "、").join(choice_labels(SchoolType, spanning))
        if self.stage == Stage.PRIMARY:
            return _("（{types}只填其小学部）").format(types=types)
        return _("（{types}只填其初中部）").format(types=types)

    def sentence(self) -> str:
        """The figure form's line: "东城区的小学和九年一贯制学校，共 12 个单位"."""
        return _("{who}，共 {count} 个单位").format(who=self.describe(), count=self.units())


def store_within(figure: Figure, units: Iterable[OrgUnit]) -> None:
    """Set a saved figure's region (the API; the web form saves it through the ModelForm's M2M save)."""
    figure.reported_by_within.set(list(units))


def join_and(parts: Sequence[str]) -> str:
    """ "甲、乙和丙" (English "a, b and c")."""
    if len(parts) <= 1:
        return "".join(parts)
    return pgettext("list separator", "、").join(parts[:-1]) + pgettext("list last separator", "和") + parts[-1]


def scope_errors(reported_by: ReportedBy, *, require_units: bool = True) -> list[str]:
    """What is wrong with a figure's reporting conditions (translated): unknown choices, or no unit at all.

    ``require_units=False`` for the national catalogue: its definitions name school types a bureau may not have
    loaded yet, and installing them must not depend on the tree's state."""
    problems = []
    for values, choices in (
        (reported_by.levels, Level.values),
        (reported_by.school_types, SchoolType.values),
        (reported_by.ownership, OwnershipChoice.values),
    ):
        unknown = [value for value in values if value not in choices]
        if unknown:
            problems.append(_("无效的选项：{values}").format(values="、".join(unknown)))
    if require_units and not problems and reported_by.units() == 0:
        problems.append(_("按这些条件没有任何单位填报此项，请调整填报条件"))
    return problems


def stage_errors(stage: str, reported_by: ReportedBy) -> list[str]:
    """What is wrong with a stage figure's reporters (translated): a 小学部 figure is reported by schools only,
    and only by school types that have a primary part (``schools.models.STAGE_SCHOOL_TYPES``), named explicitly."""
    if not stage:
        return []
    allowed = STAGE_SCHOOL_TYPES.get(stage)
    if allowed is None:
        return [_("无效的选项：{values}").format(values=stage)]
    if (reported_by.levels and reported_by.levels != [Level.SCHOOL]) or reported_by.top_areas:
        return [_("分学段的填报项只能由学校填报")]
    if not reported_by.school_types or set(reported_by.school_types) - set(allowed):
        return [
            _("分学段的填报项须选择该学段的学校类型：{types}").format(
                types=pgettext("list separator", "、").join(choice_labels(SchoolType, allowed))
            )
        ]
    return []


def in_period(figure: Figure, period: Period | None) -> bool:
    """Is ``figure`` reported in ``period``? (Any period when None: definition pages, the catalogue.)"""
    if period is None:
        return True
    start, end = figure.from_period, figure.until_period
    if start is not None and period.index < start.index:
        return False
    return end is None or period.index <= end.index


def applies_to(figure: Figure, unit: OrgUnit, period: Period | None = None) -> bool:
    """THE rule: does ``unit`` report ``figure`` (in ``period``)?"""
    return figure.is_active and in_period(figure, period) and ReportedBy.of(figure).matches(unit)


def active_figures() -> list[Figure]:
    """Active figures with what ``applies_to`` reads loaded: a fixed number of queries however many scopes."""
    return list(
        Figure.objects.filter(is_active=True)
        .select_related("from_period", "until_period")
        .prefetch_related("reported_by_within")
    )


def figures_for_unit(
    unit: OrgUnit, figures: Iterable[Figure] | None = None, period: Period | None = None
) -> list[Figure]:
    """The figures ``unit`` reports (in ``period`` when given), in form order."""
    pool = active_figures() if figures is None else figures
    return [figure for figure in pool if applies_to(figure, unit, period)]


def figures_for_units(units: Sequence[tuple[OrgUnit, Period | None]], figures: Sequence[Figure]) -> list[list[Figure]]:
    """``figures_for_unit`` for many (unit, period) pairs, evaluated once per distinct unit profile.

    The rule reads only a unit's level, school type, ownership, central flag, depth and (when some figure is limited
    to regions) its path, plus the period: a page of a hundred schools has a handful of profiles.
    """
    regional = any(figure.pk and figure.reported_by_within.all() for figure in figures)
    by_profile: dict[tuple[object, ...], list[Figure]] = {}
    result = []
    for unit, period in units:
        profile = (
            period.pk if period is not None else None,
            unit.level,
            unit.school_type,
            unit.ownership,
            unit.is_central,
            unit.depth,
            unit.path if regional else "",
        )
        found = by_profile.get(profile)
        if found is None:
            found = by_profile[profile] = figures_for_unit(unit, figures, period)
        result.append(found)
    return result


def reports_any(unit: OrgUnit, figures: Iterable[Figure], period: Period | None = None) -> bool:
    return any(applies_to(figure, unit, period) for figure in figures)


def applies_to_q(figure: Figure, period: Period | None = None) -> Q:
    """``applies_to`` as a filter on OrgUnit: the units that report ``figure``, counted in SQL.

    The same rule through ``ReportedBy.q`` (a test compares both on every kind of figure)."""
    if not figure.is_active or not in_period(figure, period):
        return Q(pk__in=[])
    return ReportedBy.of(figure).q()


def reports_any_q(figures: Iterable[Figure], period: Period | None = None) -> Q:
    """Units that report at least one of ``figures`` (none when there are no figures)."""
    result = Q(pk__in=[])
    for figure in figures:
        result |= applies_to_q(figure, period)
    return result
