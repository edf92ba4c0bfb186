"""A cheaper password hasher for the load benchmark's diagnostic run only (``BENCH_LOAD_HASH_ITERATIONS``).

Production keeps Django's PBKDF2 (1,000,000 iterations in Django 5.2). This subclass only lowers the
iteration count, to measure how much of deadline-day latency is the log-in's hashing.
"""

from __future__ import annotations

import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class BenchPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = int(os.environ.get("BENCH_LOAD_HASH_ITERATIONS", "1000000"))
