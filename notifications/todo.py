"""The to-do home: what each role should look at now, in a fixed number of queries.

- principal: this quarter's submissions of their units (to fill, draft, returned, submitted…) and every
  submission returned to them, with the reviewer's reason;
- reviewer (and bureau admin): the queue of submitted figures in their review scope;
- inspector and bureau admin: the units that did not submit by the due date (of this quarter, or of the last
  one while this one is not due yet), and the targets off track in the latest quarter with computed progress
  (marked when they were not off track the quarter before).

Every scope decision goes through ``portal.scope``; lists are bounded (``LIST_LIMIT``) and come with their
total, so the page's query count and size do not grow with the number of schools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, Q

from portal import scope
from portal.scope import Perm
from schools.models import OrgUnit, Role
from submissions import completeness, workflow
from submissions.models import Period, Submission, SubmissionStatus
from targets.models import Progress, ProgressStatus

LIST_LIMIT = 20


@dataclass
class Bounded:
    """The first ``LIST_LIMIT`` items of a list and how many there are in all."""

    items: list[Any] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass
class ToFill:
    unit: OrgUnit
    submission: Submission | None
    problem: str | None


@dataclass
class Todo:
    period: Period | None = None
    to_fill: list[ToFill] | None = None
    returned: list[Submission] | None = None
    queue: Bounded | None = None
    overdue_period: Period | None = None
    overdue: Bounded | None = None
    progress_period: Period | None = None
    off_track: Bounded | None = None


def _principal(user: Any, period: Period | None, todo: Todo) -> None:
    unit_ids = [grant.unit_id for grant in scope.grants(user) if grant.role == Role.PRINCIPAL]
    figures = workflow.active_figures()
    units = [
        unit
        for unit in OrgUnit.objects.filter(pk__in=unit_ids, is_active=True).order_by("path")
        if workflow.figures_for_unit(unit, figures, period)
    ]
    existing: dict[int, Submission] = {}
    if period is not None:
        existing = {s.org_unit_id: s for s in Submission.objects.filter(org_unit__in=units, period=period)}
    todo.to_fill = [
        ToFill(
            unit,
            existing.get(unit.pk),
            workflow.period_edit_error(period, unit) if period and unit.pk not in existing else None,
        )
        for unit in units
    ]
    todo.returned = list(
        Submission.objects.filter(org_unit__in=units, status=SubmissionStatus.RETURNED)
        .select_related("org_unit", "period", "returned_by")
        .order_by("-returned_at", "-pk")[:LIST_LIMIT]
    )


def _queue(user: Any, todo: Todo) -> None:
    submitted = scope.filter_by_scope(
        user, Submission.objects.filter(status=SubmissionStatus.SUBMITTED), "org_unit", Perm.REVIEW
    )
    items = list(submitted.select_related("org_unit", "period").order_by("submitted_at", "pk")[:LIST_LIMIT])
    todo.queue = Bounded(items, submitted.count() if len(items) == LIST_LIMIT else len(items))


def _overdue(user: Any, period: Period | None, todo: Todo) -> None:
    """Units that missed the due date of the current quarter, or of the one before while the current one is
    not due yet (older quarters are history, not a to-do)."""
    today = workflow.today()
    candidates = [period, workflow.previous_period(period)] if period else []
    overdue = next((p for p in candidates if p is not None and p.due_on < today), None)
    todo.overdue_period = overdue
    if overdue is None:
        todo.overdue = Bounded()
        return
    missing = completeness.board(user, overdue, today).missing
    todo.overdue = Bounded(missing[:LIST_LIMIT], len(missing))


def _progress_period(period: Period | None) -> Period | None:
    """The latest quarter, up to the current one, that has computed progress (a new quarter has none yet)."""
    if period is None:
        return None
    return (
        Period.objects.filter(Q(year__lt=period.year) | Q(year=period.year, quarter__lte=period.quarter))
        .filter(Exists(Progress.objects.filter(period_id=OuterRef("pk"))))
        .order_by("-year", "-quarter")
        .first()
    )


def _off_track(user: Any, period: Period | None, todo: Todo) -> None:
    if period is None:
        todo.off_track = Bounded()
        return
    # A target's own row (its scope unit) or the row of the unit the user is responsible for (a district
    # inspector sees their district's share of a city target), not every drill-down row below.
    own = Q(org_unit_id=F("target__scope_id")) | Q(org_unit__in=scope.top_units(user))
    rows = scope.filter_by_scope(
        user, Progress.objects.filter(own, period=period, status=ProgressStatus.OFF_TRACK), "org_unit"
    )
    before = workflow.previous_period(period)
    was_off = Progress.objects.filter(
        target_id=OuterRef("target_id"),
        org_unit_id=OuterRef("org_unit_id"),
        period=before,  # None (no quarter before): period IS NULL matches nothing
        status=ProgressStatus.OFF_TRACK,
    )
    items = list(
        rows.annotate(was_off_track=Exists(was_off))
        .select_related("target", "target__plan", "org_unit")
        .order_by("-computed_at", "pk")[:LIST_LIMIT]
    )
    todo.off_track = Bounded(items, rows.count() if len(items) == LIST_LIMIT else len(items))


def for_user(user: Any) -> Todo:
    """The to-do lists the user's roles call for."""
    roles = scope.roles(user)
    period = Period.objects.current()
    todo = Todo(period=period)
    if Role.PRINCIPAL in roles:
        _principal(user, period, todo)
    if Role.REVIEWER in roles or Role.BUREAU_ADMIN in roles:
        _queue(user, todo)
    if Role.INSPECTOR in roles or Role.BUREAU_ADMIN in roles:
        _overdue(user, period, todo)
        todo.progress_period = _progress_period(period)
        _off_track(user, todo.progress_period, todo)
    return todo
