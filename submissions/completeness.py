"""The completeness board: per period, how many expected units are at each status, per district.

A fixed number of queries whatever the number of units (units in scope, figures, the period's
submissions, district names), then counting in Python — the board's size is the size of the scope.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from portal import scope
from schools.models import PATH_SEGMENT_WIDTH, Level, OrgUnit
from submissions.models import Period, Submission, SubmissionStatus
from submissions.reporting import active_figures, reports_any

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


def board(user: Any, period: Period, on: datetime.date) -> Board:
    """Counts per district and the list of units not submitted, for the units in ``user``'s scope."""
    figures = active_figures()
    units = list(
        scope.visible_units(user)
        .filter(is_active=True)
        .exclude(level=Level.BUREAU)
        .only("pk", "code", "name", "path", "depth", "level", "school_type", "ownership", "is_central")
    )
    expected = [unit for unit in units if reports_any(unit, figures, period)]
    states = {
        unit_id: (status, zero)
        for unit_id, status, zero in scope.filter_by_scope(
            user, Submission.objects.filter(period=period), "org_unit"
        ).values_list("org_unit_id", "status", "is_zero_report")
    }
    district_paths = {unit.path[:DISTRICT_PATH_LENGTH] for unit in expected}
    names = dict(OrgUnit.objects.filter(path__in=district_paths).values_list("path", "name"))
    overdue = on > period.due_on
    rows: dict[str, dict[str, Any]] = {}
    result = Board(period)
    labels = {SubmissionStatus.DRAFT: _("草稿"), SubmissionStatus.RETURNED: _("已退回")}
    for unit in expected:
        key = unit.path[:DISTRICT_PATH_LENGTH]
        row = rows.setdefault(key, _empty_row(names.get(key, "")))
        row["expected"] += 1
        status, zero = states.get(unit.pk, ("not_started", False))
        row[status] += 1
        row["zero_report"] += int(bool(zero))
        if status not in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED):
            result.missing.append(
                {
                    "code": unit.code,
                    "name": unit.name,
                    "district": names.get(key, ""),
                    "status": labels.get(status, _("未填报")),
                    "overdue": overdue,
                }
            )
    result.rows = [_finish(rows[key]) for key in sorted(rows)]
    total = _empty_row(_("合计"))
    for row in result.rows:
        for name in ("expected", "zero_report", *STATUS_KEYS):
            total[name] += row[name]
    result.total = _finish(total)
    return result
