"""The reviewer's queue on the submission page: previous / next through the submissions awaiting review (the
review list's order), on to the next one after approving or returning, and each figure beside the unit's
approved values of last quarter and of the same quarter last year."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schools.models import Level, SchoolType
from submissions import queue
from submissions.models import Figure, Submission, SubmissionStatus, Value
from tests.conftest import make_unit
from tests.submissions.conftest import PRIMARY, make_period, make_submission

SUBMITTED = SubmissionStatus.SUBMITTED
APPROVED = SubmissionStatus.APPROVED


def messages_of(response) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def queue_of_three(setup, tree):
    """rita's queue for 2023Q1 in the list's order (unit name, by code point): 东区中心小学 (S1; 中 U+4E2D),
    东区第一幼儿园 (K1; 第 U+7B2C, 一 U+4E00), 东区第二小学 (S2; 二 U+4E8C). Not in it: S3 (another district),
    a draft (T1's own), an approved one and a submission of another quarter."""
    s1 = make_submission(tree.s1, setup.q1, SUBMITTED)
    k1 = make_submission(tree.k1, setup.q1, SUBMITTED)
    s2 = make_submission(tree.s2, setup.q1, SUBMITTED)
    make_submission(tree.s3, setup.q1, SUBMITTED)
    make_submission(tree.t1, setup.q1, SubmissionStatus.DRAFT)
    make_submission(tree.d1, setup.q1, APPROVED)
    make_submission(tree.s1, setup.q4, SUBMITTED)
    return s1, k1, s2


def test_the_queue_is_the_scope_s_submitted_ones_of_the_period_in_the_list_order(queue_of_three, users, setup):
    s1, k1, s2 = queue_of_three
    assert list(queue.queue(users.rita, setup.q1)) == [s1, k1, s2]


def test_previous_and_next_walk_the_queue(client, queue_of_three, users):
    s1, k1, s2 = queue_of_three
    client.force_login(users.rita)
    body = client.get(k1.get_absolute_url()).content.decode()
    assert f'rel="prev" href="{s1.get_absolute_url()}"' in body
    assert "上一份：东区中心小学" in body
    assert f'rel="next" href="{s2.get_absolute_url()}"' in body
    assert "下一份：东区第二小学" in body
    # the ends of the queue have no link that way
    first = client.get(s1.get_absolute_url()).content.decode()
    assert 'rel="prev"' not in first
    assert f'rel="next" href="{k1.get_absolute_url()}"' in first
    last = client.get(s2.get_absolute_url()).content.decode()
    assert f'rel="prev" href="{k1.get_absolute_url()}"' in last
    assert 'rel="next"' not in last


def test_a_principal_sees_no_queue(client, queue_of_three, users):
    s1, _k1, _s2 = queue_of_three
    client.force_login(users.alice)
    body = client.get(s1.get_absolute_url()).content.decode()
    assert "queue-nav" not in body


def test_the_page_s_queries_do_not_grow_with_the_queue(client, queue_of_three, users, tree, setup):
    _s1, k1, _s2 = queue_of_three
    client.force_login(users.rita)
    client.get(k1.get_absolute_url())  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        assert client.get(k1.get_absolute_url()).status_code == 200
    for n in range(20):
        unit = make_unit(f"Q{n:02d}", f"东区队列小学{n:02d}", Level.SCHOOL, tree.t1, school_type=SchoolType.PRIMARY)
        make_submission(unit, setup.q1, SUBMITTED)
    with CaptureQueriesContext(connection) as large:
        assert client.get(k1.get_absolute_url()).status_code == 200
    assert len(large) == len(small)


def test_approving_goes_on_to_the_next_one_then_wraps_then_says_the_queue_is_empty(client, queue_of_three, users):
    s1, k1, s2 = queue_of_three
    client.force_login(users.rita)

    def act(submission: Submission, action: str, **data: object):  # noqa: ANN202
        url = reverse("submissions:submission_action", args=[submission.pk, action])
        response = client.post(url, {"version": submission.version, **data}, follow=True)
        assert response.status_code == 200
        return response.redirect_chain[-1][0], messages_of(response)

    # approving the middle one goes to the one after it
    assert act(k1, "approve") == (
        s2.get_absolute_url(),
        [("success", "已审核通过。"), ("info", "下一份待审核：东区第二小学。")],
    )
    # returning the last one goes back to the first one left
    assert act(s2, "return", reason="请核对") == (
        s1.get_absolute_url(),
        [("success", "已退回。"), ("info", "下一份待审核：东区中心小学。")],
    )
    # the last one: back to the period's review list, saying the queue is empty
    assert act(s1, "approve") == (
        f"{reverse('submissions:review_list')}?period={s1.period_id}",
        [("success", "已审核通过。"), ("info", "本周期的待审核队列已清空。")],
    )
    assert [s.status for s in Submission.objects.filter(pk__in=[s1.pk, k1.pk, s2.pk]).order_by("org_unit__code")] == [
        APPROVED,
        APPROVED,
        SubmissionStatus.RETURNED,
    ]  # fmt: skip  (K1, S1, S2)


def test_a_refused_approval_stays_on_the_page(client, queue_of_three, users):
    _s1, k1, _s2 = queue_of_three
    client.force_login(users.rita)
    response = client.post(reverse("submissions:submission_action", args=[k1.pk, "approve"]), {"version": 99})
    assert response.url == k1.get_absolute_url()
    k1.refresh_from_db()
    assert k1.status == SUBMITTED


# --- last quarter and the same quarter last year ---


def cells(body: str, code: str) -> dict[str, str]:
    """The comparison cells of one figure's row, as text."""
    row = re.search(rf'<tr>\s*<td><label for="id_v_{code}">.*?</tr>', body, re.S)
    assert row, code
    found = re.findall(r'<td class="num (compare-q|change-q|compare-y|change-y)[^"]*">(.*?)</td>', row.group(0), re.S)
    return {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in found}


@pytest.fixture
def year_ago(setup):
    return make_period(2022, 1)


def test_figures_beside_last_quarter_and_last_year_approved_values(client, setup, tree, users, year_ago):
    # given: S1's 2023Q1 awaiting review; 2022Q4 and 2022Q1 approved
    current = make_submission(tree.s1, setup.q1, SUBMITTED, pri_enrolled=600, pri_new_entrants=100)
    make_submission(tree.s1, setup.q4, APPROVED, pri_enrolled=400, pri_new_entrants=100)
    make_submission(tree.s1, year_ago, APPROVED, pri_enrolled=500, pri_new_entrants=0)
    client.force_login(users.rita)
    body = client.get(current.get_absolute_url()).content.decode()
    # 600 vs 400: +200, +50 % — beyond the 30 % warning share, flagged; vs 500: +100, +20 %
    assert cells(body, "pri_enrolled") == {
        "compare-q": "400",
        "change-q": "+200 (+50%) 变动较大",
        "compare-y": "500",
        "change-y": "+100 (+20%)",
    }
    # 100 vs 100: no change; vs 0: +100, no share (a share of zero is undefined)
    assert cells(body, "pri_new_entrants") == {
        "compare-q": "100",
        "change-q": "0 (0%)",
        "compare-y": "0",
        "change-y": "+100",
    }
    # a figure with no earlier value: dashes
    assert cells(body, "central_joint_research") == {
        "compare-q": "—",
        "change-q": "—",
        "compare-y": "—",
        "change-y": "—",
    }


def test_values_not_approved_are_not_compared(client, setup, tree, users, year_ago):
    current = make_submission(tree.s1, setup.q1, SUBMITTED, pri_enrolled=600)
    make_submission(tree.s1, setup.q4, SubmissionStatus.RETURNED, pri_enrolled=400)
    make_submission(tree.s1, year_ago, SUBMITTED, pri_enrolled=500)
    client.force_login(users.rita)
    body = client.get(current.get_absolute_url()).content.decode()
    assert cells(body, "pri_enrolled") == {"compare-q": "—", "change-q": "—", "compare-y": "—", "change-y": "—"}


def test_the_principal_s_form_keeps_its_single_last_quarter_column(client, setup, tree, users):
    draft = make_submission(tree.s1, setup.q1, pri_enrolled=600)
    client.force_login(users.alice)
    body = client.get(draft.get_absolute_url()).content.decode()
    assert "compare-q" not in body
    assert "去年同季" not in body


def test_comparison_queries_do_not_grow_with_the_figures(client, setup, tree, users, year_ago):
    current = make_submission(tree.s1, setup.q1, SUBMITTED, pri_enrolled=600)
    before = make_submission(tree.s1, setup.q4, APPROVED, pri_enrolled=400)
    last_year = make_submission(tree.s1, year_ago, APPROVED, pri_enrolled=500)
    client.force_login(users.rita)
    client.get(current.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(current.get_absolute_url())
    for n in range(10):
        figure = Figure.objects.create(
            code=f"extra_{n}", name=f"附加项{n}", reported_by_school_types=PRIMARY, order=10 + n
        )
        for submission, value in ((current, 30), (before, 20), (last_year, 10)):
            Value.objects.create(submission=submission, figure=figure, value=value)
    with CaptureQueriesContext(connection) as many:
        body = client.get(current.get_absolute_url()).content.decode()
    assert len(many) == len(few)
    assert cells(body, "extra_9") == {
        "compare-q": "20",
        "change-q": "+10 (+50%) 变动较大",
        "compare-y": "10",
        "change-y": "+20 (+200%) 变动较大",
    }


def test_the_queue_and_the_comparison_in_english(client, queue_of_three, users):
    _s1, k1, _s2 = queue_of_three
    client.force_login(users.rita)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(k1.get_absolute_url()).content.decode()
    assert "Previous: 东区中心小学" in body
    assert "Next: 东区第二小学" in body
    assert "Same quarter last year (approved)" in body
    assert "Change on last quarter" in body


def test_a_figure_s_own_warning_share_flags_its_changes(client, setup, tree, users, year_ago):
    # pri_enrolled warns beyond 10 % of its own: 440 vs 400 (+10 %) is not beyond, vs 380 (+15.8 %) is
    Figure.objects.filter(code="pri_enrolled").update(change_warning_share=Decimal("0.1"))
    current = make_submission(tree.s1, setup.q1, SUBMITTED, pri_enrolled=440)
    make_submission(tree.s1, setup.q4, APPROVED, pri_enrolled=400)
    make_submission(tree.s1, year_ago, APPROVED, pri_enrolled=380)
    client.force_login(users.rita)
    body = client.get(current.get_absolute_url()).content.decode()
    assert cells(body, "pri_enrolled") == {
        "compare-q": "400",
        "change-q": "+40 (+10%)",
        "compare-y": "380",
        "change-y": "+60 (+15.8%) 变动较大",
    }
