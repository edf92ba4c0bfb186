"""Designations feed count-of-designation indicators: granting, changing or revoking one records the
pending recompute in the same transaction, like an approval does (see indicators.recompute).

schools/ knows nothing about indicators, so the hook is a model-signal receiver that lives here and
is connected in ``TargetsConfig.ready``: whatever saves a Designation — the API, the admin, a service,
the demo loader — is covered.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from indicators import events as indicator_events
from indicators.dispatch import enqueue_window_rebuild, enqueue_window_rows, request_recompute
from indicators.models import Aggregation, Indicator, RecomputeKind
from schools.models import Designation, OrgUnit
from submissions import events
from submissions.models import Period, Submission

# (unit, granted_on, revoked_on, level): the level counts too ("省优质园" indicators count one level only).
State = tuple[int, datetime.date, datetime.date | None, str]


def _state(designation: Designation) -> State:
    return designation.org_unit_id, designation.granted_on, designation.revoked_on, designation.level


def _changes(previous: State | None, current: State | None) -> list[tuple[int, datetime.date]]:
    """(unit, first day whose periods may change) for a designation going from ``previous`` to ``current``.

    A changed level counts as a moved grant (indicators may count one level only).
    A designation counts in the periods of its grant year that end on or after ``granted_on`` and
    before ``revoked_on``. A new or deleted grant, or a moved one, changes its grant year from the
    grant date on; a changed revocation only from the earlier of the two revocation dates, and only
    when that falls in the grant year (later years never counted it).
    """
    states = [s for s in (previous, current) if s is not None]
    if previous is not None and current is not None and previous[:2] == current[:2] and previous[3] == current[3]:
        unit_id, granted_on, _revoked, _level = current
        dates = [d for d in (previous[2], current[2]) if d is not None]
        day = min(dates)
        return [(unit_id, day)] if day.year == granted_on.year else []
    return [(unit_id, granted_on) for unit_id, granted_on, _revoked, _level in states]


def _request(changes: list[tuple[int, datetime.date]]) -> None:
    if not changes or not _has_designation_indicators():
        return
    requested: set[tuple[int, int]] = set()
    for unit_id, day in changes:
        # The quarter the change starts in; recompute_for then covers the later quarters of that year.
        quarter = (day.month - 1) // 3 + 1
        period = Period.objects.filter(year=day.year, quarter__gte=quarter).order_by("quarter").first()
        if period is None or (unit_id, period.pk) in requested:
            continue
        requested.add((unit_id, period.pk))
        request_recompute(unit_id, period.pk, kind=RecomputeKind.DESIGNATIONS, reason="designation")


def _has_designation_indicators() -> bool:
    return Indicator.objects.filter(is_active=True, aggregation=Aggregation.COUNT_DESIGNATIONS).exists()


@receiver(pre_save, sender=Designation, dispatch_uid="targets_designation_before")
def remember_previous_state(sender: type[Designation], instance: Designation, raw: bool = False, **kwargs: Any) -> None:
    """Keep the saved state, so a changed grant date or unit recomputes where it was counted before too."""
    if raw or instance.pk is None:
        instance._targets_previous = None  # type: ignore[attr-defined]
        return
    previous = (
        Designation.objects.filter(pk=instance.pk)
        .values_list("org_unit_id", "granted_on", "revoked_on", "level")
        .first()
    )
    instance._targets_previous = previous  # type: ignore[attr-defined]


@receiver(post_save, sender=Designation, dispatch_uid="targets_designation_saved")
def designation_saved(sender: type[Designation], instance: Designation, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata: the fixture's loader recomputes
        return
    previous = getattr(instance, "_targets_previous", None)
    if previous is not None and tuple(previous) == _state(instance):
        return  # a note or the evidence changed: nothing any indicator reads
    _request(_changes(tuple(previous) if previous is not None else None, _state(instance)))


@receiver(post_delete, sender=Designation, dispatch_uid="targets_designation_deleted")
def designation_deleted(sender: type[Designation], instance: Designation, **kwargs: Any) -> None:
    _request(_changes(_state(instance), None))


@receiver(events.figures_changed, sender=Submission, dispatch_uid="indicators_figures_changed")
def figures_changed(
    sender: type[Submission], org_unit_id: int, period_id: int, action: str = "", **kwargs: Any
) -> None:
    """An approval or reopening: the unit's indicator values for the period (and later ones) are stale."""
    request_recompute(org_unit_id, period_id, kind=RecomputeKind.FIGURES, reason=action)


