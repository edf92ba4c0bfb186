"""Load the demo: org tree, plans, figures with data up to today's quarter, indicators, targets, this year's
plan; idempotent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from demo import indicators, plans, schools, submissions, targets
from indicators.engine import full_recompute
from portal import audit

# In this order: each part reads what the earlier ones wrote (the plan's targets need its indicators, the
# indicators need the figures, the figures need the schools). Each writes a line of what it did to the stream.
STEPS: list[Callable[[Any], object]] = [
    schools.load,
    plans.load,
    submissions.load,
    indicators.load,
    targets.load,
]


class Command(BaseCommand):
    help = "Load the demo bureau, plan and data (running it twice changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        # Seed data, not a change anyone made: the audit trail records nothing of it (docs/architecture.md).
        # The seed workbooks and texts are Chinese: read them in the portal's language, whatever the caller's is.
        with audit.suppressed(), translation.override(settings.LANGUAGE_CODE):
            for load in STEPS:
                load(self.stdout)
            count = full_recompute()
            self.stdout.write(f"recompute: {count} indicator values\n")
            # This year's plan copies seed 000 with last year's actuals as baselines: after the values exist.
            targets.load_current_year(self.stdout)

        self.stdout.write(self.style.SUCCESS(f"Demo loaded in {time.perf_counter() - started:.1f} s.\n"))
        self.stdout.write(f"Demo log-ins (password for all: {schools.DEMO_PASSWORD}):\n")
        for username, role, unit in schools.demo_logins():
            self.stdout.write(f"  {username:<12} {role:<10} {unit}\n")
