"""The demo's standard indicators: every one defined over the demo's figure codes, valid, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from demo import indicators as demo
from demo.schools import DESIGNATION_KINDS
from demo.submissions import FIGURES
from indicators import engine
from indicators.models import Indicator
from schools.models import DesignationKind
from submissions.models import Figure


@pytest.fixture
def demo_figures(db):
    for spec in FIGURES:
        Figure.objects.create(code=spec.code, name=spec.name, time_aggregation=spec.time)
    for code, name, name_en in DESIGNATION_KINDS:
        DesignationKind.objects.create(code=code, name=name, name_en=name_en)


def test_every_standard_indicator_is_defined_over_the_demo_figures(demo_figures):
    result = demo.load(None)
    # every spec created, none skipped for a missing figure or designation kind
    assert result == {"created": len(demo.INDICATORS), "updated": 0, "skipped": 0}
    for indicator in Indicator.objects.all():
        assert engine.validate_definition(indicator) == {}, indicator.code
        assert indicator.definition  # written out for bureau staff


def test_loading_twice_changes_nothing(demo_figures):
    demo.load(None)
    before = list(Indicator.objects.order_by("code").values())
    assert demo.load(None) == {"created": 0, "updated": 0, "skipped": 0}
    assert list(Indicator.objects.order_by("code").values()) == before


def test_a_missing_figure_skips_its_indicator_instead_of_half_defining_it(demo_figures):
    Figure.objects.filter(code="pop_age_6").delete()
    demo.load(None)
    assert not Indicator.objects.filter(code="pri_ontime_entry_rate").exists()
    assert Indicator.objects.filter(code="pri_retention_rate").exists()


@pytest.fixture(scope="module")
def _demo_loaded_once(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module inside a transaction that is rolled back after its last test (what
    Django's TestCase.setUpTestData does); each test still runs in a savepoint of its own within it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def loaded_demo(_demo_loaded_once, db):
    """The loaded demo, for one test."""


def test_demo_retention_is_never_a_misleading_zero(loaded_demo):
    """Graduates are reported in Q3 (the July graduation): before it the year has no graduating class,
    so Q1–Q2 are "无数据" (null), and from Q3 on the rate is a believable one — never 0 %."""
    from indicators.models import IndicatorValue
    from schools.models import OrgUnit

    city = OrgUnit.objects.get(parent__isnull=True)
    rows = IndicatorValue.objects.filter(indicator__code="pri_retention_rate", org_unit=city, period__year=2023)
    by_quarter = dict(rows.values_list("period__quarter", "value"))
    assert by_quarter[1] is None
    assert by_quarter[2] is None
    for quarter in (3, 4):
        assert 90 < by_quarter[quarter] < 110, (quarter, by_quarter[quarter])
    # No unit anywhere shows 0 % for a quarter without a graduation.
    assert not IndicatorValue.objects.filter(indicator__code="pri_retention_rate", value=0).exists()
