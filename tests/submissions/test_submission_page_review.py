"""The submission page as a browser review saw it: messages that describe the typed values after a refused
save or submit, human names in the explanation history, and punctuation that suits each language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from submissions.models import Figure, HistoryAction, Submission, SubmissionHistory, SubmissionStatus, ValidationRule
from tests.submissions.conftest import S1_CLEAN, make_submission

ERROR_MESSAGE = "外来生数不能超过新生数"  # the error rule migrant_le_entrants
WARNING_MESSAGE = "新生数超过在校生的一半，请核实"  # the warning rule entrants_half_enrolled
TEMPLATES = Path(settings.BASE_DIR) / "templates" / "submissions"


def form_data(submission: Submission, op: str = "save", **values: object) -> dict[str, object]:
    data: dict[str, object] = {"version": submission.version, "op": op}
    data.update({f"v_{code}": value for code, value in values.items()})
    return data


def in_english(client) -> None:  # noqa: ANN001
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def field_cell(body: str, code: str) -> str:
    """The hints cell (errors, rule messages, explanation box) of one figure's row on the form."""
    row = re.search(rf'<tr>\s*<td><label for="id_v_{code}">.*?</tr>', body, re.S)
    assert row, code
    return row.group(0)


# --- 1. after a refused save or submit, messages describe what is in the boxes ---


def test_a_refused_submit_describes_the_corrected_values_not_the_stored_ones(client, setup, users, tree):
    # given: a stored draft that breaks the error rule (200 migrants of 100 entrants) and misses a value
    stored = {k: v for k, v in S1_CLEAN.items() if k != "central_joint_research"} | {"pri_new_entrants_migrant": 200}
    submission = make_submission(tree.s1, setup.q1, **stored)
    client.force_login(users.alice)
    # when: the principal corrects the migrants to 6, fills the missing value, lowers the enrolment so the
    # warning fires, and submits without an explanation
    typed = S1_CLEAN | {"pri_new_entrants_migrant": 6, "pri_enrolled": 150}
    response = client.post(submission.get_absolute_url(), form_data(submission, op="submit", **typed))
    # then: refused for the one unexplained warning only, and the page says exactly that
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="6"' in body
    assert ERROR_MESSAGE not in field_cell(body, "pri_new_entrants_migrant")
    assert ERROR_MESSAGE not in body
    warning_cell = field_cell(body, "pri_new_entrants")
    assert WARNING_MESSAGE in warning_cell
    assert 'name="x_entrants_half_enrolled"' in warning_cell  # the box to explain it in is there
    assert "还有 1 处需要处理才能提交。" in body
    assert "请填写此项" not in body


def test_a_refused_save_shows_the_rule_the_typed_values_break(client, setup, users, tree):
    # given: a clean stored draft
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    client.force_login(users.alice)
    # when: a save with 200 migrants of 100 entrants and a value that is not a number
    typed = S1_CLEAN | {"pri_new_entrants_migrant": 200, "central_joint_research": "3x"}
    response = client.post(submission.get_absolute_url(), form_data(submission, **typed))
    # then: refused for the bad number; the migrants' row already tells about the broken rule
    assert response.status_code == 400
    body = response.content.decode()
    assert "请输入数字" in field_cell(body, "central_joint_research")
    assert ERROR_MESSAGE in field_cell(body, "pri_new_entrants_migrant")
    # the rule and the value that is not a number yet (counted as missing) both block submitting
    assert "还有 2 处需要处理才能提交。" in body


def test_a_refused_submit_keeps_the_typed_explanation_and_zero_report_box(client, setup, users, tree):
    # given: a stored draft with the warning and an old explanation
    values = S1_CLEAN | {"pri_enrolled": 150}
    submission = make_submission(tree.s1, setup.q1, **values)
    submission.explanations = {"entrants_half_enrolled": "旧说明"}
    submission.save()
    client.force_login(users.alice)
    # when: a new explanation is typed, the zero-report box ticked, and a value is not a number
    data = form_data(submission, op="submit", **(values | {"central_joint_research": "abc"}))
    data |= {"x_entrants_half_enrolled": "新校区首年招生", "is_zero_report": "on"}
    response = client.post(submission.get_absolute_url(), data)
    # then: the page shows what was typed and ticked, not what is stored
    assert response.status_code == 400
    body = response.content.decode()
    cell = field_cell(body, "pri_new_entrants")
    assert ">新校区首年招生</textarea>" in cell
    assert "旧说明" not in body
    assert re.search(r'name="is_zero_report"\s+checked', body)


