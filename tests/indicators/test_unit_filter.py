"""The indicator unit filter is one object (``indicators/unit_filter.py``): its Django, Python and SQL forms agree
on every unit × filter, and no other module reads the filter's fields (issue 13 §6)."""

from __future__ import annotations

import datetime
import itertools
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

from indicators import engine, explain
from indicators.unit_filter import UnitFilter
from schools.models import Level, OrgUnit, Ownership, SchoolType
from tests.indicators.engine_data import figure, indicator, iv, period, report, value

ROOT = Path(__file__).resolve().parents[2]
PERIOD_END = datetime.date(2023, 6, 30)

# The filter's fields may be read only where it is built (unit_filter.py) and described (models.py: its words).
FIELD_READ = re.compile(r"\.unit_filter_(levels|school_types|ownership|central_only)\b")
ALLOWED = {"indicators/unit_filter.py", "indicators/models.py"}


def test_no_other_module_reads_the_unit_filter_fields() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.split("/")[0] in {"tests", ".venv", "node_modules"} or "/migrations/" in relative:
            continue
        if relative in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if FIELD_READ.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "a copy of the indicator unit filter; use indicators.unit_filter.UnitFilter:\n" + "\n".join(
        offenders
    )


def _units(root: OrgUnit) -> list[OrgUnit]:
    """Every level, and schools of several types × ownerships × central, open / inactive / closed before, on and
    after the period's end."""
    district = OrgUnit.objects.create(code="UF-D", name="区", level=Level.DISTRICT, parent=root)
    township = OrgUnit.objects.create(code="UF-T", name="学区", level=Level.TOWNSHIP, parent=district)
    units = [root, district, township]
    closings = [
        (True, None),
        (False, None),
        (True, PERIOD_END - datetime.timedelta(days=1)),
        (True, PERIOD_END),
        (True, PERIOD_END + datetime.timedelta(days=1)),
        (False, PERIOD_END + datetime.timedelta(days=1)),
    ]
    kinds = itertools.product(
        [SchoolType.PRIMARY, SchoolType.KINDERGARTEN, SchoolType.JUNIOR],
        [Ownership.PUBLIC, Ownership.INCLUSIVE_PRIVATE],
        [True, False],
    )
    for n, ((school_type, ownership, central), (active, closed)) in enumerate(itertools.product(kinds, closings[:2])):
        units.append(
            OrgUnit.objects.create(
                code=f"UF-S{n}",
                name=f"校{n}",
                level=Level.SCHOOL,
                parent=township,
                school_type=school_type,
                ownership=ownership,
                is_central=central,
                is_active=active,
                closed_on=closed,
            )
        )
    for n, (active, closed) in enumerate(closings):  # every closing case for one kind of school and a 学区
        cases: list[tuple[str, str]] = [(Level.SCHOOL, SchoolType.KINDERGARTEN), (Level.TOWNSHIP, "")]
        for level, unit_type in cases:
            units.append(
                OrgUnit.objects.create(
                    code=f"UF-C{level}{n}",
                    name=f"撤并{n}",
                    level=level,
                    parent=district,
                    school_type=unit_type,
                    ownership=Ownership.PUBLIC,
                    is_active=active,
                    closed_on=closed,
                )
            )
    return units


FILTERS = [
    UnitFilter(),
    UnitFilter(levels=(Level.SCHOOL,)),
    UnitFilter(levels=(Level.DISTRICT, Level.TOWNSHIP)),
    UnitFilter(school_types=(SchoolType.KINDERGARTEN,)),
    UnitFilter(school_types=(SchoolType.PRIMARY, SchoolType.JUNIOR), ownership=(Ownership.PUBLIC,)),
    UnitFilter(central_only=True),
    UnitFilter(levels=(Level.SCHOOL,), school_types=(SchoolType.PRIMARY,), central_only=True),
    UnitFilter(levels=(Level.TOWNSHIP,), school_types=(SchoolType.PRIMARY,)),
    UnitFilter(ownership=(Ownership.INCLUSIVE_PRIVATE,)),
]


