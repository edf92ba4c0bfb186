"""POST /api/v1/recompute/ while Redis (the Celery broker) is down: the request is recorded, answered 202, and run
by the sweep once the broker is back — nothing lost, no error page (before: a 503 and nothing recorded).

A real redis-server on its own port, Celery publishing to it for real; transaction=True so that ``on_commit``
fires inside the request as in production.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from indicators import tasks
from indicators.models import IndicatorValue, RecomputeJob
from submissions.models import Submission, SubmissionStatus, Value
from tests.faults.conftest import RedisServer
from tests.faults.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_recompute_asked_for_with_redis_down_is_queued_and_run_by_the_sweep(
    tree: Any, users: Any, live_broker: RedisServer, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the API publishes, as in production
    world = build_world(tree)
    # An approved figure whose indicator value was never computed: the recompute has something to write.
    s2 = Submission.objects.create(org_unit=tree.s2, period=world.period, status=SubmissionStatus.APPROVED)
    Value.objects.create(submission=s2, figure=world.entrants, value=40)
    Value.objects.create(submission=s2, figure=world.enrolled, value=400)
    IndicatorValue.objects.all().delete()
    bea = Client()
    bea.force_login(users.bea)

    # Redis up: the job is recorded and its message published (no worker runs in this test).
    first = bea.post("/api/v1/recompute/", {"period": world.period.code}, content_type="application/json")
    assert first.status_code == 202, first.content
    assert live_broker.queue_length() == 1

    # when: Redis dies (the first message with it), and bea asks again
    live_broker.stop()
    second = bea.post("/api/v1/recompute/", {"period": world.period.code}, content_type="application/json")

    # then: accepted all the same, and recorded
    assert second.status_code == 202, second.content
    assert second.json()["status"] == "queued"
    jobs = list(RecomputeJob.objects.order_by("pk"))
    assert [job.pk for job in jobs] == [first.json()["job"], second.json()["job"]]
    assert [job.status for job in jobs] == ["queued", "queued"]
    assert not IndicatorValue.objects.exists()

    # when: Redis comes back empty and the sweep runs a minute later
    live_broker.start()
    assert live_broker.queue_length() == 0
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2), tick=True):
        tasks.sweep_pending_recomputes_task.apply().get()

    # then: both jobs ran; the indicator values are there; the lookup says done with the counts
    assert [job.status for job in RecomputeJob.objects.order_by("pk")] == ["done", "done"]
    total = IndicatorValue.objects.get(indicator=world.total, org_unit=tree.city, period=world.period)
    assert total.value == Decimal(40)
    body = bea.get(f"/api/v1/recompute/{second.json()['job']}/").json()
    assert body["status"] == "done"
    assert body["periods"] == [world.period.code]
    assert body["finished_at"] is not None
