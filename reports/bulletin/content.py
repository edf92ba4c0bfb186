"""What a quarterly bulletin (进展通报) says, gathered from precomputed rows only.

``gather`` reads the plan dashboard (``reports.queries.plan_dashboard``: targets with their owners' latest
notes, progress rows, indicator values — the numbers on paper are the numbers on screen), the bureau above the
scope, and one league table per key indicator (``targets.queries.drilldown_queryset``, the drill-down's own
query). Its query count is bounded by ``LEAGUE_TABLES`` + 6 whatever the number of units.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from plans.models import Plan
from portal.numbers import format_number
from reports.queries import Dashboard, is_percent, plan_dashboard
from schools.models import OrgUnit
from submissions.models import Period
from targets import display
from targets.models import ProgressStatus, TargetKind
from targets.queries import STATUS_LABELS, TargetRow, drilldown_queryset

# At most this many key indicators get a league table, each with this many units at the top and the bottom.
LEAGUE_TABLES = 3
LEAGUE_ROWS = 5

# Characters XML 1.0 forbids (python-docx refuses them): control characters other than tab/newline/return,
# lone surrogates and the two non-characters.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    """User-typed text made safe for a document: XML-forbidden characters dropped, nothing else changed
    (python-docx escapes ``<``, ``&`` and the like; a leading ``=`` means nothing in Word)."""
    return _XML_FORBIDDEN.sub("", str(text or ""))


@dataclass
class ListedTarget:
    """A target in one of the bulletin's lists (achieved / at risk / off track), with its owner's words."""

    code: str
    section: str
    text: str
    actual: str
    goal: str
    owner: str
    reason: str


@dataclass
class SectionSummary:
    title: str
    counts: list[tuple[str, str, int]]  # (status, label, count)


@dataclass
class LeagueRow:
    rank: int
    name: str
    value: Decimal
    value_text: str


@dataclass
class LeagueTable:
    """The units directly under the scope ranked by a key indicator (best first)."""

    title: str
    unit_label: str
    goal: Decimal | None
    top: list[LeagueRow]
    bottom: list[LeagueRow]
    ranked: int  # how many units have a rank (the rows between top and bottom are left out)


@dataclass
class BulletinContent:
    bureau: str
    scope: str
    plan_title: str
    period_label: str
    generated_on: datetime.date
    has_data: bool
    totals: list[tuple[str, str, int]]
    sections: list[SectionSummary]
    achieved: list[ListedTarget] = field(default_factory=list)
    at_risk: list[ListedTarget] = field(default_factory=list)
    off_track: list[ListedTarget] = field(default_factory=list)
    leagues: list[LeagueTable] = field(default_factory=list)


def period_label(period: Period | None) -> str:
    if period is None:
        return _("最新季度")
    return _("%(year)s年第%(quarter)s季度") % {"year": period.year, "quarter": period.quarter}


def _listed(row: TargetRow) -> ListedTarget:
    target = row.target
    reason = row.latest_note or row.reason_text
    return ListedTarget(
        code=clean(target.code),
        section=clean(target.section.title),
        text=clean(target.text),
        actual=clean(row.actual_text),
        goal=clean(row.target_text),
        owner=clean(row.owner),
        reason=clean(reason),
    )


def _has_data(dash: Dashboard) -> bool:
    return any(row.actual is not None or (row.evaluated and row.status != ProgressStatus.NO_DATA) for row in dash.rows)


def _key_rows(dash: Dashboard) -> list[TargetRow]:
    """The key indicators: the first quantitative targets (one per indicator, in plan order) that rank units by
    their own value — not a share of units meeting a per-unit rule, not a milestone."""
    chosen: list[TargetRow] = []
    seen: set[int] = set()
    for row in dash.rows:
        target = row.target
        if not target.indicator_id or target.indicator_id in seen or display.is_share(target):
            continue
        if target.kind == TargetKind.MILESTONE:
            continue
        seen.add(target.indicator_id)
        chosen.append(row)
        if len(chosen) == LEAGUE_TABLES:
            break
    return chosen


def _league(row: TargetRow, unit: OrgUnit, period: Period | None) -> LeagueTable | None:
    """Top and bottom units under ``unit`` by the row's indicator (one query); None with fewer than two values."""
    target = row.target
    indicator = target.indicator
    if indicator is None:
        return None
    # The drill-down's own rank (targets.queries.rank_expression: ties shared, small denominators unranked).
    queryset = drilldown_queryset(target, unit, period, "children")
    ranked_values = [
        (rank, clean(name), value)
        for name, value, rank in queryset.values_list("name", "value", "rank")
        if value is not None and rank is not None
    ]
    if len(ranked_values) < 2:
        return None
    ranked_values.sort(key=lambda item: (item[0], item[1]))
    decimals = indicator.decimals
    unit_label = indicator.unit
    ranked = [
        LeagueRow(rank, name, value, format_number(value, decimals, unit_label)) for rank, name, value in ranked_values
    ]
    top = ranked[:LEAGUE_ROWS]
    bottom = ranked[LEAGUE_ROWS:][-LEAGUE_ROWS:]
    title = clean(f"{indicator.name}（{row.target_text}）" if row.target_text else indicator.name)
    # The goal line only where each unit's value can be held against it (a rate, a per-unit rule), not a total.
    goal = target.target_value if is_percent(indicator) or target.applies_to_each_unit else None
    return LeagueTable(title, unit_label, goal, top, bottom, len(ranked))


def gather(plan: Plan, unit: OrgUnit, period: Period | None) -> BulletinContent:
    """Everything the bulletin of ``plan`` for ``unit`` as of ``period`` prints (bounded queries)."""
    periods = list(Period.objects.filter(year=plan.year).order_by("quarter"))
    dash = plan_dashboard(plan, unit, period, periods)
    bureau = OrgUnit.objects.root_of(unit)
    has_data = _has_data(dash)
    content = BulletinContent(
        bureau=clean(bureau.name),
        scope=clean(unit.name),
        plan_title=clean(plan.title),
        period_label=period_label(period),
        generated_on=timezone.localdate(),
        has_data=has_data,
        totals=[(s, str(label), n) for s, label, n in dash.totals],
        sections=[
            SectionSummary(clean(block.section.title), [(s, str(label), n) for s, label, n in block.counts])
            for block in dash.sections
        ],
    )
    lists: dict[str, list[ListedTarget]] = {
        ProgressStatus.MET: content.achieved,
        ProgressStatus.AT_RISK: content.at_risk,
        ProgressStatus.OFF_TRACK: content.off_track,
    }
    for row in dash.rows:
        listed = lists.get(row.summary_status)
        if listed is not None:
            listed.append(_listed(row))
    if has_data:
        for row in _key_rows(dash):
            league = _league(row, unit, period)
            if league is not None:
                content.leagues.append(league)
    return content


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
