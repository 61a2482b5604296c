"""Fast bulk inserts of new rows together with their django-simple-history rows.

``simple_history.utils.bulk_create_with_history`` goes through Django's ``bulk_create`` twice
(rows, then history rows), and Django prepares every value of every row through its field
machinery: about 250 µs a row here, so a 50,000-person organisation took most of a minute to
import. ``insert_with_history`` writes the same rows and produces exactly what simple_history
would: one ``+`` history row per new row, stamped with the same date, user and change reason.
Used only for rows the caller builds itself, whose values have already been validated (the
importer, ``teams.synthetic``).

On PostgreSQL the rows go in with ``COPY ... FROM STDIN``, their primary keys drawn from the
table's sequence first so that the history rows (a second ``COPY``) can name them. Measured on a
50,000-person import: multi-row ``INSERT`` statements spent three quarters of the import in the
driver, which splits every statement's text at its placeholders (2.5 million of them); ``COPY``
sends rows without any statement text. Elsewhere (SQLite) rows go in with multi-row
``INSERT ... RETURNING`` statements, values taken from the instances as they are (only dates,
datetimes and JSON adapted).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import json
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from django.db import connection, models

# Multi-row statements stay well below every backend's limit on parameters per statement.
MAX_PARAMETERS = 30_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (as it was before, after it).

    Reading and importing 50,000 people allocates millions of objects, none of them garbage
    until the import ends; every few thousand allocations the collector walked the growing heap
    again. Measured: reading the file took 2.5 s with it and 1.1 s without."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def insert_with_history(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    history_date: dt.datetime,
    change_reason: str,
    user_id: int | None,
    copy: bool | None = None,
) -> None:
    """Insert ``rows`` (new, unsaved instances of ``model``), set their primary keys (ascending
    in the order of ``rows``), and record one creation history row each. ``created_at`` /
    ``updated_at`` become ``history_date``.

    ``copy`` chooses PostgreSQL's ``COPY`` (True) or multi-row ``INSERT`` statements (False);
    by default ``COPY`` whenever the database is PostgreSQL. Both write the same rows."""
    if not rows:
        return
    for row in rows:
        row.created_at = history_date  # type: ignore[attr-defined]
        row.updated_at = history_date  # type: ignore[attr-defined]
    history_model: type[models.Model] = model.history.model  # type: ignore[attr-defined]
    history_fields = [
        field for field in history_model._meta.concrete_fields if not field.primary_key
    ]
    stamps = {
        "history_date": history_date,
        "history_change_reason": change_reason,
        "history_type": "+",
        "history_user_id": user_id,
    }
    if copy is None:
        copy = connection.vendor == "postgresql"
    if copy:
        _ids_from_sequence(model, rows)
        _copy(model._meta.db_table, list(model._meta.concrete_fields), rows, {})
        _copy(history_model._meta.db_table, history_fields, rows, stamps)
        return

    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    ids = _insert(model._meta.db_table, fields, rows, _values_of, returning=model._meta.pk.column)
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk

    def history_values(row: models.Model, attnames: list[str]) -> list[Any]:
        return [stamps[name] if name in stamps else getattr(row, name) for name in attnames]

    _insert(history_model._meta.db_table, history_fields, rows, history_values, returning=None)


def _ids_from_sequence(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Give ``rows`` the next primary keys of ``model``'s sequence, ascending in their order
    (as a multi-row INSERT would)."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk


def _copy(
    table: str,
    fields: Sequence[Any],
    rows: Sequence[models.Model],
    stamps: dict[str, Any],
) -> None:
    """``COPY table FROM STDIN`` of ``fields`` of every row; a field named in ``stamps`` takes
    that value instead of the row's."""
    quote = connection.ops.quote_name
    own = [field for field in fields if field.attname not in stamps]
    stamped = [field for field in fields if field.attname in stamps]
    columns = ", ".join(quote(field.column) for field in [*own, *stamped])
    values_of = operator.attrgetter(*(field.attname for field in own))
    stamp_values = tuple(stamps[field.attname] for field in stamped)
    json_at = [i for i, field in enumerate(own) if isinstance(field, models.JSONField)]
    # The driver writes an enum member that is not a str by its name; the database holds the
    # choice's value.
    choice_at = [i for i, field in enumerate(own) if field.choices and i not in json_at]
    sql = f"COPY {quote(table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        write_row = copy.write_row
        for row in rows:
            values = values_of(row)
            if len(own) == 1:
                values = (values,)
            if json_at or choice_at:
                converted = list(values)
                for i in json_at:
                    value = converted[i]
                    if value is not None:
                        converted[i] = json.dumps(value, cls=own[i].encoder)
                for i in choice_at:
                    value = converted[i]
                    if isinstance(value, Enum):
                        converted[i] = value.value
                values = tuple(converted)
            write_row(values + stamp_values)


def _values_of(row: models.Model, attnames: list[str]) -> list[Any]:
    return [getattr(row, name) for name in attnames]


def _insert(
    table: str,
    fields: list[Any],
    rows: Sequence[models.Model],
    values_of: Callable[[models.Model, list[str]], list[Any]],
    *,
    returning: str | None,
) -> list[Any]:
    quote = connection.ops.quote_name
    attnames = [field.attname for field in fields]
    adapters = [_adapter(field) for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    max_query_params = connection.features.max_query_params
    if max_query_params is not None:
        per_statement = max(1, min(per_statement, max_query_params // len(fields)))
    suffix = f" RETURNING {quote(returning)}" if returning else ""

    returned: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params: list[Any] = []
            for row in batch:
                for value, adapt in zip(values_of(row, attnames), adapters, strict=True):
                    params.append(
                        adapt(value) if adapt is not None and value is not None else value
                    )
            sql = (
                f"INSERT INTO {quote(table)} ({columns}) VALUES "
                + ", ".join([row_placeholder] * len(batch))
                + suffix
            )
            cursor.execute(sql, params)
            if returning:
                returned.extend(result[0] for result in cursor.fetchall())
    return returned


def _adapter(field: Any) -> Callable[[Any], Any] | None:
    """How a Python value of ``field`` becomes a database parameter, when it needs more than the
    driver's own adaptation (str, int, bool and None pass through)."""
    # Cached: a batch stamps every row with the same datetime, and dates repeat.
    if isinstance(field, models.DateTimeField):
        return functools.lru_cache(maxsize=1024)(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return functools.lru_cache(maxsize=1024)(connection.ops.adapt_datefield_value)
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None
