"""The definition of a year / half-year value before issue 17, kept as the slow reference of
``engine.window_values``: every member of every requested unit's subtree joined to its unit, the members'
own rows combined per unit in one statement, nothing stored (quadratic below 2,000 members on PostgreSQL)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from indicators import engine
from indicators.models import Indicator
from schools.models import OrgUnit


def reference_window_values(
    indicators: Sequence[Indicator], units: Sequence[OrgUnit], window: engine.Window
) -> list[engine.WindowValue]:
    compiled = [
        c for c in engine.load_indicators([i.pk for i in indicators]) if engine.window_allowed(c.indicator, window)
    ]
    if not compiled or not units:
        return []
    plan = engine._Plan(compiled, [])
    owns = [sql for c in compiled if (sql := plan._own_sql(c)) is not None]
    if not owns:
        return []
    unit_ids = ", ".join(str(int(u.pk)) for u in units)
    # Each unit's subtree by an equality on the path's prefix, one join per prefix length: a hash join
    # over the members, where ``path LIKE tgt.path || '%'`` would compare every unit with every unit.
    members = " UNION ALL ".join(
        f"SELECT m.id AS member_id, tgt.unit_id AS unit_id FROM schools_orgunit m "  # nosec B608
        f"JOIN tgt ON tgt.plen = {length} AND SUBSTR(m.path, 1, {length}) = tgt.path "
        f"WHERE {engine.UnitFilter.open_sql('m', engine._date_sql(window.end))}"
        for length in sorted({len(u.path) for u in units})
    )
    wins = " UNION ALL ".join(
        f"SELECT {k} AS k, {window.first_idx - k} AS lo, {window.last_idx - k} AS hi" for k in plan.offsets
    )
    quarter_idx = "(p.year * 4 + p.quarter - 1)"
    joins = (
        "FROM submissions_value v JOIN submissions_submission s ON s.id = v.submission_id "
        f"JOIN submissions_period p ON p.id = s.period_id JOIN win w ON {quarter_idx} BETWEEN w.lo AND w.hi "
    )
    where = f"s.status IN ({plan.statuses}) AND s.org_unit_id IN (SELECT member_id FROM mem)"  # nosec B608
    eff_parts = []
    if plan.flow_ids:
        eff_parts.append(
            "SELECT s.org_unit_id AS unit_id, w.k AS k, v.figure_id AS figure_id, SUM(v.value) AS value "
            f"{joins} WHERE {where} AND v.figure_id IN ({', '.join(map(str, plan.flow_ids))}) "
            "GROUP BY s.org_unit_id, w.k, v.figure_id"
        )
    if plan.stock_ids:
        eff_parts.append(
            "SELECT unit_id, k, figure_id, value FROM (SELECT s.org_unit_id AS unit_id, w.k AS k, "  # nosec B608
            "v.figure_id AS figure_id, v.value AS value, ROW_NUMBER() OVER (PARTITION BY s.org_unit_id, w.k, "
            f"v.figure_id ORDER BY {quarter_idx} DESC) AS rn {joins} WHERE {where} AND v.value IS NOT NULL "
            f"AND v.figure_id IN ({', '.join(map(str, plan.stock_ids))})) ranked WHERE rn = 1"
        )
    if not eff_parts:
        eff_parts.append(f"SELECT 0 AS unit_id, 0 AS k, 0 AS figure_id, {engine.NULL_NUMERIC} AS value WHERE 1 = 0")
    cols = "".join(
        f", MAX(CASE WHEN e.figure_id = {plan.figure_ids[ref]} AND e.k = {ref[1]} THEN e.value END) AS {name}"
        for ref, name in plan.columns.items()
    )
    base_cols = "".join(f", piv.{name} AS {name}" for name in plan.columns.values())
    sql = f"""
WITH tgt AS (SELECT id AS unit_id, path, LENGTH(path) AS plen FROM schools_orgunit WHERE id IN ({unit_ids})),
mem AS ({members}),
win AS ({wins}),
eff AS ({" UNION ALL ".join(eff_parts)}),
piv AS (SELECT e.unit_id AS unit_id{cols} FROM eff e GROUP BY e.unit_id),
base AS (
  SELECT u.id AS unit_id, u.level AS level, u.school_type AS school_type, u.ownership AS ownership,
         u.is_central AS is_central, u.opened_on AS opened_on, 0 AS period_id,
         {engine._date_sql(datetime.date(window.year, 1, 1))} AS year_start,
         {engine._date_sql(window.end)} AS period_end{base_cols}
  FROM schools_orgunit u LEFT JOIN piv ON piv.unit_id = u.id
  WHERE u.id IN (SELECT member_id FROM mem)
),
own AS ({" UNION ALL ".join(owns)})
SELECT own.indicator_id, mem.unit_id,
       CASE i.aggregation WHEN 'max' THEN MAX(own.num) WHEN 'min' THEN MIN(own.num) ELSE SUM(own.num) END,
       SUM(own.den), SUM(own.cnt), SUM(own.m2), SUM(own.lo)
FROM own JOIN mem ON mem.member_id = own.unit_id JOIN targets_indicator i ON i.id = own.indicator_id
GROUP BY own.indicator_id, mem.unit_id, i.aggregation
"""  # nosec B608
    with transaction.atomic(), connection.cursor() as cursor:
        engine._tune_session()  # the bureau's window reads a year of every school's values: sort in memory
        if connection.vendor == "postgresql" and _member_count(units) > WINDOW_HASH_JOIN_MEMBERS:
            # The planner cannot estimate the members CTE and loops over every submission of a large
            # subtree through an index (seconds for the bureau); hash joins read the values once. For a
            # small subtree the index loops are right (hash joins would scan every value).
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql)
        found = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    now = timezone.now()
    result = []
    for c in compiled:
        indicator = c.indicator
        for unit in units:
            num, den, cnt, m2, left_out = found.get((indicator.pk, unit.pk), (None, None, 0, None, 0))
            num, den = engine._decimal(num), engine._decimal(den)
            value = engine.value_from_sums(indicator, num, den, engine._decimal(m2), int(cnt or 0))
            result.append(
                engine.WindowValue(
                    indicator, unit, window.code, num, den, value, int(cnt or 0), now, int(left_out or 0)
                )
            )
    return result


WINDOW_HASH_JOIN_MEMBERS = 2000


def _member_count(units: Sequence[OrgUnit]) -> int:
    """Units in the union of the units' subtrees (one query over the outermost units' paths)."""
    outermost: list[str] = []
    for path in sorted({u.path for u in units}):  # sorted: a subtree's paths follow its root's
        if not outermost or not path.startswith(outermost[-1]):
            outermost.append(path)
    condition = Q(pk__in=[])
    for path in outermost:
        condition |= Q(path__startswith=path)
    return OrgUnit.objects.filter(condition).count()
