"""API v1: /indicators/, /indicator-values/ (with explanations) and /recompute/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from indicators import engine, recompute, tasks
from indicators.models import Indicator, IndicatorValue, RecomputeJob
from schools.models import OrgUnit
from tests.indicators.engine_data import figure, indicator, period, report, stock, value

D = Decimal


@pytest.fixture
def data(tree):
    figure("kg_enrolled_3_5")
    stock("pop_age_3_5")
    rate = indicator(
        "kg_3yr_rate", "kg_enrolled_3_5", "pop_age_3_5", factor=100, unit_filter_school_types=["kindergarten"]
    )
    q1 = period(2023, 1)
    report(tree.k1, q1, kg_enrolled_3_5=90)
    report(tree.k2, q1, kg_enrolled_3_5=50)
    report(tree.d1, q1, pop_age_3_5=100)
    report(tree.d2, q1, pop_age_3_5=40)
    engine.full_recompute()
    return rate, q1


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_anyone_signed_in_reads_indicators(users, data):
    response = client_for(users.alice).get("/api/v1/indicators/kg_3yr_rate/")
    assert response.status_code == 200
    body = response.json()
    assert body["numerator"] == "kg_enrolled_3_5"
    assert body["unit_filter"] == {"levels": [], "school_types": ["kindergarten"], "ownership": [], "is_central": False}


def test_bureau_admin_creates_an_indicator_and_its_values_are_computed(
    users, data, tree, django_capture_on_commit_callbacks
):
    payload = {
        "code": "kg_enrolled_sum",
        "name": "在园幼儿数",
        "numerator": "kg_enrolled_3_5",
        "aggregation": "sum",
        "unit_filter": {"school_types": ["kindergarten"]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(users.bea).post("/api/v1/indicators/", payload, format="json")
    assert response.status_code == 201, response.json()
    created = Indicator.objects.get(code="kg_enrolled_sum")
    assert created.unit_filter_school_types == ["kindergarten"]
    # recompute ran after commit (eager Celery): 90 + 50
    assert value(created, tree.city, data[1]) == D(140)


def test_a_bad_expression_is_a_400_naming_the_position(users, data):
    payload = {"code": "bad", "name": "bad", "numerator": "kg_enrolled_3_5 / pop_age_35", "aggregation": "sum"}
    response = client_for(users.bea).post("/api/v1/indicators/", payload, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json() == {"errors": {"numerator": ["第 19 个字符处：未知的填报项代码 pop_age_35"]}}
    assert not Indicator.objects.filter(code="bad").exists()


def test_a_unit_filter_with_an_unknown_code_is_refused_as_the_form_refuses_it(users, data):
    # The API stored levels=["schol"] while the form offered only real levels: one check (the engine's
    # validate_definition, called by the service both use) now refuses it for both.
    payload = {"code": "typo", "name": "typo", "numerator": "kg_enrolled_3_5", "aggregation": "sum"}
    payload["unit_filter"] = {"levels": ["schol"]}
    response = client_for(users.bea).post("/api/v1/indicators/", payload, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json() == {"errors": {"unit_filter_levels": ["未知的代码：schol"]}}
    assert not Indicator.objects.filter(code="typo").exists()
    english = client_for(users.bea).post("/api/v1/indicators/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json() == {"errors": {"unit_filter_levels": ["Unknown code: schol"]}}


def test_reviewers_cannot_write_indicators(users, data):
    response = client_for(users.rita).patch("/api/v1/indicators/kg_3yr_rate/", {"factor": "1"}, format="json")
    assert response.status_code == 403


def test_patch_changes_the_definition_and_recomputes(users, data, tree, django_capture_on_commit_callbacks):
    rate, q1 = data
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(users.bea).patch("/api/v1/indicators/kg_3yr_rate/", {"factor": "1000"}, format="json")
    assert response.status_code == 200, response.json()
    assert value(rate, tree.city, q1) == D("1000.00")  # 140 / 140 × 1000


def test_indicator_values_are_filtered_by_scope(users, data):
    response = client_for(users.rob).get("/api/v1/indicator-values/", {"indicator": "kg_3yr_rate", "period": "2023Q1"})
    assert response.status_code == 200
    rows = {row["org_unit"]: row for row in response.json()["results"]}
    assert set(rows) == {"D2", "K2"}  # rob reviews D2: S3 has no row (filtered out as not a kindergarten)
    assert D(rows["D2"]["value"]) == D(125)
    assert rows["K2"]["value"] is None


def test_explain_lists_the_inputs_for_an_inspector(users, data):
    params = {"indicator": "kg_3yr_rate", "org_unit": "CITY", "period": "2023Q1", "explain": "1"}
    response = client_for(users.ivan).get("/api/v1/indicator-values/", params)
    assert response.status_code == 200
    body = response.json()
    assert (D(body["numerator"]), D(body["denominator"]), D(body["value"])) == (D(140), D(140), D(100))
    by_unit = {c["org_unit"]: c for c in body["contributions"]}
    assert set(by_unit) == {"D1", "K1", "D2", "K2"}
    population = by_unit["D1"]["inputs"][1]
    assert (population["figure"], D(population["value"]), population["periods"]) == ("pop_age_3_5", 100, ["2023Q1"])


def test_explain_outside_scope_is_404(users, data):
    params = {"indicator": "kg_3yr_rate", "org_unit": "D1", "period": "2023Q1"}
    assert client_for(users.rob).get("/api/v1/indicator-values/explain/", params).status_code == 404


def test_recompute_endpoint_is_for_bureau_admins(users, data):
    assert client_for(users.rita).post("/api/v1/recompute/", {"org_unit": "D1"}, format="json").status_code == 403
    assert not RecomputeJob.objects.exists()  # a refused request records nothing
    IndicatorValue.objects.filter(org_unit__code="CITY").delete()
    response = client_for(users.bea).post("/api/v1/recompute/", {"period": "2023Q1"}, format="json")
    assert response.status_code == 200
    job = RecomputeJob.objects.get()
    # Unchanged rows are not rewritten: only CITY's one row is new again. Eager mode records a done job too.
    assert response.json() == {"status": "done", "rows": 1, "periods": ["2023Q1"], "units": 2, "job": job.pk}
    assert IndicatorValue.objects.filter(org_unit__code="CITY").exists()
    assert (job.status, job.rows, job.units, job.periods) == ("done", 1, 2, ["2023Q1"])
    assert job.requested_by == users.bea
    assert job.started_at is not None
    assert job.finished_at is not None


def refused_broker():
    """The task's delay raising as kombu does when Redis refuses the connection."""
    from kombu.exceptions import OperationalError

    from indicators.tasks import recompute_scope_task

    return mock.patch.object(recompute_scope_task, "delay", side_effect=OperationalError("connection refused"))


