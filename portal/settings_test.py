"""Test-only overrides: eager Celery, fast hashing, in-memory mail. Imports the real settings."""

import os

os.environ.setdefault("DEBUG", "1")

from portal.settings import *  # noqa: E402,F403  (test settings extend the real ones by design)
from portal.settings import REDIS_URL  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests run tasks in-process even when REDIS_URL is set; broker tests opt in explicitly.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
AXES_ENABLED = True
LANGUAGE_CODE = "zh-hans"
# The suite and the fuzzers send hundreds of API requests a minute: no throttling, except where a test
# sets a rate (tests/security/test_account_hardening.py).
API_THROTTLE_ANON_RATE = ""
API_THROTTLE_USER_RATE = ""