# --- A unit's dates and state: opening feeds "units opened in the year" (新建幼儿园); closing or deactivating
# a unit takes it out of every indicator for the periods it no longer counts in (``UnitFilter``: active, and
# not closed on or before the period's last day) ---


@receiver(pre_save, sender=OrgUnit, dispatch_uid="indicators_unit_opened_before")
def remember_opened_on(sender: type[OrgUnit], instance: OrgUnit, raw: bool = False, **kwargs: Any) -> None:
    """Keep the stored opening and closing dates and state, so a moved date recomputes the periods it left too
    (new units: no query)."""
    if raw or instance.pk is None:
        instance._indicators_stored = None  # type: ignore[attr-defined]
        return
    stored = OrgUnit.objects.filter(pk=instance.pk).values_list("opened_on", "closed_on", "is_active").first()
    instance._indicators_stored = stored  # type: ignore[attr-defined]


@receiver(post_save, sender=OrgUnit, dispatch_uid="indicators_unit_opened_saved")
def unit_opened_changed(sender: type[OrgUnit], instance: OrgUnit, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    stored = getattr(instance, "_indicators_stored", None)
    previous = stored[0] if stored is not None else None
    if previous == instance.opened_on:
        return
    days = {day for day in (previous, instance.opened_on) if day is not None}
    if not days or not Indicator.objects.filter(is_active=True, aggregation=Aggregation.COUNT_OPENED_UNITS).exists():
        return
    for day in sorted(days):
        quarter = (day.month - 1) // 3 + 1
        period = Period.objects.filter(year=day.year, quarter__gte=quarter).order_by("quarter").first()
        if period is not None:
            request_recompute(instance.pk, period.pk, kind=RecomputeKind.FIGURES, reason="unit opened")


@receiver(post_save, sender=OrgUnit, dispatch_uid="indicators_unit_closed_saved")
def unit_closed_changed(sender: type[OrgUnit], instance: OrgUnit, raw: bool = False, **kwargs: Any) -> None:
    """A changed ``closed_on`` or ``is_active``: the unit's rows (and its ancestors') of the periods whose
    counting changed are stale — one recompute per year concerned (``recompute_for`` covers the rest of it)."""
    stored = getattr(instance, "_indicators_stored", None)
    if raw or stored is None:
        return  # a new unit has no values yet
    _opened, closed_on, is_active = stored
    if closed_on == instance.closed_on and is_active == instance.is_active:
        return
    if not Indicator.objects.filter(is_active=True).exists():
        return
    for period in _periods_counting_changed((closed_on, is_active), (instance.closed_on, instance.is_active)):
        request_recompute(instance.pk, period.pk, kind=RecomputeKind.FIGURES, reason="unit closed")


def _periods_counting_changed(
    before: tuple[datetime.date | None, bool], after: tuple[datetime.date | None, bool]
) -> list[Period]:
    """The first period of each year in which the unit counts differently: every period when ``is_active``
    changed, else those ending on or after the earlier closing date and before the later one (none: no end)."""
    periods: list[Period] = list(Period.objects.order_by("year", "quarter"))
    if before[1] == after[1]:
        dates = [day for day in (before[0], after[0]) if day is not None]
        first = min(dates)
        last = max(dates) if None not in (before[0], after[0]) else None
        periods = [p for p in periods if p.end_date >= first and (last is None or p.end_date < last)]
    firsts: dict[int, Period] = {}
    for period in periods:
        firsts.setdefault(period.year, period)
    return list(firsts.values())


@receiver(indicator_events.levels_written, dispatch_uid="indicators_window_rows")
def _window_rows_follow(sender: object, **kwargs: Any) -> None:
    """The stored year / half-year rows (issue 17) are their own task, queued after the values' commit: an
    approval batch's units, or a full / nightly run's subtrees."""
    if "changes" in kwargs:
        enqueue_window_rows(list(kwargs["changes"]))
    else:
        enqueue_window_rebuild(kwargs.get("period_ids"), kwargs.get("root_unit_ids"))
