"""Milestones due: the owner is told once when the due day is near, once when it has passed, never when done."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.conf import settings

from notifications import milestones, tasks
from notifications.models import Kind, Notification
from plans.models import Plan, PlanStatus, Section
from targets.models import MilestoneStatus, Target, TargetKind

ON = datetime.date(2023, 6, 20)


@pytest.fixture
def plan(tree):
    plan = Plan.objects.create(
        code="p23", title="2023年工作要点", year=2023, owner_unit=tree.city, status=PlanStatus.PUBLISHED
    )
    Section.objects.create(plan=plan, code="s", title="公平")
    return plan


def milestone(plan: Plan, code: str, **fields: object) -> Target:
    return Target.objects.create(
        plan=plan, section=plan.sections.get(), code=code, text=f"新校交付{code}", kind=TargetKind.MILESTONE,
        scope=plan.owner_unit, **fields,
    )  # fmt: skip


def told(user) -> list[tuple[str, str]]:  # noqa: ANN001
    return list(Notification.objects.filter(user=user).values_list("kind", "key"))


def test_a_milestone_due_soon_tells_its_owner_once(plan, users):
    target = milestone(plan, "m1", due_date=ON + datetime.timedelta(days=5), owner_user=users.bea)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 1
    assert told(users.bea) == [(Kind.MILESTONE_DUE, f"milestone_due:{target.pk}:2023-06-25")]
    notification = Notification.objects.get(user=users.bea)
    assert notification.url == target.get_absolute_url()
    assert "2023-06-25" in notification.body
    # run twice: still one
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0
    assert milestones.send_milestone_reminders(on=ON + datetime.timedelta(days=1), days=7) == 0
    assert Notification.objects.filter(user=users.bea).count() == 1


def test_a_milestone_due_later_than_the_window_is_not_announced_yet(plan, users):
    milestone(plan, "m1", due_date=ON + datetime.timedelta(days=8), owner_user=users.bea)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0
    assert not Notification.objects.exists()


def test_the_end_of_the_due_month_is_the_due_day(plan, users):
    target = milestone(plan, "m1", due_month=6, owner_user=users.bea)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0  # 06-30: 10 days away
    assert milestones.send_milestone_reminders(on=datetime.date(2023, 6, 23), days=7) == 1
    assert told(users.bea) == [(Kind.MILESTONE_DUE, f"milestone_due:{target.pk}:2023-06-30")]


def test_a_done_milestone_tells_nobody(plan, users):
    milestone(plan, "m1", due_date=ON, owner_user=users.bea, milestone_status=MilestoneStatus.DONE)
    milestone(plan, "m2", due_date=ON - datetime.timedelta(days=3), owner_user=users.bea, completed_on=ON)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0
    assert not Notification.objects.exists()


def test_an_overdue_milestone_is_of_the_overdue_kind_and_follows_the_due_soon_one(plan, users):
    target = milestone(plan, "m1", due_date=ON - datetime.timedelta(days=1), owner_user=users.bea)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 1
    assert told(users.bea) == [(Kind.MILESTONE_OVERDUE, f"milestone_overdue:{target.pk}:2023-06-19")]
    assert "已逾期" in Notification.objects.get(user=users.bea).title
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0


def test_without_an_owner_user_the_principals_and_admins_of_the_owner_unit_are_told(plan, users, tree):
    milestone(plan, "m1", due_date=ON, owner_unit=tree.s1)  # alice is S1's principal
    milestone(plan, "m2", due_date=ON, owner_unit=tree.city)  # bea is the city's admin, ivan its inspector
    assert milestones.send_milestone_reminders(on=ON, days=7) == 2
    assert [kind for kind, _key in told(users.alice)] == [Kind.MILESTONE_DUE]
    assert [kind for kind, _key in told(users.bea)] == [Kind.MILESTONE_DUE]
    assert told(users.ivan) == []
    assert told(users.rita) == []


def test_an_owner_who_left_is_skipped_and_logged_and_the_run_goes_on(plan, users, caplog):
    users.bea.is_active = False
    users.bea.save(update_fields=["is_active"])
    gone = milestone(plan, "m1", due_date=ON, owner_user=users.bea)
    milestone(plan, "m2", due_date=ON, owner_user=users.alice)
    with caplog.at_level(logging.WARNING, logger="notifications.milestones"):
        assert milestones.send_milestone_reminders(on=ON, days=7) == 1
    assert told(users.bea) == []
    assert [kind for kind, _key in told(users.alice)] == [Kind.MILESTONE_DUE]
    assert any(f"milestone_due:{gone.pk}:" in r.getMessage() and "inactive" in r.getMessage() for r in caplog.records)


def test_a_failure_for_one_milestone_is_logged_and_the_others_are_still_told(plan, users, monkeypatch, caplog):
    milestone(plan, "m1", due_date=ON, owner_user=users.bea)
    milestone(plan, "m2", due_date=ON, owner_user=users.alice)
    real = milestones.notify

    def flaky(user_ids, kind, title, body, url, key):  # noqa: ANN001, ANN202
        if users.bea.pk in set(user_ids):
            raise RuntimeError("mail server on fire")
        return real(user_ids, kind, title, body, url, key)

    monkeypatch.setattr(milestones, "notify", flaky)
    with caplog.at_level(logging.ERROR, logger="notifications.milestones"):
        assert milestones.send_milestone_reminders(on=ON, days=7) == 1
    assert [kind for kind, _key in told(users.alice)] == [Kind.MILESTONE_DUE]
    assert any("failed" in r.getMessage() for r in caplog.records)


def test_draft_plans_and_old_plans_are_left_alone(plan, users, tree):
    draft = Plan.objects.create(code="d", title="草稿", year=2023, owner_unit=tree.city)
    Section.objects.create(plan=draft, code="s", title="公平")
    old = Plan.objects.create(code="o", title="2021", year=2021, owner_unit=tree.city, status=PlanStatus.PUBLISHED)
    Section.objects.create(plan=old, code="s", title="公平")
    milestone(draft, "m1", due_date=ON, owner_user=users.bea)
    milestone(old, "m1", due_date=datetime.date(2021, 12, 31), owner_user=users.bea)
    assert milestones.send_milestone_reminders(on=ON, days=7) == 0


def test_the_hourly_task_uses_the_setting_and_beat_runs_it(plan, users, settings, time_machine):  # noqa: F811
    time_machine.move_to(datetime.datetime(2023, 6, 20, 2, 0, tzinfo=datetime.UTC), tick=False)
    settings.MILESTONE_REMINDER_DAYS = 3
    milestone(plan, "m1", due_date=ON + datetime.timedelta(days=5), owner_user=users.bea)
    assert tasks.send_milestone_reminders_task() == 0
    settings.MILESTONE_REMINDER_DAYS = 5
    assert tasks.send_milestone_reminders_task() == 1


def test_beat_schedules_the_milestone_reminders_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["send-milestone-reminders"]
    assert entry == {"task": "notifications.tasks.send_milestone_reminders_task", "schedule": 3600.0}
