"""A validation rule's name and message in the page's language (portal.i18n.localized).

Bureau staff type a rule's Chinese name and message, and optionally English ones. English pages, the API
answered in English and the rule list show the English text where it is filled in, the Chinese otherwise.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from portal.i18n import localized
from submissions.models import Figure, HistoryAction, SubmissionHistory, ValidationRule
from tests.submissions.conftest import S1_CLEAN, make_submission

CHINESE = "外来生数不能超过新生数"
ENGLISH = "Migrants cannot exceed the new entrants"


def with_english(code: str = "migrant_le_entrants") -> ValidationRule:
    rule = ValidationRule.objects.get(code=code)
    rule.name_en, rule.message_en = "Migrants ≤ entrants", ENGLISH
    rule.save()
    return rule


def test_localized_picks_english_only_on_english_pages_and_only_when_filled_in() -> None:
    both = SimpleNamespace(name="小学新生数", name_en="New first-graders")
    chinese_only = SimpleNamespace(name="小学新生数", name_en="")
    with translation.override("en"):
        assert (localized(both), localized(chinese_only)) == ("New first-graders", "小学新生数")
    with translation.override("zh-hans"):
        assert (localized(both), localized(chinese_only)) == ("小学新生数", "小学新生数")


def test_the_form_shows_the_rules_message_in_the_page_language(client, setup, users, tree):
    with_english()
    submission = make_submission(tree.s1, setup.q1, **(S1_CLEAN | {"pri_new_entrants_migrant": 200}))
    client.force_login(users.alice)
    body = client.get(submission.get_absolute_url()).content.decode()
    assert CHINESE in body
    assert ENGLISH not in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(submission.get_absolute_url()).content.decode()
    assert ENGLISH in body
    assert CHINESE not in body


def test_a_rule_without_english_text_keeps_its_chinese_message_on_english_pages(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, **(S1_CLEAN | {"pri_new_entrants_migrant": 200}))
    client.force_login(users.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert CHINESE in client.get(submission.get_absolute_url()).content.decode()


def test_the_api_answers_the_rules_message_in_the_requested_language(client, setup, users, tree):
    with_english()
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    client.force_login(users.alice)
    url = f"/api/v1/submissions/{submission.pk}/"
    body = {"version": submission.version, "values": {"pri_new_entrants_migrant": 200}}
    chinese = client.patch(url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 200, chinese.content
    messages = [issue["message"] for issue in chinese.json()["warnings"]]
    assert CHINESE in messages
    english = client.patch(
        url, {"version": chinese.json()["version"], "values": {}}, content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert english.status_code == 200, english.content
    assert ENGLISH in [issue["message"] for issue in english.json()["warnings"]]


def test_the_history_names_the_explained_rule_in_the_page_language(client, setup, users, tree):
    with_english("entrants_half_enrolled")
    ValidationRule.objects.filter(code="entrants_half_enrolled").update(name_en="Entrants ≤ half the enrolled")
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    SubmissionHistory.objects.create(
        submission=submission, action=HistoryAction.EXPLAIN, note="entrants_half_enrolled: 新校区招生"
    )
    client.force_login(users.alice)
    assert "新生数不超过在校生一半" in client.get(submission.get_absolute_url()).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Entrants ≤ half the enrolled" in client.get(submission.get_absolute_url()).content.decode()


def test_the_rule_and_figure_lists_show_english_names_on_english_pages(client, setup, users):
    with_english()
    Figure.objects.filter(code="pri_new_entrants").update(name_en="New first-graders")
    client.force_login(users.bea)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    rules = client.get(reverse("submissions:rule_list")).content.decode()
    assert "Migrants ≤ entrants" in rules
    assert ENGLISH in rules
    assert "新生数超过在校生的一半，请核实" in rules  # the other rule has no English text
    assert "New first-graders" in client.get(reverse("submissions:figure_list")).content.decode()
