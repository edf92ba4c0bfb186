"""Year and half-year values (issue 17) equal the definition they had before: ``engine.window_values`` —
stored quarter rows where they are the window's value, else the linear statement — against the old statement
(``tests/indicators/window_reference.py``), on random data: every kind of indicator, offsets by a year and by a
quarter, a closed school, values missing, submitted (not approved) forms and 不适用 answers.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import pytest

from indicators import engine
from indicators.models import Aggregation, Indicator, IndicatorValue, PeriodMode
from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import Submission, SubmissionStatus, Value
from tests.conftest import make_unit
from tests.indicators.engine_data import figure, indicator, period, stock
from tests.indicators.window_reference import reference_window_values

D = Decimal
WINDOWS = ("2023", "2023H1", "2023H2", "2022")


def _units(tree, rng: random.Random) -> list:
    """The shared tree plus a second township and a dozen more schools (one closed in 2023)."""
    t2 = make_unit("T2", "西区第一学区", Level.TOWNSHIP, tree.d2)
    schools = [tree.s1, tree.s2, tree.k1, tree.s3, tree.k2]
    for n in range(12):
        kind = rng.choice([SchoolType.PRIMARY, SchoolType.KINDERGARTEN])
        extra = {"closed_on": datetime.date(2023, 8, 1)} if n == 0 else {}
        schools.append(
            make_unit(
                f"X{n}",
                f"学校{n}",
                Level.SCHOOL,
                rng.choice([tree.t1, t2, tree.d2]),
                school_type=kind,
                ownership=rng.choice([Ownership.PUBLIC, Ownership.INCLUSIVE_PRIVATE]),
                **extra,
            )
        )
    return schools


def _indicators() -> list[Indicator]:
    half = {"period_mode": PeriodMode.HALF}
    return [
        indicator("rate", "entrants", "enrolled", factor=100, **half),
        indicator("total", "entrants + 0 * enrolled", **half),
        indicator("growth", "entrants - entrants[-4]", **half),
        indicator("shifted", "entrants[-1]", "enrolled", **half),
        indicator("biggest", "enrolled", aggregation=Aggregation.MAX, **half),
        indicator("smallest", "enrolled", aggregation=Aggregation.MIN, **half),
        indicator("crowded", aggregation=Aggregation.COUNT_UNITS_WHERE, condition="enrolled > 300", **half),
        indicator("spread", "area", "enrolled", aggregation=Aggregation.CV, **half),
        indicator("na_rate", "meals", "enrolled", **half),
        indicator("kg_only", "entrants", unit_filter_school_types=[SchoolType.KINDERGARTEN], **half),
    ]


def _random_values(schools: list, rng: random.Random) -> None:
    figures = {code: figure(code) for code in ("entrants", "meals")}
    figures |= {code: stock(code) for code in ("enrolled", "area")}
    for year in (2022, 2023):
        for quarter in (1, 2, 3, 4):
            per = period(year, quarter)
            for unit in schools:
                if rng.random() < 0.2:
                    continue  # this school did not report this quarter
                status = SubmissionStatus.APPROVED if rng.random() < 0.85 else SubmissionStatus.SUBMITTED
                submission = Submission.objects.create(org_unit=unit, period=per, status=status)
                for code, fig in figures.items():
                    roll = rng.random()
                    if roll < 0.1:
                        continue
                    if code == "meals" and roll < 0.2:
                        Value.objects.create(submission=submission, figure=fig, value=None, not_applicable=True)
                        continue
                    number = D(rng.randint(0, 500)) if code != "area" else D(rng.randint(1000, 9000)) / 10
                    Value.objects.create(submission=submission, figure=fig, value=number)


def _rows(values: list[engine.WindowValue]) -> dict[tuple[str, str], tuple]:
    def q(number: object, places: int = 6) -> Decimal | None:
        return None if number is None else D(str(number)).quantize(D(1).scaleb(-places))

    return {
        (v.indicator.code, v.org_unit.code): (
            q(v.numerator),
            q(v.denominator),
            q(v.value, 4),
            v.unit_count,
            v.left_out_count,
        )
        for v in values
    }


@pytest.fixture
def random_data(tree, request):
    rng = random.Random(request.param)
    schools = _units(tree, rng)
    _random_values(schools, rng)
    return schools


@pytest.mark.parametrize("random_data", [1, 2, 3], indirect=True)
@pytest.mark.parametrize("stored", [False, True], ids=["computed", "stored"])
def test_window_values_equal_the_old_definition(tree, random_data, stored) -> None:
    indicators = _indicators()
    units = list(OrgUnit.objects.order_by("path"))
    if stored:
        engine.full_recompute()
        assert IndicatorValue.objects.exists()
    for code in WINDOWS:
        window = engine.parse_window(code)
        assert window is not None
        expected = _rows(reference_window_values(indicators, units, window))
        assert len(expected) == len(indicators) * len(units)
        assert _rows(engine.window_values(indicators, units, window)) == expected, code
        # One unit at a time (a page's single unit): the same numbers.
        for unit in (tree.city, tree.d2, tree.s3):
            one = _rows(engine.window_values(indicators, [unit], window))
            assert one == {key: row for key, row in expected.items() if key[1] == unit.code}, (code, unit.code)


def test_the_year_of_a_stored_indicator_is_read_not_computed(tree, django_assert_max_num_queries) -> None:
    """The year of an indicator whose year is its Q4 row: read from IndicatorValue (no window statement), so
    the query count is that of a page, whatever the subtree's size."""
    rng = random.Random(7)
    schools = _units(tree, rng)
    _random_values(schools, rng)
    rate = indicator("rate", "entrants", "enrolled", factor=100, period_mode=PeriodMode.HALF)
    engine.full_recompute()
    window = engine.parse_window("2023")
    assert window is not None
    stored = IndicatorValue.objects.get(indicator=rate, org_unit=tree.city, period__code=period(2023, 4).code)
    # indicators, figures (compile), figures (plan), 不适用 figures, the stored rows: no statement over values.
    with django_assert_max_num_queries(5):
        (row,) = engine.window_values([rate], [tree.city], window)
    assert (row.numerator, row.denominator, row.value) == (stored.numerator, stored.denominator, stored.value)
    # Every unit with a stored Q4 row: the same queries, not one more per unit.
    q4 = period(2023, 4)
    units = list(
        OrgUnit.objects.filter(indicator_values__indicator=rate, indicator_values__period=q4)
        .distinct()
        .order_by("path")
    )
    assert len(units) > 10
    with django_assert_max_num_queries(5):
        values = engine.window_values([rate], units, window)
    assert len(values) == len(units)