def test_recompute_with_the_broker_down_is_recorded_queued_and_run_by_the_sweep(
    users, data, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # production: the API queues the recompute
    IndicatorValue.objects.filter(org_unit__code="CITY").delete()
    with refused_broker() as delay, django_capture_on_commit_callbacks(execute=True):
        response = client_for(users.bea).post("/api/v1/recompute/", {"period": "2023Q1"}, format="json")
    # Recorded before the broker was tried: the request is accepted, not lost.
    assert delay.call_count == 1
    assert response.status_code == 202
    job = RecomputeJob.objects.get()
    assert response.json() == {"status": "queued", "job": job.pk}
    assert (job.status, job.started_at, job.period.code, job.org_unit) == ("queued", None, "2023Q1", None)
    assert not IndicatorValue.objects.filter(org_unit__code="CITY").exists()

    looked_up = client_for(users.bea).get(f"/api/v1/recompute/{job.pk}/").json()
    assert (looked_up["status"], looked_up["rows"], looked_up["finished_at"]) == ("queued", None, None)

    # A sweep within the grace minute leaves it to its message; after it, the sweep runs the job.
    assert recompute.sweep_jobs(now=job.created_at + dt.timedelta(seconds=30)) == 0
    assert recompute.sweep_jobs(now=job.created_at + dt.timedelta(minutes=2)) == 1
    job.refresh_from_db()
    assert (job.status, job.rows, job.units, job.periods, job.error) == ("done", 1, 2, ["2023Q1"], "")
    assert IndicatorValue.objects.filter(org_unit__code="CITY").exists()
    # A second sweep (or the message arriving late) does not run it again.
    assert recompute.sweep_jobs(now=job.created_at + dt.timedelta(minutes=3)) == 0
    assert recompute.run_job(job.pk) is None

    body = client_for(users.bea).get(f"/api/v1/recompute/{job.pk}/").json()
    assert body["job"] == job.pk
    assert (body["status"], body["rows"], body["units"], body["periods"], body["error"]) == (
        "done",
        1,
        2,
        ["2023Q1"],
        "",
    )
    assert body["created_at"]
    assert body["finished_at"]


def test_the_beat_sweep_task_runs_queued_jobs(users, data, settings):
    job = RecomputeJob.objects.create(requested_by=users.bea, org_unit=OrgUnit.objects.get(code="D1"))
    RecomputeJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    tasks.sweep_pending_recomputes_task.apply().get()
    job.refresh_from_db()
    # D1's own subtree, every period (one here): nothing changed since the fixture's full recompute.
    assert (job.status, job.units, job.periods) == ("done", 1, ["2023Q1"])


def test_a_running_job_past_the_task_time_limit_is_failed(users, data, settings):
    settings.CELERY_TASK_TIME_LIMIT = 600
    started = timezone.now() - dt.timedelta(seconds=601)
    stuck = RecomputeJob.objects.create(status="running", started_at=started)
    alive = RecomputeJob.objects.create(status="running", started_at=timezone.now() - dt.timedelta(seconds=599))
    assert recompute.fail_stuck_jobs() == 1
    stuck.refresh_from_db()
    alive.refresh_from_db()
    assert (stuck.status, alive.status) == ("failed", "running")
    assert stuck.error
    assert stuck.finished_at is not None


def test_a_job_whose_recompute_raises_is_recorded_failed(users, data):
    job = RecomputeJob.objects.create(requested_by=users.bea)
    with mock.patch.object(recompute, "run", side_effect=ValueError("disk full")), pytest.raises(ValueError):
        recompute.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "ValueError: disk full")


def test_recompute_job_lookup_scope(users, data, tree):
    whole_tree = RecomputeJob.objects.create(requested_by=users.bea)
    d1 = RecomputeJob.objects.create(requested_by=users.bea, org_unit=tree.d1)
    assert client_for(users.bea).get(f"/api/v1/recompute/{d1.pk}/").status_code == 200
    # Not an admin of the job's scope (a reviewer, a principal): 404, as for any object outside the scope.
    for user in (users.rita, users.alice):
        assert client_for(user).get(f"/api/v1/recompute/{d1.pk}/").status_code == 404
        assert client_for(user).get(f"/api/v1/recompute/{whole_tree.pk}/").status_code == 404
    assert client_for(users.bea).get("/api/v1/recompute/999999/").status_code == 404
    assert APIClient().get(f"/api/v1/recompute/{d1.pk}/").status_code in (401, 403)
