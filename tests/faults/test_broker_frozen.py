"""A broker that is frozen (accepts the connection, never answers) must not hold an approval: the socket timeouts
make publishing give up within seconds, the approval is committed with its pending recompute, and the page says so.
Before the timeouts the request waited for the operating system's TCP timeout (gunicorn killed it at 60 s)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client

from indicators.models import PendingRecompute
from submissions.models import Submission, SubmissionStatus, Value
from tests.faults.conftest import celery_broker
from tests.faults.world import build_world
from tests.frozen_server import frozen_tcp_server

pytestmark = pytest.mark.django_db(transaction=True)
HUNG_AFTER_SECONDS = 45


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail (instead of hanging the suite) if the request is still waiting after HUNG_AFTER_SECONDS."""

    def hung(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the request still waited for the broker after {HUNG_AFTER_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HUNG_AFTER_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_with_redis_frozen_an_approval_answers_within_seconds_and_is_recorded(
    tree: Any, users: Any, alarm: None
) -> None:
    world = build_world(tree)
    s2 = Submission.objects.create(org_unit=tree.s2, period=world.period, status=SubmissionStatus.SUBMITTED)
    Value.objects.create(submission=s2, figure=world.entrants, value=40)
    Value.objects.create(submission=s2, figure=world.enrolled, value=400)
    rita = Client()
    rita.force_login(users.rita)

    with frozen_tcp_server() as port, celery_broker(f"redis://127.0.0.1:{port}/0"):
        started = time.monotonic()
        response = rita.post(f"/submissions/{s2.pk}/approve/", {"version": s2.version}, follow=True)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)][0] == ("success", "已审核通过。")
    # Connect, one retry: a few socket timeouts at most, far from gunicorn's 60 s.
    assert elapsed < 4 * settings.BROKER_TIMEOUT_SECONDS, f"{elapsed:.1f} s"
    s2.refresh_from_db()
    assert s2.status == SubmissionStatus.APPROVED
    assert list(PendingRecompute.objects.values_list("org_unit__code", "done_at")) == [("S2", None)]
