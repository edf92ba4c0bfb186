"""Redis (the Celery broker) dies: nobody sees an error page, nothing is lost, the sweep catches up.

A real redis-server runs on its own port and Celery publishes to it for real (not eagerly). The
transaction=True database makes ``on_commit`` fire as in production, so the approval's enqueue really
tries the dead broker inside the request.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from indicators import engine, tasks
from indicators.models import IndicatorValue, PendingRecompute
from submissions.models import Submission, SubmissionStatus, Value
from targets.progress import recompute_progress
from tests.faults.conftest import RedisServer
from tests.faults.world import build_world, indicator_table, progress_table, values_of

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def web_messages(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def full_recompute_tables() -> tuple[list[Any], list[Any]]:
    """What a clean full recompute gives (the nightly run): indicator and progress tables."""
    engine.full_recompute()
    recompute_progress()
    return indicator_table(), progress_table()


def city_total(world: Any, tree: Any) -> Decimal | None:
    row = IndicatorValue.objects.filter(indicator=world.total, org_unit=tree.city, period=world.period).first()
    return None if row is None else row.value


def test_with_redis_down_principals_and_reviewers_keep_working_and_the_sweep_catches_up(
    tree: Any, users: Any, live_broker: RedisServer
) -> None:
    world = build_world(tree)
    code = world.period.code
    # given: S2's figures were submitted earlier; the indicators are up to date (nothing approved yet)
    s2 = Submission.objects.create(org_unit=tree.s2, period=world.period, status=SubmissionStatus.SUBMITTED)
    Value.objects.create(submission=s2, figure=world.entrants, value=40)
    Value.objects.create(submission=s2, figure=world.enrolled, value=400)
    full_recompute_tables()
    assert city_total(world, tree) is None  # nothing approved

    rita, rob, alice, bob = Client(), Client(), Client(), Client()
    rita.force_login(users.rita)
    rob.force_login(users.rob)
    alice.force_login(users.alice)
    bob.force_login(users.bob)

    queued = live_broker.queue_length()  # the set-up's full recompute queued its window rebuild (issue 17)
    # Redis up: rita's approval of S2 is published to this very Redis (the set-up is live, not eager).
    response = rita.post(f"/submissions/{s2.pk}/approve/", {"version": s2.version}, follow=True)
    assert response.status_code == 200
    assert web_messages(response)[0] == ("success", "已审核通过。")
    assert live_broker.queue_length() == queued + 1
    # No worker runs in this test: the message will be lost with the Redis that holds it.

    # when: Redis dies
    live_broker.stop()

    # alice (S1) opens, fills in and submits through the web form
    response = alice.post("/submissions/open/", {"org_unit": "S1", "period": code})
    assert response.status_code == 302
    s1 = Submission.objects.get(org_unit=tree.s1, period=world.period)
    response = alice.post(
        f"/submissions/{s1.pk}/",
        {"v_pri_new_entrants": "100", "v_pri_enrolled": "600", "version": s1.version, "op": "submit"},
        follow=True,
    )
    assert response.status_code == 200
    assert web_messages(response) == [("success", "已提交，等待审核。")]
    s1.refresh_from_db()
    assert s1.status == SubmissionStatus.SUBMITTED

    # bob (S3) does the same through the API
    response = bob.post("/api/v1/submissions/", {"org_unit": "S3", "period": code}, content_type="application/json")
    assert response.status_code == 201, response.content
    s3_id, version = response.json()["id"], response.json()["version"]
    response = bob.patch(
        f"/api/v1/submissions/{s3_id}/",
        {"version": version, "values": {"pri_new_entrants": 30, "pri_enrolled": 300}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    response = bob.post(
        f"/api/v1/submissions/{s3_id}/submit/", {"version": response.json()["version"]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content

    # the reviewers approve: rita on the web page, rob through the API
    response = rita.post(f"/submissions/{s1.pk}/approve/", {"version": s1.version}, follow=True)
    assert response.status_code == 200
    assert web_messages(response)[0] == ("success", "已审核通过。")
    shown = response_version(rob, s3_id)
    response = rob.post(f"/api/v1/submissions/{s3_id}/approve/", {"version": shown}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == SubmissionStatus.APPROVED

    # then: every figure and state is stored, and each approval left an open pending recompute
    assert values_of(s1) == {"pri_new_entrants": D(100), "pri_enrolled": D(600)}
    assert values_of(Submission.objects.get(pk=s3_id)) == {"pri_new_entrants": D(30), "pri_enrolled": D(300)}
    assert set(Submission.objects.values_list("org_unit__code", "status")) == {
        ("S1", SubmissionStatus.APPROVED),
        ("S2", SubmissionStatus.APPROVED),
        ("S3", SubmissionStatus.APPROVED),
    }
    pending = PendingRecompute.objects.order_by("pk")
    assert [(p.org_unit.code, p.done_at) for p in pending] == [("S2", None), ("S1", None), ("S3", None)]
    assert city_total(world, tree) is None  # the indicators wait for the broker

    # when: Redis comes back (empty: the S2 message died with it) and the sweep runs a minute later
    live_broker.start()
    assert live_broker.queue_length() == 0
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2), tick=True):
        ran = tasks.sweep_pending_recomputes_task.apply().get()
    assert ran == 2  # S1 and S2 (both in D1) merged into one run (issue 17), then S3
    assert not PendingRecompute.objects.filter(done_at__isnull=True).exists()

    # then: indicator values and target progress equal what a full recompute gives, table for table
    after_sweep = indicator_table(), progress_table()
    assert city_total(world, tree) == D(170)  # 100 + 40 + 30
    assert after_sweep == full_recompute_tables()


def response_version(client: Client, submission_id: int) -> int:
    """The version a reviewer's screen would show (read through the API by someone in scope)."""
    return int(client.get(f"/api/v1/submissions/{submission_id}/").json()["version"])


def test_a_dead_broker_after_commit_is_not_an_error_and_the_row_stays_open(
    tree: Any, users: Any, live_broker: RedisServer
) -> None:
    """The enqueue failing after commit is swallowed and logged; the approval is committed and shown."""
    world = build_world(tree)
    submission = Submission.objects.create(org_unit=tree.s3, period=world.period, status=SubmissionStatus.SUBMITTED)
    Value.objects.create(submission=submission, figure=world.entrants, value=7)
    live_broker.stop()
    client = Client(raise_request_exception=False)
    client.force_login(users.rob)
    url = f"/api/v1/submissions/{submission.pk}/approve/"
    response = client.post(url, {"version": submission.version}, content_type="application/json")
    assert response.status_code == 200, response.content
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
    assert PendingRecompute.objects.filter(org_unit=tree.s3, done_at__isnull=True).count() == 1
