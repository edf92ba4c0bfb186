"""List pages show the labels of stored choices, never their codes (issue 14: `school`, `primary, nine_year`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from indicators.models import Indicator
from submissions.models import Figure
from submissions.tables import FigureTable

pytestmark = pytest.mark.django_db


def figures() -> None:
    Figure.objects.create(code="everyone", name="在校生数", max_value=Decimal("5000.0000"))
    Figure.objects.create(code="pri_types", name="小学招生数", reported_by_school_types=["primary", "nine_year"])
    Figure.objects.create(code="kg_only", name="幼儿园招生数", reported_by_school_types=["kindergarten"])
    Figure.objects.create(code="pop", name="适龄人口", reported_by_top_areas=True)
    Figure.objects.create(
        code="research", name="合作教研次数", reported_by_levels=["school"], reported_by_central_only=True
    )


def test_the_figure_list_names_who_reports_in_chinese(client, users) -> None:
    figures()
    client.force_login(users.bea)
    page = client.get(reverse("submissions:figure_list")).content.decode()
    assert "小学和九年一贯制学校" in page
    assert ">幼儿园<" in page
    assert "所有学校" in page
    assert "教育局直属区县/乡镇" in page
    assert "学校/幼儿园（仅中心校）" in page
    for code in ("primary, nine_year", "nine_year", "kindergarten", ">school<", "(central)"):
        assert code not in page
    assert "5,000" in page
    assert "5000.0000" not in page


def test_the_figure_list_names_who_reports_in_english(client, users) -> None:
    figures()
    client.force_login(users.bea)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("submissions:figure_list")).content.decode()
    assert "All schools" in page
    assert "(central schools only)" in page
    assert "nine_year" not in page
    assert "kindergarten<" not in page


def test_the_figure_export_carries_the_same_words() -> None:
    figures()
    table = FigureTable(Figure.objects.order_by("code"))
    rows = {row[0]: row for row in list(table.as_values())[1:]}
    reported_by = list(table.as_values())[0].index("填报单位")
    assert rows["pri_types"][reported_by] == "小学和九年一贯制学校"
    assert rows["everyone"][reported_by] == "所有学校"


def test_the_indicator_page_names_the_units_it_counts(client, users) -> None:
    indicator = Indicator.objects.create(
        code="pri_rate",
        name="小学入学率",
        numerator="a",
        unit_filter_school_types=["primary", "nine_year"],
        unit_filter_ownership=["public"],
    )
    client.force_login(users.bea)
    page = client.get(indicator.get_absolute_url()).content.decode()
    assert "小学、九年一贯制学校、公办" in page
    assert "nine_year" not in page
    assert "public" not in page