def _sql_ids(condition: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT u.id FROM schools_orgunit u WHERE u.code LIKE 'UF%%' AND {condition}")  # nosec B608
        return {row[0] for row in cursor.fetchall()}


def _date_sql(day: datetime.date) -> str:
    return f"DATE '{day.isoformat()}'" if connection.vendor == "postgresql" else f"'{day.isoformat()}'"


@pytest.mark.parametrize("unit_filter", FILTERS, ids=repr)
def test_q_matches_and_sql_agree_on_every_unit(db: None, unit_filter: UnitFilter) -> None:
    root = OrgUnit.objects.create(code="UF", name="局", level=Level.BUREAU)
    units = _units(root)
    for as_of in (None, PERIOD_END):
        by_python = {u.pk for u in units if unit_filter.matches(u, as_of)}
        by_q = set(
            OrgUnit.objects.filter(code__startswith="UF")
            .filter(unit_filter.q(as_of=as_of))
            .values_list("pk", flat=True)
        )
        end_sql = None if as_of is None else _date_sql(as_of)
        by_sql = _sql_ids(unit_filter.sql("u", end_sql))
        assert by_python == by_q == by_sql, as_of
        # The filter alone (open state aside) agrees too.
        covered = {u.pk for u in units if unit_filter.covers(u)}
        assert covered == set(
            OrgUnit.objects.filter(code__startswith="UF").filter(unit_filter.covers_q()).values_list("pk", flat=True)
        )
        assert covered == _sql_ids(unit_filter.sql("u", open_check=False))
    # Not vacuous: each filter keeps some units and leaves some out.
    kept = {u.pk for u in units if unit_filter.matches(u, PERIOD_END)}
    assert kept
    assert len(kept) < len(units)


def test_open_rule_a_unit_closed_by_the_period_end_does_not_count() -> None:
    everything = UnitFilter()
    school = {"level": Level.SCHOOL, "school_type": SchoolType.KINDERGARTEN, "ownership": "", "is_central": False}
    assert everything.matches(SimpleNamespace(**school, is_active=True, closed_on=None), PERIOD_END)
    assert not everything.matches(SimpleNamespace(**school, is_active=False, closed_on=None), PERIOD_END)
    day_after = PERIOD_END + datetime.timedelta(days=1)
    assert everything.matches(SimpleNamespace(**school, is_active=True, closed_on=day_after), PERIOD_END)
    assert not everything.matches(SimpleNamespace(**school, is_active=True, closed_on=PERIOD_END), PERIOD_END)
    # A district is never refused for a school type: its value is the sum of the schools that pass.
    district = SimpleNamespace(level=Level.DISTRICT, school_type="", ownership="", is_central=False, is_active=True)
    assert UnitFilter(school_types=(SchoolType.PRIMARY,), central_only=True).matches(district)
    assert not UnitFilter(levels=(Level.SCHOOL,)).matches(district)


def test_built_from_an_indicator() -> None:
    indicator = SimpleNamespace(
        unit_filter_levels=[Level.SCHOOL],
        unit_filter_school_types=[SchoolType.PRIMARY],
        unit_filter_ownership=[],
        unit_filter_central_only=True,
    )
    assert UnitFilter.of(indicator) == UnitFilter(
        levels=(Level.SCHOOL,), school_types=(SchoolType.PRIMARY,), central_only=True
    )
    assert UnitFilter.of(None) == UnitFilter()


def test_a_school_closing_in_the_year_counts_until_its_closing_quarter_in_engine_and_explanation(tree) -> None:  # noqa: ANN001
    figure("pri_new_entrants")
    entrants = indicator("pri_new_entrants", "pri_new_entrants")
    q1, q2 = period(2023, 1), period(2023, 2)
    for quarter in (q1, q2):
        report(tree.s1, quarter, pri_new_entrants=30)
        report(tree.s2, quarter, pri_new_entrants=20)
    tree.s2.closed_on = datetime.date(2023, 4, 15)  # still marked active: its closing date decides
    tree.s2.save()
    engine.full_recompute()
    # Q1 ends before the closing: both schools; Q2 ends after it: S1 alone (flow figures, year to date).
    assert (value(entrants, tree.d1, q1), value(entrants, tree.d1, q2)) == (Decimal(50), Decimal(60))
    assert iv(entrants, tree.s2, q2) is None
    for quarter, codes in ((q1, ["S1", "S2"]), (q2, ["S1"])):
        explained = explain.explain(entrants, tree.d1, quarter)
        assert [c.unit.code for c in explained.contributions] == codes
        stored = iv(entrants, tree.d1, quarter)
        assert stored is not None
        assert explained.numerator == stored.numerator