def test_an_explanation_typed_for_a_warning_counts_after_a_refused_submit(client, setup, users, tree):
    # given: a draft whose typed values raise the warning and miss a value, with the warning explained
    submission = make_submission(tree.s1, setup.q1)
    client.force_login(users.alice)
    typed = {k: v for k, v in S1_CLEAN.items() if k != "central_joint_research"} | {"pri_enrolled": 150}
    data = form_data(submission, op="submit", **typed) | {"x_entrants_half_enrolled": "新校区首年招生"}
    # when
    response = client.post(submission.get_absolute_url(), data)
    # then: only the missing value is left to do
    assert response.status_code == 400
    body = response.content.decode()
    assert "还有 1 处需要处理才能提交。" in body
    assert "请填写此项" in field_cell(body, "central_joint_research")
    assert "警告：请在说明中填写原因后再提交" not in body


def test_a_refused_submit_prints_each_rule_message_once(client, setup, users, tree):
    # given: typed values that break the error rule (migrants > entrants) and raise the unexplained warning
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    client.force_login(users.alice)
    typed = S1_CLEAN | {"pri_new_entrants": 400, "pri_new_entrants_migrant": 500}
    # when
    response = client.post(submission.get_absolute_url(), form_data(submission, op="submit", **typed))
    # then: each message once, beside its rule; the refusal says only what is left to do
    assert response.status_code == 400
    body = response.content.decode()
    migrants, entrants = field_cell(body, "pri_new_entrants_migrant"), field_cell(body, "pri_new_entrants")
    assert migrants.count(ERROR_MESSAGE) == 1
    assert entrants.count(WARNING_MESSAGE) == 1
    assert "请在说明中填写原因后再提交" in entrants
    assert re.search(r'<textarea id="x_entrants_half_enrolled"[^>]*aria-invalid="true"', entrants)
    # both inputs are marked invalid and point at the cell that says why
    for code, cell in (("pri_new_entrants_migrant", migrants), ("pri_new_entrants", entrants)):
        assert f'aria-invalid="true" aria-describedby="err_v_{code}"' in cell
        assert f'<td id="err_v_{code}">' in cell


# --- 2. the history names the rule or figure an explanation is about ---


def explain(submission: Submission, note: str) -> None:
    SubmissionHistory.objects.create(submission=submission, action=HistoryAction.EXPLAIN, note=note, version=2)


def history_section(body: str) -> str:
    return body[body.index("修改历史") if "修改历史" in body else body.index("Change history") :]


def test_the_history_names_the_rule_of_an_explanation(client, setup, users, tree):
    # given: an explanation written on the form for the warning rule
    submission = make_submission(tree.s1, setup.q1, **(S1_CLEAN | {"pri_enrolled": 150}))
    client.force_login(users.alice)
    data = form_data(submission, **(S1_CLEAN | {"pri_enrolled": 150})) | {"x_entrants_half_enrolled": "新校区首年招生"}
    assert client.post(submission.get_absolute_url(), data).status_code == 302
    # when
    body = client.get(submission.get_absolute_url()).content.decode()
    # then: the rule's name, not its code
    history = history_section(body)
    assert "新生数不超过在校生一半：新校区首年招生" in history
    assert "entrants_half_enrolled" not in history
    # and the API's history is unchanged: the stored note, code and all
    api = client.get(f"/api/v1/submissions/{submission.pk}/history/").json()
    explained = [row for row in api if row["action"] == "explain"]
    assert [row["note"] for row in explained] == ["entrants_half_enrolled: 新校区首年招生"]
    assert set(explained[0]) == {"action", "figure", "old", "new", "note", "channel", "user", "version", "at"}
    assert explained[0]["figure"] is None


def test_the_history_names_the_figure_of_a_change_explanation_in_each_language(client, setup, users, tree):
    Figure.objects.filter(code="pri_enrolled").update(name_en="Pupils enrolled")
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    explain(submission, "change_pri_enrolled: 新校区投入使用")
    client.force_login(users.alice)

    history = history_section(client.get(submission.get_absolute_url()).content.decode())
    assert "小学在校生数（较上季度变动）：新校区投入使用" in history
    assert "change_pri_enrolled" not in history

    in_english(client)
    history = history_section(client.get(submission.get_absolute_url()).content.decode())
    assert "Pupils enrolled (change from last quarter): 新校区投入使用" in history
    assert "change_pri_enrolled" not in history


