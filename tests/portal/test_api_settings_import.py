"""DRF's settings name classes in portal.api; they must import whatever is loaded first.

Django keeps its system checks in a set, so the order they run in changes from one process to the next.
When DRF's pagination check ran before anything had imported a view, portal.api was imported from inside
``rest_framework.views`` and failed as a circular import — migrate, check and the whole suite broke at
random. Each setting is read here in a fresh interpreter, before any view is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

BASE_DIR = settings.BASE_DIR

CLASS_SETTINGS = [
    "DEFAULT_PAGINATION_CLASS",
    "DEFAULT_PARSER_CLASSES",
    "EXCEPTION_HANDLER",
    "DEFAULT_AUTHENTICATION_CLASSES",
    "DEFAULT_PERMISSION_CLASSES",
    "DEFAULT_RENDERER_CLASSES",
]


@pytest.mark.parametrize("name", CLASS_SETTINGS)
def test_a_drf_setting_read_first_imports(name: str) -> None:
    code = (
        "import django; django.setup(); import sys; "
        "assert 'rest_framework.views' not in sys.modules, 'a view was imported already'; "
        "from rest_framework.settings import api_settings; "
        f"value = api_settings.{name}; "
        "items = value if isinstance(value, list) else [value]; "
        "print(' '.join(f'{item.__module__}.{item.__qualname__}' for item in items))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1"}
    result = subprocess.run(  # noqa: S603  (our own interpreter, no shell)
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    configured = settings.REST_FRAMEWORK[name]
    expected = configured if isinstance(configured, list) else [configured]
    assert result.stdout.split() == expected
