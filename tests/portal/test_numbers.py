"""The one number formatter (portal.numbers) and its template filters."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import npgettext

from portal.numbers import KNOWN_UNITS, NO_DATA, format_margin, format_number, format_signed


@pytest.mark.parametrize(
    ("value", "decimals", "unit", "expected"),
    [
        # head counts and other whole numbers: never ".00", always grouped
        (Decimal("5592.000000"), None, "", "5,592"),
        (Decimal("5592.00"), 2, "", "5,592"),
        (Decimal("23000.0"), 1, "人", "23,000 人"),
        (23000, 1, "人", "23,000 人"),
        (0, 2, "", "0"),
        # a rate keeps its indicator's decimals and the % sign
        (Decimal("97.8484"), 2, "%", "97.85%"),
        (Decimal("98.0000"), 1, "%", "98.0%"),
        (Decimal("98"), 0, "%", "98%"),
        (Decimal("99.95"), 1, "%", "100.0%"),  # half up, not half to even
        (Decimal("0.125"), 2, "", "0.13"),
        # fractional quantities: the decimals asked for; as stored: up to 4, trailing zeros dropped
        (Decimal("12.5000"), None, "", "12.5"),
        (Decimal("1234567.891234"), None, "", "1,234,567.8912"),
        (Decimal("812.25"), 1, "个", "812.3 个"),
        # negatives, and no "-0"
        (Decimal("-1234.5"), 1, "", "-1,234.5"),
        (Decimal("-0.004"), 2, "", "0"),
        (Decimal("-2.5"), 1, "%", "-2.5%"),
        # floats and numeric strings are accepted (chart axes, template literals)
        (97.25, 1, "%", "97.3%"),
        ("1500", None, "", "1,500"),
    ],
)
def test_it_formats_numbers(value: object, decimals: int | None, unit: str, expected: str) -> None:
    assert format_number(value, decimals, unit) == expected


@pytest.mark.parametrize("missing", [None, "", "n/a", Decimal("NaN"), Decimal("Infinity")])
def test_a_missing_value_reads_as_no_value(missing: object) -> None:
    assert format_number(missing, 2, "%") == "—"
    assert format_margin(missing) == "—"
    assert format_signed(missing, 1) == "—"


def test_the_no_value_text_is_the_callers_and_is_translated() -> None:
    with translation.override("zh-hans"):
        assert format_number(None, 1, empty=NO_DATA) == "无数据"
    with translation.override("en"):
        assert format_number(None, 1, empty=NO_DATA) == "No data"


def test_chinese_and_english_pages_print_the_same_digits() -> None:
    texts = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            texts[language] = (format_number(Decimal("1234567.5"), 1, "%"), format_margin(Decimal("0.05")))
    assert texts["zh-hans"] == texts["en"] == ("1,234,567.5%", "5%")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("0.0500"), "5%"), (Decimal("0.025"), "2.5%"), (Decimal("0"), "0%"), (Decimal("1"), "100%")],
)
def test_a_margin_reads_as_a_percentage(value: Decimal, expected: str) -> None:
    assert format_margin(value) == expected


def test_a_difference_carries_its_sign() -> None:
    assert format_signed(Decimal("1.25"), 1, "%") == "+1.3%"
    assert format_signed(Decimal("-3"), 1, "人") == "-3 人"
    assert format_signed(Decimal("0.001"), 1) == "0"


def test_the_template_filters_use_the_formatter() -> None:
    rate = SimpleNamespace(decimals=2, unit="%")
    template = Template(
        "{% load numbers %}{{ a|number }}|{{ b|measure:rate }}|{{ c|margin }}|{{ missing|number }}|"
        "{{ b|measure:none }}|{% num d 1 '人' %}|{% num missing 1 %}"
    )
    text = template.render(
        Context(
            {"a": Decimal("5592.00"), "b": Decimal("97.8484"), "c": Decimal("0.0500"), "d": Decimal("23000.0")}
            | {"rate": rate, "none": None}
        )
    )
    assert text == "5,592|97.85%|5%|—|97.85|23,000 人|无数据"


@pytest.mark.parametrize(
    ("value", "unit", "chinese", "english"),
    [
        (Decimal("23000"), "人", "23,000 人", "23,000 people"),
        (1, "人", "1 人", "1 person"),
        (Decimal("1.0"), "所", "1 所", "1 school"),
        (Decimal("20"), "所", "20 所", "20 schools"),
        (Decimal("14.1"), "万平方米", "14.1 万平方米", "14.1 ×10k m²"),
        (Decimal("0.5"), "小时", "0.5 小时", "0.5 hours"),
        (3, "次", "3 次", "3 times"),
        # a unit nobody listed is data: shown as typed in both languages
        (5, "座", "5 座", "5 座"),
        (5, "<b>x</b>", "5 <b>x</b>", "5 <b>x</b>"),
    ],
)
def test_units_of_measure_read_in_the_pages_language(value: object, unit: str, chinese: str, english: str) -> None:
    with translation.override("zh-hans"):
        assert format_number(value, 1, unit) == chinese
    with translation.override("en"):
        assert format_number(value, 1, unit) == english


def test_every_known_unit_has_an_english_singular_and_plural() -> None:
    """A unit added to KNOWN_UNITS without its catalogue entry would leave Chinese on English pages."""
    with translation.override("en"):
        untranslated = [
            unit
            for unit in sorted(KNOWN_UNITS)
            if unit in (npgettext("unit of measure", unit, unit, 1), npgettext("unit of measure", unit, unit, 2))
        ]
    assert not untranslated


def test_a_bare_unit_filter_translates_and_escapes() -> None:
    template = Template("{% load numbers %}{{ a|unit_label }}|{{ b|unit_label }}|{{ c|unit_label }}")
    context = {"a": "平方米", "b": "<script>", "c": None}
    with translation.override("en"):
        assert template.render(Context(context)) == "m²|&lt;script&gt;|"
    with translation.override("zh-hans"):
        assert template.render(Context(context)) == "平方米|&lt;script&gt;|"
