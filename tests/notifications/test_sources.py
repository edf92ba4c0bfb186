"""Where notifications come from: workflow steps, due-date reminders and escalations, finished exports."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from notifications.models import Kind, Notification, NotificationPreference
from notifications.tasks import send_digests_task
from reports import exports
from reports.models import ExportJob, ExportStatus
from schools.models import Level, Ownership, SchoolType
from submissions import workflow
from submissions.models import Reminder, SubmissionStatus
from submissions.tasks import send_reminders_task
from tests.conftest import make_unit
from tests.submissions.conftest import S1_CLEAN, make_submission
from tests.submissions.test_submissions_reminders import at


def test_a_return_tells_the_principal_why_after_commit(setup, users, tree, django_capture_on_commit_callbacks):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.return_submission(submission, users.rita, reason="新生数与花名册不符")

    note = Notification.objects.get()
    assert (note.user, note.kind) == (users.alice, Kind.RETURNED)
    assert note.title == "东区中心小学 2023Q1 填报被退回"
    assert "新生数与花名册不符" in note.body
    assert note.url == submission.get_absolute_url()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_approve_and_reopen_are_announced_too(setup, users, tree, django_capture_on_commit_callbacks):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve(submission, users.rita)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.reopen(submission, users.bea, reason="区里核对后发现漏报")

    kinds = list(Notification.objects.filter(user=users.alice).order_by("pk").values_list("kind", "body"))
    assert kinds[0] == (Kind.APPROVED, "")
    assert kinds[1][0] == Kind.REOPENED
    assert "漏报" in kinds[1][1]
    assert not Notification.objects.exclude(user=users.alice).exists()  # the reviewer and the admin acted


def test_a_step_that_rolls_back_tells_nobody(setup, users, tree, django_capture_on_commit_callbacks):
    submission = make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)

    def return_then_fail() -> None:
        with transaction.atomic():
            workflow.return_submission(submission, users.rita, reason="原因")
            raise RuntimeError("later step failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        return_then_fail()
    assert not Notification.objects.exists()


def test_reminders_become_notifications_once(setup, users, tree, clock):
    at(clock, datetime.date(2023, 4, 5))
    send_reminders_task.delay().get()
    send_reminders_task.delay().get()

    rows = Notification.objects.filter(kind=Kind.DUE_SOON)
    assert sorted(rows.values_list("user__username", flat=True)) == ["alice", "bob", "kate"]
    assert rows.filter(user=users.alice).get().url == reverse("submissions:my_submissions")


def test_overdue_units_without_a_reviewer_escalate_to_the_bureau_admins(setup, users, tree, clock):
    d3 = make_unit("D3", "北区", Level.DISTRICT, tree.city)
    make_unit(
        "S4", "北区小学", parent=d3, level=Level.SCHOOL, school_type=SchoolType.PRIMARY, ownership=Ownership.PUBLIC
    )
    at(clock, datetime.date(2023, 4, 11))

    send_reminders_task.delay().get()

    to_bea = Notification.objects.filter(user=users.bea, kind=Kind.OVERDUE)
    assert sorted(title.split(" ")[0] for title in to_bea.values_list("title", flat=True)) == [
        "【逾期提醒】北区",
        "【逾期提醒】北区小学",
    ]
    # Units a reviewer covers still go to the reviewer only: D1, S1, S2, K1 to rita.
    assert Notification.objects.filter(user=users.rita).count() == 4
    assert Reminder.objects.get(org_unit__code="S4").recipients == "bea"


def _61_overdue_for_rita(setup, tree, clock) -> None:  # noqa: ANN001
    for i in range(58):  # S1 is submitted; S2, K1, the district D1 and these 58: 61 overdue units under rita
        make_unit(f"X{i:02d}", f"东区学校{i}", parent=tree.t1, level=Level.SCHOOL, school_type=SchoolType.PRIMARY,
                  ownership=Ownership.PUBLIC)  # fmt: skip
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    at(clock, datetime.date(2023, 4, 11))
    send_reminders_task.delay().get()


def _to_rita() -> list:
    return [m for m in mail.outbox if m.to == ["rita@example.org"]]


def test_a_reviewer_with_61_overdue_schools_who_chose_the_digest_gets_one_mail(setup, users, tree, clock):
    NotificationPreference.objects.create(user=users.rita, daily_digest=True)
    _61_overdue_for_rita(setup, tree, clock)
    assert Notification.objects.filter(user=users.rita).count() == 61
    assert not _to_rita()

    assert send_digests_task.delay().get() == 1
    assert [m.subject for m in _to_rita()] == ["【每日汇总】您有 61 条未读通知"]


def test_a_reviewer_with_61_overdue_schools_gets_a_few_mails_and_one_digest(setup, users, tree, clock, settings):
    settings.NOTIFY_EMAIL_HOURLY_LIMIT = 10
    _61_overdue_for_rita(setup, tree, clock)
    assert len(_to_rita()) == 10
    send_digests_task.delay().get()
    assert len(_to_rita()) == 11
    assert _to_rita()[-1].subject == "【每日汇总】您有 51 条未读通知"


def test_a_finished_export_tells_whoever_asked(report, users, monkeypatch):
    job = ExportJob.objects.create(plan=report.plan, scope=users.ivan.memberships.get().org_unit,
                                   requested_by=users.ivan)  # fmt: skip
    exports.run_export_job(job.pk)
    note = Notification.objects.get(user=users.ivan)
    assert note.kind == Kind.EXPORT_DONE
    assert note.title == "导出已完成：2023年初等与学前教育工作要点 · 市教育局"
    assert note.url == job.get_absolute_url()

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError

    monkeypatch.setattr(exports, "build_workbook", boom)
    failed = ExportJob.objects.create(plan=report.plan, scope=job.scope, requested_by=users.ivan, language="en")
    exports.run_export_job(failed.pk)
    assert ExportJob.objects.get(pk=failed.pk).status == ExportStatus.FAILED
    note = Notification.objects.get(user=users.ivan, kind=Kind.EXPORT_FAILED)
    assert note.title.startswith("Export failed")


def test_a_target_owner_is_told_when_new_values_leave_the_target_off_track(report, users, caplog):
    from indicators import events
    from indicators.models import Indicator

    report.t_limit.owner_user = users.rita
    report.t_limit.save()
    report.t_rate.owner_user = users.bob  # met in the city: nothing to tell
    report.t_rate.save()

    for _ in range(2):  # the nightly run announces again: still one notification for the quarter
        events.values_changed.send(sender=Indicator, period_ids=[report.q4.pk], indicator_ids=None)

    note = Notification.objects.get()
    assert (note.user, note.kind) == (users.rita, Kind.OFF_TRACK)
    assert note.title == "目标滞后：严格控制 55 人以上的大班额"
    assert "2023年初等与学前教育工作要点 · 市教育局 · 2023Q4" in note.body
    assert note.url == report.t_limit.get_absolute_url()


def test_an_approval_asks_only_about_targets_scoped_on_its_units_and_owners_not_yet_told(
    report, users, django_assert_max_num_queries
):
    """After an approval (``unit_ids``: the unit and its ancestors) only the targets scoped on those units can have
    fallen behind; an owner already told costs no query of its own (issue 17: an approval's cost stays fixed)."""
    from notifications.receivers import notify_off_track

    report.t_limit.owner_user = users.rita
    report.t_limit.save()
    city = report.t_limit.scope
    elsewhere = make_unit("D9", "别的区", Level.DISTRICT, parent=city)
    school = make_unit("S9", "别的区小学", Level.SCHOOL, parent=elsewhere)
    assert notify_off_track([report.q4.pk], None, [elsewhere.pk, school.pk]) == 0
    assert not Notification.objects.exists()  # the city is not among the changed units: nothing asked
    assert notify_off_track([report.q4.pk], None, [city.pk, elsewhere.pk, school.pk]) == 1
    assert Notification.objects.get().user == users.rita
    with django_assert_max_num_queries(1):  # told already: one query finds nothing left to tell
        assert notify_off_track([report.q4.pk], None, [city.pk]) == 0
    assert Notification.objects.count() == 1


def test_a_failing_off_track_notice_does_not_fail_the_recompute(report, users, monkeypatch, caplog):
    from indicators import events
    from indicators.models import Indicator

    report.t_limit.owner_user = users.rita
    report.t_limit.save()
    monkeypatch.setattr("notifications.receivers.notify", mock.Mock(side_effect=RuntimeError("boom")))
    events.values_changed.send(sender=Indicator, period_ids=[report.q4.pk], indicator_ids=None)
    assert "off-track notifications failed" in caplog.text
