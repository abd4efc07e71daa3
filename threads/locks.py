"""lock_thread(): the one row lock on a Thread; every change of a thread's runs takes it first."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.transaction import TransactionManagementError

from access.filters import caller_q
from core.db.sql import for_no_key_update
from core.errors import NotFound
from threads.models import Thread

THREADS = Thread._meta.db_table


def thread_lock_sql(
    *, columns: str = "t.thread_id", join: str = "", where: str = "t.thread_id = %s"
) -> str:
    """SQL: select the row of thread `t` (joined with `join`, filtered by `where`) and
    take the thread lock on it. Every raw lock on a thread is this statement; lock_thread()
    is its ORM form (it adds the caller's auth filter).

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
    # The ORM form of thread_lock_sql(), so that the caller's auth filter applies: outside
    # it, a thread is as missing as one never created.
    threads = (
        Thread.objects.select_for_update(no_key=True)
        .filter(caller_q("threads"), pk=thread_id)
        .order_by()
    )
    if fields:
        # The cached values can be large; callers that only need the lock say so.
        threads = threads.only(*fields)
    thread = threads.first()
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    return thread