def test_the_history_falls_back_to_the_code_of_a_rule_that_no_longer_exists(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    explain(submission, "retired_rule: 旧规则的说明")
    explain(submission, "entrants_half_enrolled: 规则已停用")
    ValidationRule.objects.filter(code="entrants_half_enrolled").update(is_active=False)  # still has its name
    client.force_login(users.alice)
    history = history_section(client.get(submission.get_absolute_url()).content.decode())
    assert "retired_rule：旧规则的说明" in history
    assert "新生数不超过在校生一半：规则已停用" in history


def test_the_page_query_count_does_not_grow_with_explanations(client, setup, users, tree, django_assert_num_queries):
    # Naming the rules costs one query (their names) whatever the number of explanation rows; a figure
    # the unit still reports is named from the form's figures, without a query.
    submission = make_submission(tree.s1, setup.q1, **S1_CLEAN)
    explain(submission, "entrants_half_enrolled: 一")
    client.force_login(users.alice)
    client.get(submission.get_absolute_url())  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(submission.get_absolute_url())
    for n in range(5):
        explain(submission, f"migrant_le_entrants: {n}")
        explain(submission, f"change_pri_enrolled: {n}")
        explain(submission, f"gone_{n}: {n}")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(submission.get_absolute_url())


# --- 3. punctuation that suits each language ---

FULL_WIDTH = "：（）；，。！？"


def untranslated_text(source: str) -> str:
    """A template's text outside translation tags, comments and other template tags and variables."""
    source = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "", source, flags=re.S)
    source = re.sub(r"{#.*?#}", "", source, flags=re.S)
    source = re.sub(r"{%.*?%}", "", source, flags=re.S)
    return re.sub(r"{{.*?}}", "", source, flags=re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_keep_punctuation_inside_translated_strings(template):
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    text = untranslated_text(source)
    assert [c for c in text if c in FULL_WIDTH] == []
    # an ASCII colon right after a translated label reads "导出:" in Chinese
    assert re.findall(r"{%\s*translate\s[^%]*%}\s*:", source) == []


def test_a_returned_submission_reads_naturally_in_english(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.RETURNED, **S1_CLEAN)
    submission.return_reason = "请核对新生数"
    submission.save()
    Figure.objects.filter(code="pri_enrolled").update(unit="人")
    client.force_login(users.alice)

    body = client.get(submission.get_absolute_url()).content.decode()
    assert "退回原因：" in body
    assert "（人）" in body

    in_english(client)
    body = client.get(submission.get_absolute_url()).content.decode()
    assert "Reason for return: </strong>" in body
    assert "Reason for return</strong>：" not in body
    assert " (人)" in body
    assert "（人）" not in body


LABELLED_PAGES = [
    ("bea", lambda s: reverse("submissions:figure_create"), "代码：</label>", "Code: </label>"),
    ("bea", lambda s: reverse("submissions:rule_list"), "：</label>", ": </label>"),
    ("bea", lambda s: reverse("submissions:figure_list"), "名称：</label>", "Name: </label>"),
    ("bea", lambda s: reverse("submissions:period_update", args=["2023Q1"]), "单位代码：</label>", ": </label>"),
    ("rita", lambda s: reverse("submissions:review_list"), "周期：</label>", "Period: </label>"),
    ("rita", lambda s: s.get_absolute_url(), "原因：</label>", "Reason: </label>"),
    ("alice", lambda s: reverse("submissions:template_upload"), "：</label>", ": </label>"),
]


@pytest.mark.parametrize(("who", "url", "chinese", "english"), LABELLED_PAGES)
def test_form_labels_end_with_the_colon_of_the_page_language(client, setup, users, tree, who, url, chinese, english):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(getattr(users, who))
    path = url(submission)

    body = client.get(path).content.decode()
    assert chinese in body
    assert re.findall(r"[^\s>]:</label>", body) == []  # never "部分:" with an ASCII colon

    in_english(client)
    body = client.get(path).content.decode()
    assert english in body
    assert "：</label>" not in body
