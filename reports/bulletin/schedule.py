"""The scheduled bulletins: after a quarter's deadline, one bulletin per published plan of that year at the
bureau root (the root of the plan's own unit), recorded once per (plan, scope, quarter).

``due_bulletins`` only records the jobs (pending, ``scheduled=True``); the beat task enqueues them and the
export sweep sends again any whose message was lost. A second run finds the rows (and the unique constraint
``reports_exportjob_one_scheduled_bulletin`` stops two runs racing), so it records nothing.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from plans.models import Plan, PlanStatus
from reports.bulletin.job import new_job
from reports.models import ExportJob, ExportKind
from schools.models import OrgUnit
from submissions.models import Period


def last_closed_period(today: datetime.date) -> Period | None:
    """The latest quarter whose reporting deadline has passed."""
    return Period.objects.filter(due_on__lt=today).order_by("-year", "-quarter").first()


def due_bulletins(today: datetime.date | None = None) -> list[int]:
    """Record the bulletins the schedule owes; returns the new jobs' ids (none on a second run)."""
    period = last_closed_period(today or timezone.localdate())
    if period is None:
        return []
    plans = list(Plan.objects.filter(year=period.year, status=PlanStatus.PUBLISHED).select_related("owner_unit"))
    done = set(
        ExportJob.objects.filter(kind=ExportKind.BULLETIN, scheduled=True, period=period).values_list(
            "plan_id", "scope_id"
        )
    )
    created: list[int] = []
    for plan in plans:
        root = OrgUnit.objects.root_of(plan.owner_unit)
        if (plan.pk, root.pk) in done:
            continue
        try:
            with transaction.atomic():
                job = new_job(plan, root, period, scheduled=True, language=settings.LANGUAGE_CODE)
        except IntegrityError:
            continue  # another run recorded it meanwhile
        created.append(job.pk)
    return created
