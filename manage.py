#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    # `make run` and local commands default to development mode; production sets DEBUG=0 explicitly.
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
