"""Parameters and clauses for the few hand-written SQL statements on the run engine's hot
path (claim, finish, the checkpointer), portable between PostgreSQL and SQLite.

Compiling an ORM query costs more CPU than PostgreSQL spends executing these small
statements, and a run executes a dozen of them.
"""

from __future__ import annotations

import datetime
import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from django.db import connection, models
from psycopg.pq import TransactionStatus

from core.json import dumps, loads

_UUID = models.UUIDField()
M = TypeVar("M", bound=models.Model)


def db_uuid(value: uuid.UUID | str) -> Any:
    """A UUID as this database stores it (a uuid on PostgreSQL, 32 hex digits on SQLite)."""
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return _UUID.get_db_prep_value(value, connection)


def from_db_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def db_datetime(value: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def db_json(value: Any) -> str | None:
    """A JSONField value: SQL NULL for None, as the ORM writes it."""
    if value is None:
        return None
    return dumps(value).decode()


def from_db_json(value: Any) -> Any:
    return loads(value) if isinstance(value, str | bytes) else value


def for_no_key_update(alias: str) -> str:
    """Row lock clause: PostgreSQL locks; SQLite serializes writers on its own."""
    return f" FOR NO KEY UPDATE OF {alias}" if connection.vendor == "postgresql" else ""


def json_merge(*operands: str) -> str:
    """SQL: the JSON objects `operands` (SQL expressions; "%s" for a parameter from db_json)
    merged key by key, later ones winning, as `{**a, **b}` does. PostgreSQL's jsonb `||`;
    on SQLite a function of the same meaning (register_sqlite_functions)."""
    if connection.vendor == "postgresql":
        return " || ".join("%s::jsonb" if operand == "%s" else operand for operand in operands)
    return f"spindle_json_merge({', '.join(operands)})"


def _sqlite_json_merge(*values: str | None) -> str:
    merged: dict[str, Any] = {}
    for value in values:
        merged.update(json.loads(value) if value else {})
    return json.dumps(merged)


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: the SQL functions json_merge() uses on SQLite."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "spindle_json_merge", -1, _sqlite_json_merge, deterministic=True
        )


# psycopg caches the conversion of a statement's %s placeholders only for statements of
# up to 50 parameters (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS), so that an ORM's
# bulk inserts of ever-changing sizes do not fill its cache. A checkpoint's put, with its
# blobs and the blobs it releases, passes that on a thread's later runs (55 parameters
# for the echo graph), and converting it again on every put cost about 180 µs, more than
# PostgreSQL spends running it. The cache keeps its 128 entries and psycopg's 4 KB limit
# on a statement's length, so raising the count bounds an entry at a few tens of KB.
CACHED_STATEMENT_PARAMS = 200


def cache_engine_statements() -> None:
    """Let psycopg cache the conversion of statements of up to CACHED_STATEMENT_PARAMS
    parameters (runs.apps calls this at start-up). psycopg has no public setting for it."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_PARAMS = max(
        _queries.MAX_CACHED_STATEMENT_PARAMS, CACHED_STATEMENT_PARAMS
    )


def run_statements(statements: list[tuple[str, list[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Run the statements as one transaction and return each one's rows ([] for a
    statement that returns none).

    On PostgreSQL they go in one round trip, pipelined between BEGIN and COMMIT (or
    inside the caller's transaction). Under READ COMMITTED each statement still sees
    what committed before it started, so a row lock taken by the first one orders the
    rest; deferred foreign keys are checked at the COMMIT, whose error is raised here.
    Elsewhere (SQLite) they run one by one inside atomic().
    """
    from django.db import transaction

    if connection.vendor != "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            results = []
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall() if cursor.description is not None else [])
            return results

    if len(statements) == 1:
        # One statement is a transaction of its own (deferred foreign keys are checked at
        # its end): no BEGIN, COMMIT or pipeline needed for the one round trip.
        with connection.cursor() as cursor:
            cursor.execute(*statements[0])
            return [cursor.fetchall() if cursor.description is not None else []]

    connection.ensure_connection()
    raw = connection.connection
    own = not connection.in_atomic_block  # autocommit: this call is the whole transaction
    batch = [("BEGIN", []), *statements, ("COMMIT", [])] if own else statements
    with connection.wrap_database_errors:
        try:
            with raw.pipeline():
                cursors = []
                for sql, params in batch:
                    cursor = raw.cursor()
                    cursor.execute(sql, params or None)
                    cursors.append(cursor)
        except BaseException:
            if not raw.closed:
                _forget_prepared(raw)
                if own and raw.info.transaction_status != TransactionStatus.IDLE:
                    raw.execute("ROLLBACK")  # a statement failed before the COMMIT
            raise
    if own:
        cursors = cursors[1:-1]
    return [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]


