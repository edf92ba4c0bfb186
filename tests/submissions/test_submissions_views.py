"""Web pages: the principal's form, the reviewer's screen, bureau definitions, and query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from schools.models import Level, OrgUnit, Ownership, SchoolType
from submissions.models import (
    Figure,
    PeriodException,
    Submission,
    SubmissionHistory,
    SubmissionStatus,
    ValidationRule,
    Value,
)
from tests.submissions.conftest import S1_CLEAN, make_submission


def form_data(submission, op="save", **values):
    data = {"version": submission.version, "op": op}
    data.update({f"v_{code}": value for code, value in values.items()})
    return data


def stored(submission):
    return dict(Value.objects.filter(submission=submission).values_list("figure__code", "value"))


# --- the principal's form ---


def test_a_refused_submit_on_the_form_keeps_nothing_of_its_save(client, setup, users, tree):
    # given: S1's draft, and a "submit" with one figure still missing
    client.force_login(users.alice)
    submission = Submission.objects.create(org_unit=tree.s1, period=setup.q1)
    incomplete = {k: v for k, v in S1_CLEAN.items() if k != "pri_enrolled"}
    # when
    response = client.post(submission.get_absolute_url(), form_data(submission, op="submit", **incomplete))
    # then: the errors, the typed values on the page, and nothing written
    assert response.status_code == 400
    assert "请填写此项" in response.content.decode()
    assert 'value="100"' in response.content.decode()
    submission.refresh_from_db()
    assert (submission.status, submission.version) == (SubmissionStatus.DRAFT, 1)
    assert stored(submission) == {}
    assert not SubmissionHistory.objects.filter(submission=submission).exists()


def test_the_review_list_headers_are_chinese():
    from submissions.tables import SubmissionTable

    assert SubmissionTable([]).columns["submitted_at"].header == "提交时间"


def test_a_principal_opens_fills_and_submits_the_form(client, setup, users, tree):
    client.force_login(users.alice)
    page = client.get(reverse("submissions:my_submissions"))
    assert "开始填报" in page.content.decode()

    opened = client.post(reverse("submissions:submission_open"), {"org_unit": "S1", "period": "2023Q1"})
    submission = Submission.objects.get(org_unit=tree.s1, period=setup.q1)
    assert opened.url == submission.get_absolute_url()

    form = client.get(submission.get_absolute_url()).content.decode()
    assert 'name="v_pri_new_entrants"' in form
    assert 'name="v_kg_enrolled"' not in form  # only the figures S1 reports

    saved = client.post(submission.get_absolute_url(), form_data(submission, **S1_CLEAN))
    assert saved.status_code == 302
    submission.refresh_from_db()
    assert stored(submission) == {k: Decimal(v) for k, v in S1_CLEAN.items()}

    client.post(submission.get_absolute_url(), form_data(submission, op="submit", **S1_CLEAN))
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SUBMITTED
    assert set(SubmissionHistory.objects.filter(submission=submission).values_list("channel", flat=True)) == {"web"}


def test_a_bad_value_is_shown_next_to_its_field_and_nothing_is_saved(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    client.force_login(users.alice)
    response = client.post(
        submission.get_absolute_url(), form_data(submission, pri_new_entrants="12x", pri_enrolled=600)
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="err_v_pri_new_entrants"' in body
    assert "请输入数字" in body
    assert 'value="12x"' in body  # the user's input is kept
    assert stored(submission) == {}


def test_a_stale_form_is_refused_with_a_message(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1)
    client.force_login(users.alice)
    data = form_data(submission, pri_new_entrants=5)
    client.post(submission.get_absolute_url(), data)  # version 1 → 2
    response = client.post(submission.get_absolute_url(), data | {"v_pri_new_entrants": 6})  # still says 1
    assert response.status_code == 409
    assert "数据已被他人修改" in response.content.decode()
    assert stored(submission) == {"pri_new_entrants": Decimal(5)}


def test_the_reviewer_sees_values_beside_last_quarter_and_the_explanation(client, setup, users, tree):
    make_submission(tree.s1, setup.q4, status=SubmissionStatus.APPROVED, pri_enrolled=590)
    submission = make_submission(
        tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **(S1_CLEAN | {"pri_new_entrants": 400})
    )
    submission.explanations = {"entrants_half_enrolled": "新校区首年招生"}
    submission.save()
    client.force_login(users.rita)
    body = client.get(submission.get_absolute_url()).content.decode()
    assert "590" in body  # last quarter's enrolment
    assert "新校区首年招生" in body
    assert "审核通过" in body

    client.post(reverse("submissions:submission_action", args=[submission.pk, "return"]), {"version": 1, "reason": ""})
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.SUBMITTED  # a reason is required
    client.post(reverse("submissions:submission_action", args=[submission.pk, "approve"]), {"version": 1})
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.APPROVED


def test_other_units_submissions_and_their_actions_are_404(client, setup, users, tree):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    client.force_login(users.bob)
    assert client.get(submission.get_absolute_url()).status_code == 404
    assert client.post(submission.get_absolute_url(), form_data(submission)).status_code == 404
    client.force_login(users.rob)
    response = client.post(reverse("submissions:submission_action", args=[submission.pk, "approve"]), {"version": 1})
    assert response.status_code == 404  # as for a missing id (issue 16): no probing which ids exist
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.SUBMITTED


def test_bulk_approve_from_the_review_list(client, setup, users, tree):
    clean = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    outside = make_submission(
        tree.s3, setup.q1, status=SubmissionStatus.SUBMITTED, pri_new_entrants=1, pri_new_entrants_migrant=0,
        pri_enrolled=10,
    )  # fmt: skip
    client.force_login(users.rita)
    listing = client.get(reverse("submissions:review_list")).content.decode()
    assert "东区中心小学" in listing
    assert "西区实验小学" not in listing
    client.post(reverse("submissions:review_bulk_approve"), {"ids": [clean.pk, outside.pk]})
    assert Submission.objects.get(pk=clean.pk).status == SubmissionStatus.APPROVED
    assert Submission.objects.get(pk=outside.pk).status == SubmissionStatus.SUBMITTED


def test_principals_and_inspectors_cannot_open_the_review_screen(client, setup, users):
    client.force_login(users.alice)
    assert client.get(reverse("submissions:review_list")).status_code == 403


# --- bureau definitions ---


def test_bureau_staff_define_figures_in_the_browser(client, setup, users):
    client.force_login(users.rita)
    assert client.get(reverse("submissions:figure_list")).status_code == 403
    client.force_login(users.bea)
    data = {
        "code": "pri_classes", "name": "小学班级数", "value_type": "integer", "time_aggregation": "stock",
        "unit_aggregation": "sum", "min_value": "0", "max_value": "300", "reported_by_school_types": ["primary"],
        "order": "5", "is_active": "on",
    }  # fmt: skip
    response = client.post(reverse("submissions:figure_create"), data)
    assert response.status_code == 302, response.content.decode()
    figure = Figure.objects.get(code="pri_classes")
    assert (figure.reported_by_school_types, figure.max_value) == (["primary"], Decimal(300))
    assert "小学班级数" in client.get(reverse("submissions:figure_list")).content.decode()

    bad = client.post(reverse("submissions:figure_update", args=["pri_classes"]), data | {"min_value": "400"})
    assert bad.status_code == 200
    assert "最大值不能小于最小值" in bad.content.decode()


def test_a_rule_with_an_unknown_figure_code_is_refused(client, setup, users):
    client.force_login(users.bea)
    data = {
        "code": "classes_le_enrolled", "name": "班级数不超过在校生", "left": "pri_clases", "operator": "<=",
        "right": "pri_enrolled", "severity": "error", "message": "班级数异常", "is_active": "on",
    }  # fmt: skip
    response = client.post(reverse("submissions:rule_create"), data)
    assert "未知的填报项代码：pri_clases" in response.content.decode()
    assert not ValidationRule.objects.filter(code="classes_le_enrolled").exists()
    data["left"] = "pri_new_entrants"
    assert client.post(reverse("submissions:rule_create"), data).status_code == 302


def test_a_lock_exception_is_granted_with_a_reason(client, setup, users, tree):
    client.force_login(users.bea)
    url = reverse("submissions:period_exception_create", args=["2023Q1"])
    client.post(url, {"org_unit": "S2", "reason": "校长更换，补报"})
    exception = PeriodException.objects.get()
    assert (exception.org_unit, exception.reason, exception.granted_by) == (tree.s2, "校长更换，补报", users.bea)
    assert "校长更换，补报" in client.get(reverse("submissions:period_update", args=["2023Q1"])).content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/submissions/figures/", "/submissions/figures/new/", "/submissions/figures/pri_enrolled/",
        "/submissions/rules/", "/submissions/rules/new/", "/submissions/periods/", "/submissions/periods/new/",
        "/submissions/periods/2023Q1/", "/submissions/figures/?_export=xlsx", "/submissions/rules/?_export=csv",
    ],
)  # fmt: skip
def test_every_definition_page_renders_for_bureau_staff_and_is_403_for_others(client, setup, users, url):
    client.force_login(users.bea)
    assert client.get(url).status_code == 200
    client.force_login(users.rita)
    assert client.get(url).status_code == 403


# --- completeness ---


def test_the_completeness_board_counts_per_district_and_lists_the_missing(client, setup, users, tree):
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.APPROVED)
    make_submission(tree.s2, setup.q1, status=SubmissionStatus.SUBMITTED)
    make_submission(tree.k1, setup.q1)  # draft
    client.force_login(users.bea)
    response = client.get(reverse("submissions:completeness"), {"period": "2023Q1"})
    rows = {row["name"]: row for row in response.context["counts"].data.data}
    # 东区 expects D1 itself (pop_age6), S1, S2, K1 = 4; approved 1, submitted 1, draft 1, not started 1 (D1).
    assert {k: rows["东区"][k] for k in ("expected", "approved", "submitted", "draft", "not_started", "rate")} == {
        "expected": 4, "approved": 1, "submitted": 1, "draft": 1, "not_started": 1, "rate": 50.0,
    }  # fmt: skip
    # 西区: D2, S3, K2 expected, none started.
    assert (rows["西区"]["expected"], rows["西区"]["not_started"], rows["西区"]["rate"]) == (3, 3, 0.0)
    assert (rows["合计"]["expected"], rows["合计"]["rate"]) == (7, round(100 * 2 / 7, 1))
    missing = {row["code"]: row["status"] for row in response.context["missing"].data.data}
    assert missing == {"D1": "未填报", "K1": "草稿", "D2": "未填报", "S3": "未填报", "K2": "未填报"}

    export = client.get(reverse("submissions:completeness"), {"period": "2023Q1", "table": "missing", "_export": "csv"})
    assert export.status_code == 200
    assert "K2" in export.content.decode()


# --- query counts: a list page costs the same with few and many units ---


def add_schools(parent: OrgUnit, count: int, period, prefix: str) -> None:
    for i in range(count):
        unit = OrgUnit.objects.create(
            code=f"{prefix}{i}", name=f"新校{i}", level=Level.SCHOOL, parent=parent,
            school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC,
        )  # fmt: skip
        make_submission(unit, period, status=SubmissionStatus.SUBMITTED, pri_new_entrants=1)


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("name", "who", "expected"),
    [
        # Every page: session, user, memberships, the bell's unread count.
        # + current period (default filter), period choices, count, period choices again (rendered form), page
        # rows with unit/parent/period joined
        ("submissions:review_list", "rita", 9),
        ("submissions:submission_list", "ivan", 9),
        # + periods (selector), current period, figures, their regions (reported_by_within, prefetched once),
        # units in scope, the period's submissions, district names
        ("submissions:completeness", "bea", 11),
        # + figures count, figures page, their regions (prefetched once)
        ("submissions:figure_list", "bea", 7),
    ],
)
def test_list_pages_query_count_does_not_grow_with_units(client, setup, users, tree, name, who, expected):
    client.force_login(getattr(users, who))
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED)
    add_schools(tree.t1, 2, setup.q1, "A")
    few = count_queries(client, reverse(name))
    add_schools(tree.t1, 30, setup.q1, "B")
    many = count_queries(client, reverse(name))
    assert few == many == expected


def test_my_submissions_query_count_is_fixed(client, setup, users, tree):
    # session, user, memberships, the bell's unread count, units, figures, their regions (one prefetch), periods,
    # submissions, + one lock-exception lookup per locked period without a submission (at most 4 periods are
    # shown, so bounded): 2022Q4 here.
    client.force_login(users.alice)
    assert count_queries(client, reverse("submissions:my_submissions")) == 10
    make_submission(tree.s1, setup.q4)
    assert count_queries(client, reverse("submissions:my_submissions")) == 9


# --- tables sort by every orderable column ---


@pytest.mark.parametrize(
    "column", ["org_unit", "org_unit__code", "district", "period", "status", "submitted_at", "version"]
)
def test_the_review_table_sorts_by_every_column(client, setup, users, tree, column):
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED)
    make_submission(tree.s2, setup.q1, status=SubmissionStatus.DRAFT)
    client.force_login(users.rita)
    for sort in (column, f"-{column}"):
        response = client.get(reverse("submissions:review_list"), {"sort": sort})
        assert response.status_code == 200
        assert len(response.context["table"].rows) == 2
