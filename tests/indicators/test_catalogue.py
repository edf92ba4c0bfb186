"""The standard catalogue: the shipped file, the loader's checks, installing an entry (idempotent, conflicts,
permissions), the command, the page and the API."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from indicators import catalogue, engine
from indicators.models import Aggregation, Indicator
from portal.errors import ServiceError
from submissions.models import Figure, TimeAggregation
from tests.indicators.engine_data import period, report, value

NATIONAL_NAMES = [
    "学前三年毛入园率", "学前一年入园率", "小学巩固率", "初中巩固率", "适龄儿童按时入学率",
    "三类残疾儿童义务教育入学率", "义务教育大班额比例", "义务教育超大班额比例", "义务教育平均班额", "小学大校额学校数",
    "生师比", "每百名学生拥有高于规定学历教师数", "每百名学生拥有县级及以上骨干教师数",
    "每百名学生拥有体育艺术专任教师数",
    "生均教学及辅助用房面积", "生均体育运动场馆面积", "生均教学仪器设备值", "每百名学生拥有网络多媒体教室数",
]  # fmt: skip


def raw() -> dict:
    return json.loads(catalogue.CATALOGUE_PATH.read_text(encoding="utf-8"))


# --- The shipped file ---


def test_the_shipped_catalogue_is_valid_and_covers_the_national_definitions() -> None:
    loaded = catalogue.load()
    assert loaded.version == raw()["version"]
    names = {entry.name for entry in loaded.entries.values()}
    assert set(NATIONAL_NAMES) <= names
    for entry in loaded.entries.values():
        assert entry.definition, entry.code
        assert entry.name_en, entry.code
        assert entry.synonyms, entry.code
        # Every figure a formula reads is one of the entry's own figures (checked by the parser too).
        assert entry.figures
    cv = [entry for entry in loaded.entries.values() if entry.requires]
    assert cv
    # Marked as needing the cv aggregation, which the engine now has: installable like the others.
    assert all(entry.requires == "cv" and entry.supported for entry in cv)


def test_reused_demo_codes_have_the_demo_definitions(db: None) -> None:
    """Installing the catalogue over the demo reuses its figures and indicators: no conflict anywhere."""
    from demo import indicators as indicators_demo
    from demo import submissions as submissions_demo

    submissions_demo.load()
    indicators_demo.load()
    states = catalogue.states()
    reused = [s for s in states if s.entry.code in {"kg_3yr_rate", "pri_retention_rate", "schools_over_2000"}]
    assert len(reused) == 3
    assert all(s.installed for s in reused)
    assert [s.problems for s in states if s.entry.supported and s.problems] == []


# --- The loader's checks ---


def test_a_formula_reading_a_figure_outside_its_entry_is_refused() -> None:
    data = raw()
    data["entries"][0]["formula"]["numerator"] = "kg_enrolled + pri_enrolled"
    with pytest.raises(catalogue.CatalogueError) as caught:
        catalogue.parse(data)
    assert any("kg_3yr_rate.numerator" in p and "pri_enrolled" in p for p in caught.value.problems)


def test_the_loader_lists_every_problem_of_a_broken_file() -> None:
    data = raw()
    del data["version"]
    data["entries"].append(copy.deepcopy(data["entries"][0]))  # a duplicate code
    data["entries"][1]["formula"]["aggregation"] = "median"  # unknown, not marked "requires"
    data["entries"][2]["unit_filter"]["school_types"] = ["university"]
    data["entries"][3]["figures"] = ["no_such_figure"]
    data["entries"][4]["formula"]["denominator"] = "pop_age_6 +"
    data["figures"][0]["time_aggregation"] = "yearly"
    data["entries"][-2]["formula"]["weight"] = "pri_enrolled * kg_enrolled"  # a figure outside the entry
    with pytest.raises(catalogue.CatalogueError) as caught:
        catalogue.parse(data)
    text = "\n".join(caught.value.problems)
    for expected in ("version", "defined twice", "'median'", "university", "no_such_figure",
                     "pri_ontime_entry_rate.denominator", "time_aggregation", ".weight"):  # fmt: skip
        assert expected in text


def test_unparseable_json_is_a_catalogue_error(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "catalogue.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(catalogue.CatalogueError):
        catalogue.load(path)


# --- Installing ---


def test_install_creates_the_figures_and_the_indicator_which_then_computes(users, tree) -> None:  # noqa: ANN001
    result = catalogue.install_entry("kg_3yr_rate", users.bea)
    assert result.figures_created == ("kg_enrolled", "pop_age_3_5")
    assert result.indicator_created
    enrolled = Figure.objects.get(code="kg_enrolled")
    assert enrolled.time_aggregation == TimeAggregation.STOCK
    assert enrolled.reported_by_school_types == ["kindergarten"]
    assert enrolled.required  # a national figure is required, as every figure was before issue 13
    assert Figure.objects.get(code="pop_age_3_5").reported_by_top_areas
    rate = Indicator.objects.get(code="kg_3yr_rate")
    assert (rate.numerator, rate.denominator, rate.factor) == ("kg_enrolled", "pop_age_3_5", Decimal(100))
    assert "3—5 周岁" in rate.definition

    q1 = period(2023, 1)
    report(tree.k1, q1, kg_enrolled=90)
    report(tree.d1, q1, pop_age_3_5=100)
    engine.full_recompute()
    assert value(rate, tree.d1, q1) == Decimal("90.00")


def test_an_optional_figure_installs_optional_and_its_quarters_without_a_value_have_none(users, tree) -> None:  # noqa: ANN001
    """Graduates are filled in the graduation quarter only ("required": false): the retention rate has no value
    before it, with no formula trick to hide a 0 %."""
    catalogue.install_entry("pri_retention_rate", users.bea)
    required = dict(Figure.objects.values_list("code", "required"))
    assert required == {"pri_graduates": False, "pri_cohort_entrants": True, "pri_transfers_in": True,
                        "pri_transfers_out": True}  # fmt: skip
    rate = Indicator.objects.get(code="pri_retention_rate")
    q1, q3 = period(2023, 1), period(2023, 3)
    report(tree.s1, q1, pri_cohort_entrants=100, pri_transfers_in=2, pri_transfers_out=2)
    report(tree.s1, q3, pri_cohort_entrants=100, pri_graduates=98)
    engine.full_recompute()
    assert value(rate, tree.s1, q1) is None
    assert value(rate, tree.s1, q3) == Decimal("98.00")


def test_install_is_idempotent_and_reuses_figures_already_there(users) -> None:  # noqa: ANN001
    catalogue.install_entry("teaching_area_per_student", users.bea)
    before = (Figure.objects.count(), Indicator.objects.count())
    again = catalogue.install_entry("teaching_area_per_student", users.bea)
    assert not again.changed
    assert (Figure.objects.count(), Indicator.objects.count()) == before
    # Another entry reading the same enrolment figures creates only its own.
    other = catalogue.install_entry("sports_area_per_student", users.bea)
    assert other.figures_created == ("area_sports",)


def test_a_figure_with_the_same_code_and_another_definition_refuses_the_install(users) -> None:  # noqa: ANN001
    Figure.objects.create(code="pri_enrolled", name="在校生数", time_aggregation=TimeAggregation.FLOW, unit="人")
    with pytest.raises(ServiceError) as caught:
        catalogue.install_entry("average_class_size", users.bea)
    assert "pri_enrolled" in caught.value.errors["code"][0]
    assert "时间汇总" in caught.value.errors["code"][0]
    assert list(Figure.objects.values_list("code", flat=True)) == ["pri_enrolled"]  # nothing written
    assert not Indicator.objects.exists()


def test_an_indicator_with_the_same_code_and_another_formula_refuses_the_install(users) -> None:  # noqa: ANN001
    Figure.objects.create(code="x", name="x")
    Indicator.objects.create(code="kg_3yr_rate", name="别的", numerator="x", aggregation=Aggregation.SUM)
    with pytest.raises(ServiceError) as caught:
        catalogue.install_entry("kg_3yr_rate", users.bea)
    assert "kg_3yr_rate" in caught.value.errors["code"][0]
    assert not Figure.objects.filter(code="kg_enrolled").exists()


def test_only_bureau_admins_install(users) -> None:  # noqa: ANN001
    for user in (users.rita, users.ivan, users.alice, users.nobody):
        with pytest.raises(PermissionDenied):
            catalogue.install_entry("kg_3yr_rate", user)
    assert not Figure.objects.exists()


def test_entries_needing_the_cv_aggregation_install_with_their_weight(users) -> None:  # noqa: ANN001
    catalogue.install_entry("cv_teaching_area_per_student", users.bea)
    installed = Indicator.objects.get(code="cv_teaching_area_per_student")
    assert (installed.aggregation, installed.weight) == ("cv", "pri_enrolled + jun_enrolled")
    with pytest.raises(ServiceError):
        catalogue.install_entry("no_such_entry", users.bea)


def test_the_command_installs_the_catalogue_cv_entries_included(db: None) -> None:
    out = StringIO()
    call_command("load_catalogue", stdout=out)
    supported = [e for e in catalogue.load().entries.values() if e.supported]
    assert set(Indicator.objects.values_list("code", flat=True)) == {e.code for e in supported}
    assert "skipped, needs" not in out.getvalue()
    assert Indicator.objects.filter(aggregation="cv").exists()
    out = StringIO()
    call_command("load_catalogue", "--only", "kg_3yr_rate", stdout=out)
    assert "0 installed, 1 already present" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("load_catalogue", "--only", "nope", stdout=StringIO())


def test_the_command_reports_a_conflict_and_installs_the_rest(db: None) -> None:
    Figure.objects.create(code="pop_age_5", name="5岁", time_aggregation=TimeAggregation.FLOW, unit="人")
    err = StringIO()
    with pytest.raises(CommandError, match="kg_preschool_1yr_rate"):
        call_command("load_catalogue", "--only", "kg_preschool_1yr_rate", "kg_3yr_rate", stdout=StringIO(), stderr=err)
    assert "pop_age_5" in err.getvalue()
    assert Indicator.objects.filter(code="kg_3yr_rate").exists()
    assert not Indicator.objects.filter(code="kg_preschool_1yr_rate").exists()


# --- Page and API ---


def test_the_page_lists_the_catalogue_and_an_admin_installs_with_one_click(client, users) -> None:  # noqa: ANN001
    client.force_login(users.bea)
    page = client.get("/targets/indicators/catalogue/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "学前三年毛入园率" in html
    assert "/targets/indicators/catalogue/kg_3yr_rate/install/" in html
    assert 'data-state="installed"' not in html
    response = client.post("/targets/indicators/catalogue/kg_3yr_rate/install/", follow=True)
    assert Indicator.objects.filter(code="kg_3yr_rate").exists()
    html = response.content.decode()
    assert "已安装“学前三年毛入园率”" in html
    assert 'data-state="installed"' in html
    assert "/targets/indicators/catalogue/kg_3yr_rate/install/" not in html


def test_others_see_the_page_without_buttons_and_may_not_install(client, users) -> None:  # noqa: ANN001
    client.force_login(users.rita)
    html = client.get("/targets/indicators/catalogue/").content.decode()
    assert "学前三年毛入园率" in html
    assert "/install/" not in html
    assert client.post("/targets/indicators/catalogue/kg_3yr_rate/install/").status_code == 403
    assert not Indicator.objects.exists()


def test_the_page_shows_a_conflict_instead_of_the_button(client, users) -> None:  # noqa: ANN001
    Figure.objects.create(code="kg_enrolled", name="在园", time_aggregation=TimeAggregation.FLOW, unit="人")
    client.force_login(users.bea)
    html = client.get("/targets/indicators/catalogue/").content.decode()
    assert "已有代码为 kg_enrolled 的填报项" in html
    assert "/targets/indicators/catalogue/kg_3yr_rate/install/" not in html


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_lists_the_catalogue_with_figures_and_states(users) -> None:  # noqa: ANN001
    response = api(users.alice).get("/api/v1/indicator-catalogue/")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == catalogue.load().version
    entry = next(e for e in body["entries"] if e["code"] == "kg_3yr_rate")
    assert entry["formula"] == {"numerator": "kg_enrolled", "denominator": "pop_age_3_5", "factor": 100,
                                "aggregation": "ratio", "decimals": 1, "condition": "", "weight": ""}  # fmt: skip
    assert entry["unit_filter"]["school_types"] == ["kindergarten"]
    assert [f["code"] for f in entry["figures"]] == ["kg_enrolled", "pop_age_3_5"]
    assert entry["installed"] is False
    assert entry["installable"] is True
    cv = next(e for e in body["entries"] if e["requires"] == "cv")
    assert cv["formula"]["weight"] == "pri_enrolled + jun_enrolled"  # each school weighs by its enrolment
    assert cv["installable"] is True
    assert cv["problems"] == []


def test_the_api_installs_for_bureau_admins_only(users) -> None:  # noqa: ANN001
    url = "/api/v1/indicator-catalogue/kg_3yr_rate/install/"
    assert api(users.rita).post(url).status_code == 403
    assert not Indicator.objects.exists()
    response = api(users.bea).post(url)
    assert response.status_code == 201, response.json()
    assert response.json()["figures_created"] == ["kg_enrolled", "pop_age_3_5"]
    assert response.json()["installed"]
    again = api(users.bea).post(url)
    assert again.status_code == 200
    assert again.json()["figures_created"] == []
    assert api(users.bea).post("/api/v1/indicator-catalogue/nope/install/").status_code == 404


def test_the_api_refuses_a_conflict_with_a_translated_400(users) -> None:  # noqa: ANN001
    Figure.objects.create(code="kg_enrolled", name="在园", time_aggregation=TimeAggregation.FLOW, unit="人")
    response = api(users.bea).post("/api/v1/indicator-catalogue/kg_3yr_rate/install/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "A figure with the code kg_enrolled already exists" in response.json()["errors"]["code"][0]
    assert not Indicator.objects.exists()
    assert Figure.objects.count() == 1


@pytest.mark.parametrize(
    ("sentence", "first"),
    [
        ("学前三年幼儿毛入园率达到92%以上", "kg_3yr_rate"),
        ("学前一年入园率达99%以上", "kg_preschool_1yr_rate"),
        ("全面消除56人以上大班额", "classes_over_55"),
        ("生均教学仪器设备值达到2000元", "equipment_value_per_student"),
        ("三类残疾儿童少年义务教育入学率保持在95%以上", "special_disabled_enrolment_rate"),
        ("初中巩固率达到 98％", "jun_retention_rate"),
    ],
)
def test_names_and_synonyms_find_the_entry_a_sentence_measures(sentence: str, first: str) -> None:
    assert catalogue.match_names(sentence)[0].code == first


def test_a_sentence_naming_no_measure_matches_nothing() -> None:
    assert catalogue.match_names("加强党的建设，落实全面从严治党主体责任") == []
    assert catalogue.match_names("") == []


def test_per_student_entries_add_both_stages_and_count_schools_over_the_limit(users, tree) -> None:  # noqa: ANN001
    """Primary schools report no junior enrolment: the sum of both stages still counts (missing reads as 0)."""
    for code in ("teaching_area_per_student", "schools_over_2000"):
        catalogue.install_entry(code, users.bea)
    q1 = period(2023, 1)
    report(tree.s1, q1, area_teaching_aux=4500.5, pri_enrolled=1000)
    report(tree.s2, q1, area_teaching_aux=4000, pri_enrolled=2001)
    engine.full_recompute()
    area = Indicator.objects.get(code="teaching_area_per_student")
    assert value(area, tree.s1, q1) == Decimal("4.50")
    assert value(area, tree.t1, q1) == Decimal("2.83")  # 8500.5 / 3001, not the mean of the schools' 4.50 and 2.00
    assert value(Indicator.objects.get(code="schools_over_2000"), tree.d1, q1) == Decimal(1)
