"""The portal's password hasher.

Django's default, PBKDF2-SHA256 with 1,000,000 rounds, costs about 2 s of CPU per log-in on the bureau's
2-core server: on deadline day 200 principals logging in within minutes saturate both cores and every other
request waits behind them (bench/bench_load.py measured a p95 of 38 s). Argon2id at the OWASP Password
Storage Cheat Sheet's first recommended configuration (19 MiB of memory, 2 passes, 1 lane) is memory-hard,
so it resists GPU and ASIC cracking better than PBKDF2 at any round count, while costing tens of milliseconds
of CPU. ``tests/portal/test_password_hashing.py`` pins the parameters and the upgrade of older hashes.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OfficeArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, 19 MiB, t=2, p=1 (OWASP). Same ``argon2`` algorithm name: the parameters travel in each hash."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
