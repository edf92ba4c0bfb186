"""Reads of the report pages and export workbooks from a PostgreSQL read replica (DATABASE_REPLICA_URL).

Only code that says so reads from the replica: ``use_replica()`` (a context manager, also usable as a decorator)
sets a context variable that ``ReplicaRouter`` reads. Everything else — every write, the workflow, scope checks
outside those blocks — uses "default", so a replica a few seconds behind never shows a user their own write as
missing except on those pages, which read precomputed values anyway. Without a replica configured the router
answers None (Django's default database) and ``use_replica`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPLICA = "replica"

# True inside use_replica(): reads may go to the replica. A ContextVar, so threads and tasks do not share it.
_reads_from_replica: ContextVar[bool] = ContextVar("reads_from_replica", default=False)


@contextmanager
def use_replica() -> Iterator[None]:
    """Within this block (or the decorated view/function) reads go to the replica when one is configured."""
    token = _reads_from_replica.set(True)
    try:
        yield
    finally:
        _reads_from_replica.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Sends reads inside ``use_replica()`` to the replica; writes and migrations always to "default"."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if _reads_from_replica.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same data (the replica is a copy of default): objects may relate across them.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        # The replica follows the primary by replication; migrate never writes to it.
        return db != REPLICA
