"""Approvals in two districts at once: their progress updates never lose one another (PostgreSQL: real
concurrent connections; the per-school update of a shared city row is a read-modify-write under a lock)."""

from __future__ import annotations

import pytest
from django.db import connection

from indicators import recompute
from indicators.models import PendingRecompute
from targets.models import Progress
from targets.progress import recompute_progress
from tests.indicators.engine_data import report
from tests.indicators.test_engine_concurrency import _in_threads  # one thread runner for both tests
from tests.targets.test_progress_incremental import World, _school_figures, rows, world  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_approvals_in_two_districts_both_count(world: World) -> None:  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    q1 = world.quarters[0]
    for ontime in (6, 10, 7):
        pending = []
        for code in ("S2", "S4"):  # D1 and D3: the city's rows count both
            report(world.schools[code], q1, **_school_figures(ontime))
            pending.append(PendingRecompute.objects.create(org_unit=world.schools[code], period=q1).pk)
        _in_threads(*(lambda pk=pk: recompute.process_pending(pk) for pk in pending))
        incremental = rows()
        assert recompute_progress() == 0, ontime
        assert rows() == incremental, ontime
    city_q1 = Progress.objects.get(target=world.targets["each"], period=q1, org_unit=world.tree.city)
    # Last round: S2 and S4 at 70 %, S3 at 80 % fail; S1 and C6 pass (S5 has no Q1 value).
    assert city_q1.detail["failing_count"] == 3
