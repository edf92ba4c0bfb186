"""``python manage.py load_catalogue [--only CODE ...] [--user USERNAME]``: install the standard catalogue.

Each entry is installed as the catalogue page's button does (``indicators.catalogue.install_entry``): what is
missing is created, what is there is left alone, a conflicting definition is reported and that entry skipped.
Entries needing an aggregation the engine lacks (``"requires": "cv"``) are skipped with a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from indicators import catalogue
from portal.errors import ServiceError


class Command(BaseCommand):
    help = "Install the standard figures and indicators of the catalogue (all, or the codes given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", nargs="+", metavar="CODE", help="catalogue entry codes (default: every entry)")
        parser.add_argument("--user", help="install as this user (default: the command line, as a superuser)")

    def _user(self, username: str | None) -> AbstractBaseUser:
        model = get_user_model()
        if username is None:
            # Whoever runs manage.py has the database already; an unsaved superuser stands for them.
            return model(username="load_catalogue", is_superuser=True, is_active=True)
        user = model.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"unknown user {username}")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = catalogue.load()
        except catalogue.CatalogueError as error:
            raise CommandError("the catalogue file is invalid:\n  " + "\n  ".join(error.problems)) from None
        codes = options["only"] or list(loaded.entries)
        unknown = [code for code in codes if code not in loaded.entries]
        if unknown:
            raise CommandError(f"not in the catalogue: {', '.join(unknown)}")
        user = self._user(options["user"])
        self.stdout.write(f"catalogue version {loaded.version}: {len(codes)} entries")
        installed = unchanged = skipped = 0
        failed: list[str] = []
        for code in codes:
            entry = loaded.entries[code]
            if not entry.supported:
                skipped += 1
                self.stdout.write(f"  {code}: skipped, needs the '{entry.requires or entry.aggregation}' aggregation")
                continue
            try:
                result = catalogue.install_entry(code, user)
            except ServiceError as error:
                failed.append(code)
                messages = "; ".join(m for ms in error.errors.values() for m in ms)
                self.stderr.write(f"  {code}: not installed: {messages}")
                continue
            if result.changed:
                installed += 1
                parts = [f"figures {', '.join(result.figures_created)}"] if result.figures_created else []
                if result.indicator_created:
                    parts.append("indicator")
                self.stdout.write(f"  {code}: installed ({'; '.join(parts)})")
            else:
                unchanged += 1
        summary = f"{installed} installed, {unchanged} already present, {skipped} skipped, {len(failed)} failed"
        self.stdout.write(summary)
        if failed:
            raise CommandError(f"not installed (conflicting definitions): {', '.join(failed)}")
