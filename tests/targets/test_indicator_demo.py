"""The demo's standard indicators: every one defined over the demo's figure codes, valid, idempotent."""

from __future__ import annotations

import pytest

from schools.demo import DESIGNATION_KINDS
from schools.models import DesignationKind
from submissions.demo import FIGURES
from submissions.models import Figure
from targets import demo, engine
from targets.models import Indicator


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
