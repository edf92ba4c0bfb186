"""Load the demo: org tree, plans, figures with four quarters of data, indicators, targets; idempotent."""

from __future__ import annotations

import importlib
import time
from typing import Any

from django.core.management.base import BaseCommand

# (module, function): each app contributes its part; a module not built yet is skipped.
STEPS = [
    ("schools.demo", "load"),
    ("plans.demo", "load"),
    ("submissions.demo", "load"),
    ("targets.demo", "load"),
    ("plans.demo_targets", "load"),
]


class Command(BaseCommand):
    help = "Load the demo bureau, plan and data (running it twice changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        for module_name, function_name in STEPS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            getattr(module, function_name)(self.stdout)
        try:
            engine = importlib.import_module("indicators.engine")
        except ModuleNotFoundError:
            engine = None
        if engine is not None and hasattr(engine, "full_recompute"):
            count = engine.full_recompute()
            self.stdout.write(f"recompute: {count} indicator values\n")
        from schools.demo import DEMO_PASSWORD, demo_logins

        self.stdout.write(self.style.SUCCESS(f"Demo loaded in {time.perf_counter() - started:.1f} s.\n"))
        self.stdout.write(f"Demo log-ins (password for all: {DEMO_PASSWORD}):\n")
        for username, role, unit in demo_logins():
            self.stdout.write(f"  {username:<12} {role:<10} {unit}\n")
