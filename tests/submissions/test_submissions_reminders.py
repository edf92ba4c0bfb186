"""Reminder e-mails: principals before the due date, reviewers after it, each exactly once."""

from __future__ import annotations

import datetime

from django.core import mail

from submissions.models import Reminder, SubmissionStatus
from submissions.tasks import send_reminders_task
from tests.submissions.conftest import S1_CLEAN, make_submission


def at(clock, day: datetime.date) -> None:
    clock.move_to(datetime.datetime.combine(day, datetime.time(2, 0), tzinfo=datetime.UTC))


def test_principals_are_reminded_once_before_the_due_date(setup, users, tree, clock, settings):
    settings.REMINDER_DAYS_BEFORE_DUE = 5
    # S1 already submitted; S2 has a draft; K1 nothing yet. 2023Q4 (previous) is locked, no reminders for it.
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    make_submission(tree.s2, setup.q1)
    at(clock, datetime.date(2023, 4, 4))  # due 04-10: 6 days before, too early
    assert send_reminders_task.delay().get() == 0

    at(clock, datetime.date(2023, 4, 5))  # 5 days before
    sent = send_reminders_task.delay().get()

    # Principal accounts: alice (S1, already submitted), kate (K1), bob (S3); S2 and K2 have none.
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "kate@example.org"]
    assert "2023Q1" in mail.outbox[0].subject
    assert send_reminders_task.delay().get() == 0  # idempotent: a second run sends nothing
    assert len(mail.outbox) == 2
    assert Reminder.objects.filter(stage="before_due").count() == 2


def test_after_the_due_date_the_reviewers_above_are_told_once(setup, users, tree, clock):
    make_submission(tree.s1, setup.q1, status=SubmissionStatus.SUBMITTED, **S1_CLEAN)
    at(clock, datetime.date(2023, 4, 11))  # one day overdue

    send_reminders_task.delay().get()
    send_reminders_task.delay().get()

    # Overdue units: S2, K1 (rita reviews D1 above them), S3, K2 (rob, D2), and the districts D1, D2 (pop_age6):
    # D1 → rita, D2 → rob. S1 is submitted. One mail per overdue unit with a reviewer above it: 6.
    recipients = sorted(tuple(m.to) for m in mail.outbox)
    assert recipients == [("rita@example.org",)] * 3 + [("rob@example.org",)] * 3
    assert Reminder.objects.filter(stage="overdue").count() == 6


def test_a_failed_send_is_retried_next_time(setup, users, tree, clock, monkeypatch):
    at(clock, datetime.date(2023, 4, 6))

    def broken(self, fail_silently=False):
        raise OSError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    assert send_reminders_task.delay().get() == 0
    assert not Reminder.objects.exists()
    monkeypatch.undo()
    assert send_reminders_task.delay().get() == 3  # alice, kate and bob (nobody has submitted), now delivered
