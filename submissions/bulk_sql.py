"""Set-based writes of a batch save: one statement per table on PostgreSQL, chunked inserts elsewhere.

``workflow._write`` stores a validated batch (a district's Excel upload is 2,000 submissions, 60,000
values and as many history rows) through the three functions here. On PostgreSQL each is ONE
statement: new rows are loaded with ``COPY … FROM STDIN`` (no SQL to parse; 120 multi-row INSERTs of
5,000 parameters cost more than the rows themselves), existing values are updated in place from two
arrays with ``unnest`` (an UPDATE that leaves the foreign keys alone fires no foreign-key check, and
can stay a heap-only update) and new submissions come back from one ``INSERT … RETURNING``.
Elsewhere (SQLite, the embedded default) the same calls fall back to chunked multi-row statements.
Both paths run inside the caller's transaction, so a batch is stored whole or not at all.
"""

from __future__ import annotations

import datetime
import io
import operator
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Model


def is_postgresql() -> bool:
    """The one switch between the PostgreSQL fast path and the portable one."""
    return connection.vendor == "postgresql"


def _copy_field(value: Any) -> str:
    """One field in COPY's text format: NULL is \\N; backslash, tab, newline and CR are escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


class _FieldCache(dict[Any, str]):
    """COPY text of one column's values, computed once per distinct value (a batch repeats its
    timestamp, user, channel and many numbers 60,000 times). One cache per column, so values that
    compare equal across types (``True == 1``) never share an entry."""

    def __missing__(self, value: Any) -> str:
        text = self[value] = _copy_field(value)
        return text


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` with ``rows``: PostgreSQL's fastest way to load many rows.

    The statement does not pass through Django's cursor wrapper, so it is added to the query log by
    hand (debug pages and ``CaptureQueriesContext`` keep showing every statement of a save).
    """
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    caches = [_FieldCache() for _column in columns]
    buffer = io.StringIO()
    buffer.writelines("\t".join(map(operator.getitem, caches, row)) + "\n" for row in rows)
    buffer.seek(0)
    started = time.monotonic()
    with connection.wrap_database_errors:  # psycopg2's errors become django.db ones, as for execute()
        cursor.cursor.copy_expert(sql, buffer)
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def _can_copy(cursor: Any) -> bool:
    return is_postgresql() and hasattr(cursor.cursor, "copy_expert")  # psycopg2 (the pinned driver)


def insert_rows(model: type[Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``model``'s table, all in the caller's transaction."""
    if not rows:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if _can_copy(cursor):
            _copy(cursor, model._meta.db_table, columns, rows)
            return
        # Multi-row INSERTs: the ORM's bulk_create costs ~0.2 ms of Python per object.
        # Only quote_name()'d names from model metadata are interpolated; values are parameters.
        head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # nosec B608
        per_statement = max(1, min(500, (connection.features.max_query_params or 10_000) // len(columns)))
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([one] * len(chunk)), [value for row in chunk for value in row])


def update_values(model: type[Model], rows: list[tuple[int, Any]], stamp: Any) -> None:
    """Set ``value`` (and ``updated_at``) of existing rows: ``rows`` are (pk, new value) pairs.

    PostgreSQL: one ``UPDATE … FROM unnest(…)`` whatever the size; elsewhere one ``UPDATE … CASE`` per 400 rows.
    """
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if is_postgresql():
            # Arrays passed as text literals of plain numbers: array_in parses 60,000 numbers in
            # milliseconds, whereas a list parameter becomes ARRAY[…], one parse node per element.
            ids = "{" + ",".join(str(int(pk)) for pk, _v in rows) + "}"
            values = "{" + ",".join("NULL" if v is None else format(Decimal(v), "f") for _pk, v in rows) + "}"
            cursor.execute(
                f"UPDATE {table} AS v SET value = t.value, updated_at = %s "  # nosec B608 (quoted table name)
                "FROM unnest(%s::bigint[], %s::numeric[]) AS t(id, value) WHERE v.id = t.id",
                [stamp, ids, values],
            )
            return
        # One UPDATE … CASE per 400 rows (SQLite has UPDATE … FROM only from 3.33).
        for start in range(0, len(rows), 400):
            chunk = rows[start : start + 400]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            params: list[Any] = []
            for pk, value in chunk:
                params += [pk, connection.ops.adapt_decimalfield_value(value, 20, 4)]
            params.append(stamp)
            params += [pk for pk, _v in chunk]
            cursor.execute(
                f"UPDATE {table} SET value = CASE id {cases} END, updated_at = %s "  # nosec B608 (placeholders only)
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                params,
            )


def insert_returning_ids(
    model: type[Model], template: Model, key: str, keys: list[int], match: dict[str, Any]
) -> dict[int, int]:
    """Insert one row per ``keys`` element (attribute ``key``), every other column from ``template``.

    Returns {key value: new pk}. PostgreSQL: one ``INSERT … SELECT … FROM unnest(…) RETURNING``.
    Elsewhere the ORM's ``bulk_create``; ids are read back with ``match`` (the columns that, with
    ``key``, identify a row) where the database cannot return them.
    """
    if not keys:
        return {}
    if not is_postgresql():
        objs = []
        for value in keys:
            obj = model(**{f.attname: getattr(template, f.attname) for f in model._meta.concrete_fields})
            obj.pk = None
            setattr(obj, key, value)
            objs.append(obj)
        model._default_manager.bulk_create(objs, batch_size=500)
        if any(obj.pk is None for obj in objs):
            return dict(model._default_manager.filter(**{f"{key}__in": keys}, **match).values_list(key, "pk"))
        return {getattr(obj, key): obj.pk for obj in objs}
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    key_column = next(f.column for f in fields if f.attname == key)
    params: list[Any] = []
    selects: list[str] = []
    for field in fields:
        if field.attname == key:
            selects.append("u.k")
        else:
            selects.append(f"%s::{field.db_type(connection)}")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # nosec B608
        f"SELECT {', '.join(selects)} FROM unnest(%s::bigint[]) AS u(k) "
        f"RETURNING {quote(key_column)}, {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(keys)])
        return dict(cursor.fetchall())


def in_chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
