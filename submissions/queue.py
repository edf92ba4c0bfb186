"""The reviewer's queue: the submissions awaiting review in a reviewer's scope for one period, and the figures
of a submission beside the unit's earlier approved values.

The queue is the review list filtered to ``submitted``, in the list's default order (``ReviewTable``: unit name,
then id — ``QUEUE_ORDER``). Neighbours are found with one query each (a keyset filter on that order and
``LIMIT 1``), never by loading the queue, so walking it costs the same for 10 schools as for 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from portal import scope
from portal.scope import Perm
from submissions.models import Figure, Period, Submission, SubmissionStatus, Value

# The review list's default order (submissions/tables.py SubmissionTable.org_unit ``order_by``).
QUEUE_ORDER = ("org_unit__name", "pk")


def queue(user: Any, period: Period) -> QuerySet[Submission]:
    """Submissions of ``period`` awaiting review that ``user`` may review, in the list's order."""
    submissions = Submission.objects.select_related("org_unit", "period").filter(
        period=period, status=SubmissionStatus.SUBMITTED
    )
    return scope.filter_by_scope(user, submissions, "org_unit", Perm.REVIEW).order_by(*QUEUE_ORDER)


def _after(submission: Submission) -> Q:
    name = submission.org_unit.name
    return Q(org_unit__name__gt=name) | Q(org_unit__name=name, pk__gt=submission.pk)


def _before(submission: Submission) -> Q:
    name = submission.org_unit.name
    return Q(org_unit__name__lt=name) | Q(org_unit__name=name, pk__lt=submission.pk)


def next_in_queue(user: Any, submission: Submission) -> Submission | None:
    """The queue's entry after ``submission``'s place (``submission`` itself need not be in the queue any more)."""
    return queue(user, submission.period).filter(_after(submission)).first()


def previous_in_queue(user: Any, submission: Submission) -> Submission | None:
    """The queue's entry before ``submission``'s place."""
    return (
        queue(user, submission.period)
        .filter(_before(submission))
        .order_by(*(f"-{field}" for field in QUEUE_ORDER))
        .first()
    )


def after_review(user: Any, submission: Submission) -> Submission | None:
    """Where a reviewer goes after approving or returning ``submission``: the next one in the queue, else the
    first one left (those before it), else None (the queue is empty). At most two queries."""
    following = next_in_queue(user, submission)
    if following is not None:
        return following
    return queue(user, submission.period).exclude(pk=submission.pk).first()


@dataclass(frozen=True)
class Comparison:
    """One figure's value beside the unit's approved values of last quarter and of the same quarter last year.

    A change is None when either value is missing; a relative change also when the earlier value is 0
    (a share of zero is undefined). ``large`` flags a relative change beyond ``threshold``.
    """

    last_quarter: Decimal | None
    last_year: Decimal | None
    change_quarter: Decimal | None
    change_year: Decimal | None
    share_quarter: Decimal | None
    share_year: Decimal | None
    large_quarter: bool
    large_year: bool


def _change(new: Decimal | None, old: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    if new is None or old is None:
        return None, None
    share = (new - old) / abs(old) * 100 if old != 0 else None
    return new - old, share


def _earlier(year: int, quarter: int) -> tuple[tuple[int, int], tuple[int, int]]:
    last = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return last, (year - 1, quarter)


def comparisons(
    submission: Submission,
    figures: list[Figure],
    values: dict[str, Decimal | None],
    threshold: Decimal,
) -> dict[str, Comparison]:
    """{figure_code: Comparison} for ``figures`` of ``submission``'s unit, read in one query whatever the number
    of figures. Only approved submissions count: a draft or returned value of an earlier quarter is not a fact
    yet. ``threshold`` is the share (0.3 = 30 %) beyond which a change is flagged, for figures without their own
    ``change_warning_share``."""
    period = submission.period
    last, year_ago = _earlier(period.year, period.quarter)
    rows = Value.objects.filter(
        submission__org_unit_id=submission.org_unit_id,
        submission__status=SubmissionStatus.APPROVED,
        figure__code__in=[figure.code for figure in figures],
    ).filter(
        Q(submission__period__year=last[0], submission__period__quarter=last[1])
        | Q(submission__period__year=year_ago[0], submission__period__quarter=year_ago[1])
    )
    earlier: dict[tuple[int, int], dict[str, Decimal | None]] = {}
    for year, quarter, code, value in rows.values_list(
        "submission__period__year", "submission__period__quarter", "figure__code", "value"
    ):
        earlier.setdefault((year, quarter), {})[code] = value
    result = {}
    for figure in figures:
        # The figure's own change-warning share where it has one, as the change warnings use.
        share = figure.change_warning_share if figure.change_warning_share is not None else threshold
        limit = share * 100
        new = values.get(figure.code)
        before_q = earlier.get(last, {}).get(figure.code)
        before_y = earlier.get(year_ago, {}).get(figure.code)
        change_q, share_q = _change(new, before_q)
        change_y, share_y = _change(new, before_y)
        result[figure.code] = Comparison(
            last_quarter=before_q,
            last_year=before_y,
            change_quarter=change_q,
            change_year=change_y,
            share_quarter=share_q,
            share_year=share_y,
            large_quarter=share_q is not None and abs(share_q) > limit,
            large_year=share_y is not None and abs(share_y) > limit,
        )
    return result
