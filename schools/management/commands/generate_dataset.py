"""Generate a deterministic synthetic org tree (benchmarks use --units 20000)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from schools.dataset import generate


class Command(BaseCommand):
    help = "Create a synthetic tree of N org units under a 'GEN' bureau (deterministic for a given seed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--units", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, units: int, seed: int, **options: Any) -> None:
        if units < 3:
            raise CommandError("--units must be at least 3")
        try:
            counts = generate(units, seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            "generated {total} units: {districts} districts, {townships} townships, {schools} schools".format(**counts)
        )
