"""lock_thread(): the one row lock on a Thread; every change of a thread's runs takes it first."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.transaction import TransactionManagementError

from config.errors import NotFound
from config.sql import db_uuid, for_no_key_update
from threads.models import Thread

THREADS = Thread._meta.db_table


def thread_lock_sql(*, columns: str = "t.thread_id", join: str = "", where: str = "t.thread_id = %s") -> str:
    """SQL: select the row of thread `t` (joined with `join`, filtered by `where`) and
    take the thread lock on it. Every lock on a thread, raw or through lock_thread(), is
    this statement.

    FOR NO KEY UPDATE, not FOR UPDATE: a worker committing a checkpoint takes FOR KEY
    SHARE on the thread (foreign key check) while holding its run's row; FOR UPDATE
    would block that and deadlock with a rollback deleting the run. NO KEY UPDATE still
    serializes every holder of this lock.
    """
    join = f" {join}" if join else ""
    return f"SELECT {columns} FROM {THREADS} t{join} WHERE {where}{for_no_key_update('t')}"


def lock_thread(thread_id: uuid.UUID | str, *, fields: tuple[str, ...] | None = None) -> Thread:
    """Lock the thread's row until the surrounding transaction ends and return it, freshly read.

    Must be called inside `transaction.atomic()`: outside one the lock would end with
    its statement, so it is refused here (on SQLite too, which has no row locks). Lock
    order is always the thread first, then its runs, so two requests on one thread
    serialize here and never deadlock on each other.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("lock_thread() must be called inside transaction.atomic()")
    columns = "t.*"
    if fields:
        # The cached values can be large; callers that only need the lock say so.
        column = {field.name: field.column for field in Thread._meta.concrete_fields}
        names = dict.fromkeys(["thread_id", *(column[name] for name in fields)])
        columns = ", ".join(f't."{name}"' for name in names)
    thread = next(iter(Thread.objects.raw(thread_lock_sql(columns=columns), [db_uuid(thread_id)])), None)
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    return thread
