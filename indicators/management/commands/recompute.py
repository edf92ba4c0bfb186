"""``python manage.py recompute [--period 2023Q1] [--unit CODE]``: the same work as POST /api/v1/recompute/."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from indicators import recompute
from schools.models import OrgUnit
from submissions.models import Period


class Command(BaseCommand):
    help = "Recompute indicator values (all, one period, or one unit's subtree and its ancestors)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="period code, e.g. 2023Q1 (default: every period)")
        parser.add_argument("--unit", help="org unit code (default: the whole tree)")

    def handle(self, *args: Any, **options: Any) -> None:
        period = unit = None
        if options["period"]:
            period = Period.objects.filter(code=options["period"]).first()
            if period is None:
                raise CommandError(f"unknown period {options['period']}")
        if options["unit"]:
            unit = OrgUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"unknown org unit {options['unit']}")
        started = time.perf_counter()
        result = recompute.run(period=period, unit=unit)
        self.stdout.write(
            f"recomputed {result.rows} indicator values over {result.units} subtree(s), "
            f"periods {', '.join(result.periods) or '-'} in {time.perf_counter() - started:.2f}s"
        )
