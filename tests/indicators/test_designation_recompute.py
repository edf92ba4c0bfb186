"""Granting, changing or revoking a designation recomputes count-of-designation indicators (indicators.receivers)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from indicators import dispatch, engine, recompute, tasks
from indicators.models import Aggregation, PendingRecompute
from schools.models import Designation, DesignationKind
from tests.indicators.engine_data import figure, indicator, period, report, value

D = Decimal


@pytest.fixture
def count(tree):
    kind = DesignationKind.objects.create(code="standard_kg", name="标准化幼儿园")
    ind = indicator("designations_standard_kg", aggregation=Aggregation.COUNT_DESIGNATIONS, designation_kind=kind)
    quarters = [period(2023, q) for q in (1, 2, 3, 4)]
    engine.full_recompute()  # every count 0 before any grant
    return ind, kind, quarters


def grant(user, **data) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/designations/", data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def counts(ind, unit, quarters) -> list[Decimal | None]:
    return [value(ind, unit, q) for q in quarters]


def test_a_grant_through_the_api_counts_from_its_quarter_on(
    tree, users, count, django_capture_on_commit_callbacks
) -> None:
    ind, _kind, quarters = count
    with django_capture_on_commit_callbacks(execute=True):
        grant(users.bea, org_unit="K2", kind="standard_kg", level="city", granted_on="2023-05-01")
    assert counts(ind, tree.k2, quarters) == [D(0), D(1), D(1), D(1)]
    assert counts(ind, tree.d2, quarters) == [D(0), D(1), D(1), D(1)]
    assert counts(ind, tree.city, quarters) == [D(0), D(1), D(1), D(1)]
    assert counts(ind, tree.d1, quarters) == [D(0), D(0), D(0), D(0)]
    pending = PendingRecompute.objects.get()
    assert (pending.org_unit_id, pending.period_id, pending.reason) == (tree.k2.pk, quarters[1].pk, "designation")
    assert pending.done_at is not None


def test_revoking_and_deleting_recompute_too(tree, count, django_capture_on_commit_callbacks) -> None:
    ind, kind, quarters = count
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        held = Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 2, 10))
    assert counts(ind, tree.city, quarters) == [D(1), D(1), D(1), D(1)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        held.revoked_on = datetime.date(2023, 8, 15)  # counts while held at a quarter's end: Q1, Q2
        held.save()
    assert counts(ind, tree.city, quarters) == [D(1), D(1), D(0), D(0)]
    assert counts(ind, tree.d1, quarters) == [D(1), D(1), D(0), D(0)]
    # Only from the revocation's quarter on: Q3 was requested, not Q1.
    assert PendingRecompute.objects.order_by("pk").last().period_id == quarters[2].pk
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        held.delete()
    assert counts(ind, tree.city, quarters) == [D(0), D(0), D(0), D(0)]


def test_the_pending_row_is_written_in_the_granting_transaction(tree, count) -> None:
    _ind, kind, _quarters = count
    seen_inside: list[int] = []

    def grant_then_fail() -> None:
        with transaction.atomic():
            Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 3, 1))
            seen_inside.append(PendingRecompute.objects.filter(org_unit=tree.k1, reason="designation").count())
            raise RuntimeError("the grant fails after the row was written")

    with pytest.raises(RuntimeError):
        grant_then_fail()
    assert seen_inside == [1]  # recorded inside the granting transaction
    # Rolled back together: no designation, no stray pending row.
    assert not Designation.objects.exists()
    assert not PendingRecompute.objects.exists()


def test_a_note_change_or_a_grant_in_an_unmodelled_year_requests_nothing(tree, count) -> None:
    _ind, kind, _quarters = count
    held = Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 2, 10))
    assert PendingRecompute.objects.count() == 1
    held.note = "证书已归档"
    held.save()
    Designation.objects.create(org_unit=tree.k2, kind=kind, granted_on=datetime.date(2019, 5, 1))  # no 2019 periods
    held.revoked_on = datetime.date(2024, 3, 1)  # after the grant year: no 2023 value changes
    held.save()
    assert PendingRecompute.objects.count() == 1


def test_broker_down_the_sweep_runs_the_designation_recompute(
    tree, users, count, django_capture_on_commit_callbacks
) -> None:
    ind, _kind, quarters = count
    figure("kg_enrolled")
    report(tree.k2, quarters[1], kg_enrolled=50)  # an approval for the same unit and quarter …
    broken = mock.patch.object(
        tasks.process_pending_recompute_task, "delay", side_effect=OperationalError("connection refused")
    )
    with broken, django_capture_on_commit_callbacks(execute=True):
        grant(users.bea, org_unit="K2", kind="standard_kg", granted_on="2023-05-01")
        dispatch.request_recompute(tree.k2.pk, quarters[1].pk, reason="approve")
    assert counts(ind, tree.city, quarters) == [D(0), D(0), D(0), D(0)]
    # … does not swallow the designation's run: both run, each its own kind of indicators.
    assert recompute.sweep(now=timezone.now() + datetime.timedelta(minutes=2)) == 2
    assert counts(ind, tree.city, quarters) == [D(0), D(1), D(1), D(1)]
    assert not PendingRecompute.objects.filter(done_at__isnull=True).exists()


def test_no_designation_indicator_no_pending_rows(tree) -> None:
    kind = DesignationKind.objects.create(code="model_kg", name="示范幼儿园")
    period(2023, 1)
    Designation.objects.create(org_unit=tree.k1, kind=kind, granted_on=datetime.date(2023, 2, 10))
    assert not PendingRecompute.objects.exists()
