"""After an Excel upload the page says the data is a draft and offers the submit button, which submits it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from submissions.models import Submission, SubmissionStatus
from tests.submissions.test_xlsx_support import download, fill, upload

pytestmark = pytest.mark.django_db

CLEAN = {
    ("S1", "pri_new_entrants"): 100,
    ("S1", "pri_new_entrants_migrant"): 10,
    ("S1", "pri_enrolled"): 600,
    ("S1", "central_joint_research"): 3,
}


def test_the_upload_says_draft_and_the_button_submits_it(client, users, setup, tree) -> None:
    # given a principal uploads a complete template
    client.force_login(users.alice)
    page = upload(client, fill(download(client, "2023Q1", "S1"), CLEAN), "2023Q1").content.decode()
    submission = Submission.objects.get(org_unit=tree.s1, period=setup.q1)
    assert submission.status == SubmissionStatus.DRAFT
    # then the message and the result say it is only saved, and offer the button
    assert "已保存为草稿" in page
    assert "草稿尚未提交" in page
    action = reverse("submissions:submission_action", args=[submission.pk, "submit"])
    form = re.search(rf'<form method="post" action="{action}"[^>]*>.*?</form>', page, re.S)
    assert form is not None
    assert f'name="version" value="{submission.version}"' in form.group(0)
    assert "提交审核" in form.group(0)
    # when the principal presses it
    response = client.post(action, {"version": submission.version})
    # then the draft is submitted through the workflow and the submission page confirms it
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.submitted_by == users.alice
    assert "已提交，等待审核。" in client.get(response["Location"]).content.decode()


def test_the_submit_button_refuses_an_incomplete_draft_with_the_rules_message(client, users, setup, tree) -> None:
    client.force_login(users.alice)
    partial = {key: value for key, value in CLEAN.items() if key[1] != "pri_enrolled"}
    upload(client, fill(download(client, "2023Q1", "S1"), partial), "2023Q1")
    submission = Submission.objects.get(org_unit=tree.s1, period=setup.q1)
    response = client.post(
        reverse("submissions:submission_action", args=[submission.pk, "submit"]), {"version": submission.version}
    )
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.DRAFT
    assert "请填写此项" in client.get(response["Location"]).content.decode()


def test_the_upload_message_is_english_on_english_pages(client, users, setup) -> None:
    client.force_login(users.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = upload(client, fill(download(client, "2023Q1", "S1"), CLEAN), "2023Q1").content.decode()
    assert "saved as a draft" in page
    assert "Submit for review" in page
