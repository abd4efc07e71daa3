"""lock_thread(): the one row lock on a Thread; every change of a thread's runs takes it first."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.transaction import TransactionManagementError

from access.filters import caller_q
from config.errors import NotFound
from threads.models import Thread


def lock_thread(thread_id: uuid.UUID | str, *, fields: tuple[str, ...] | None = None) -> Thread:
    """Lock the thread's row until the surrounding transaction ends and return it, freshly read.

    Must be called inside `transaction.atomic()`: outside one the lock would end with
    its statement (Django refuses `select_for_update` there on PostgreSQL; SQLite has no
    row locks, so the check is made here for both). Lock order is always the thread
    first, then its runs, so two requests on one thread serialize here and never
    deadlock on each other.
    """
    # FOR NO KEY UPDATE, not FOR UPDATE: a worker committing a checkpoint takes FOR KEY
    # SHARE on the thread (foreign key check) while holding its run's row; FOR UPDATE
    # would block that and deadlock with a rollback deleting the run. NO KEY UPDATE
    # still serializes every holder of this lock.
    if not connection.in_atomic_block:
        raise TransactionManagementError("lock_thread() must be called inside transaction.atomic()")
    # Outside the caller's auth filter, a thread is as missing as one never created.
    threads = Thread.objects.select_for_update(no_key=True).filter(caller_q("threads"), pk=thread_id).order_by()
    if fields:
        # The cached values can be large; callers that only need the lock say so.
        threads = threads.only(*fields)
    thread = threads.first()
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    return thread