def _forget_prepared(raw: Any) -> None:
    """Forget, on both sides, every statement psycopg prepared on this connection: after a
    failed pipeline its cache and the server can disagree.

    psycopg counts a statement's executions and, at the threshold, queues a Parse under a
    new name ahead of the execution, recording the name as prepared at once: in a
    pipeline it checks the outcome only for statements new to its cache. When a
    statement of the pipeline fails, PostgreSQL skips every message queued after it up
    to the Sync, those Parse messages included, so psycopg then believes in statements
    the server never made, and every later use of one fails with `prepared statement
    "_pg3_N" does not exist`. psycopg discards its cache after a ROLLBACK, but only when
    the ROLLBACK statement is itself new to the cache: from the second failure of a
    connection on, nothing put the two back in step. Clearing the cache here queues a
    DEALLOCATE ALL that psycopg sends after the connection's next statement (the
    ROLLBACK below, or the caller's once its transaction is rolled back); the statements
    are prepared again after the threshold. psycopg has no public call for this.
    """
    raw._prepared.clear()


def model_by_pk(model: type[M], pk: Any) -> M | None:
    """The instance with this primary key, or None: the ORM's result for
    `model.objects.filter(pk=pk).first()`, read with one plain statement (a run create
    looks up its assistant, and compiling that query cost three times reading the row)."""
    sql, attnames, converters = _select_by_pk(model)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (column, field_converters) in zip(row, converters, strict=True):
        for convert in field_converters:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, attnames, values)


@functools.cache
def _select_by_pk(
    model: type[models.Model],
) -> tuple[str, list[str], list[tuple[Any, list[Callable[..., Any]]]]]:
    quote = connection.ops.quote_name
    meta = model._meta
    fields = meta.concrete_fields
    # Concrete fields always have a column; the stubs type it Optional for non-concrete ones.
    columns = ", ".join(quote(cast(str, field.column)) for field in fields)
    pk_column = cast(str, meta.pk.column)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(pk_column)} = %s"
    converters = []
    for field in fields:
        # As the ORM's compiler does: the backend's converters, then the field's.
        column = field.get_col(meta.db_table)
        converters.append(
            (
                column,
                [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)],
            )
        )
    return sql, [field.attname for field in fields], converters


Statements = list[tuple[str, list[Any]]]


class WriteGroup:
    """The writes of several calls, each a transaction of its own when run alone, made one
    transaction in one round trip (a group commit): `write` collects them while the
    group is open (`grouped`), `commit` runs them."""

    def __init__(self) -> None:
        self.writes: list[tuple[Statements, Callable[[list[tuple[Any, ...]]], Any] | None]] = []

    def commit(self) -> None:
        """Run every collected write in one transaction, then each one's `on_commit` with
        the rows its first statement returned. Raises, having committed nothing, if any
        statement fails: the caller then runs the calls one by one."""
        if not self.writes:
            return
        rows = run_statements([statement for batch, _ in self.writes for statement in batch])
        first = 0
        for batch, on_commit in self.writes:
            if on_commit is not None:
                on_commit(rows[first])
            first += len(batch)


_group = threading.local()


@contextmanager
def grouped() -> Iterator[WriteGroup]:
    """While open, `write` on this thread adds to the yielded group instead of running."""
    group = WriteGroup()
    _group.current = group
    try:
        yield group
    finally:
        _group.current = None


def write(
    statements: Statements, on_commit: Callable[[list[tuple[Any, ...]]], Any] | None = None
) -> None:
    """Run `statements` as one transaction (run_statements), then call `on_commit` with the
    rows the first one returned; inside `grouped()`, add them to the group instead."""
    group: WriteGroup | None = getattr(_group, "current", None)
    if group is not None:
        group.writes.append((statements, on_commit))
        return
    rows = run_statements(statements)[0]
    if on_commit is not None:
        on_commit(rows)
