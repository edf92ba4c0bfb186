"""The completeness board: per period, how many expected units are at each status, per district.

Counted in SQL, a fixed number of queries whatever the number of units: one GROUP BY (district, status) over
the expected units in scope joined to the period's submission, the units not yet submitted as plain tuples,
and the district names. No model instance per unit (at 100k units building them was most of the page).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, FilteredRelation, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Substr
from django.utils.translation import gettext as _

from portal import scope
from schools.models import PATH_SEGMENT_WIDTH, Level, OrgUnit
from submissions.models import Period, SubmissionStatus
from submissions.reporting import active_figures, reports_any_q

DISTRICT_PATH_LENGTH = 2 * (PATH_SEGMENT_WIDTH + 1)  # bureau segment + district segment
STATUS_KEYS = ("not_started", "draft", "returned", "submitted", "approved")


@dataclass
class Board:
    period: Period
    rows: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)


def _empty_row(name: str) -> dict[str, Any]:
    return {"name": name, "expected": 0, "zero_report": 0, "rate": None} | dict.fromkeys(STATUS_KEYS, 0)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    done = row["submitted"] + row["approved"]
    # No expected unit → no rate ("无数据"), never 0 %.
    row["rate"] = round(100 * done / row["expected"], 1) if row["expected"] else None
    return row


def _expected_units(user: Any, period: Period) -> QuerySet[OrgUnit]:
    """Active units in scope (not the bureau) that report at least one active figure, each with the
    period's submission status (``state``, "not_started" without one) and zero-report flag (``zero``)."""
    return (
        scope.visible_units(user)
        .filter(is_active=True)
        .exclude(level=Level.BUREAU)
        .filter(reports_any_q(active_figures(), period))
        .annotate(
            sub=FilteredRelation("submissions", condition=Q(submissions__period=period)),
            state=Coalesce(F("sub__status"), Value("not_started")),
            zero=Coalesce(F("sub__is_zero_report"), Value(False)),
            district=Substr("path", 1, DISTRICT_PATH_LENGTH),
        )
    )


def board(user: Any, period: Period, on: datetime.date) -> Board:
    """Counts per district and the list of units not submitted, for the units in ``user``'s scope."""
    units = _expected_units(user, period)
    counts = list(
        units.order_by()
        .values("district", "state")
        .annotate(units=Count("pk"), zeros=Count("pk", filter=Q(zero=True)))
        .values_list("district", "state", "units", "zeros")
    )
    names = dict(OrgUnit.objects.filter(path__in={district for district, *_ in counts}).values_list("path", "name"))
    rows: dict[str, dict[str, Any]] = {}
    for district, state, number, zeros in counts:
        row = rows.setdefault(district, _empty_row(names.get(district, "")))
        row["expected"] += number
        row[state] += number
        row["zero_report"] += zeros
    result = Board(period)
    result.rows = [_finish(rows[key]) for key in sorted(rows)]
    total = _empty_row(_("合计"))
    for row in result.rows:
        for name in ("expected", "zero_report", *STATUS_KEYS):
            total[name] += row[name]
    result.total = _finish(total)
    overdue = on > period.due_on
    labels = {SubmissionStatus.DRAFT: _("草稿"), SubmissionStatus.RETURNED: _("已退回")}
    not_started = _("未填报")
    missing = (
        units.exclude(state__in=(SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED))
        .order_by("path")
        .values_list("code", "name", "district", "state")
    )
    result.missing = [
        {
            "code": code,
            "name": name,
            "district": names.get(district, ""),
            "status": labels.get(state, not_started),
            "overdue": overdue,
        }
        for code, name, district, state in missing
    ]
    return result
