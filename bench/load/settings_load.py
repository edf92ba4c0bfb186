"""Settings of the deadline-day load benchmark: production settings (DEBUG=0) served over plain HTTP on loopback.

Production marks cookies Secure and redirects to HTTPS because it runs behind TLS; on 127.0.0.1 there is
no TLS, so only those four settings are relaxed here. Everything else (middleware, password hashing,
sessions in the database, Celery through Redis) is what the bureau runs.
"""

import os

from portal.settings import *  # noqa: F403  (extends the real settings by design)

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0

if os.environ.get("BENCH_LOAD_BREAK") == "values":  # see fault_injection.py: proves the bench notices lost values
    MIDDLEWARE = [*MIDDLEWARE, "fault_injection.ChangeOnePostedValue"]  # noqa: F405

if os.environ.get("BENCH_LOAD_HASH_ITERATIONS"):  # diagnostic only: see hashers.py
    PASSWORD_HASHERS = ["hashers.BenchPBKDF2PasswordHasher"]
