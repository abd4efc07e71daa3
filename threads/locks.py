"""lock_thread(): the one row lock on a Thread; every change of a thread's runs takes it first."""

from __future__ import annotations

import uuid

from config.errors import NotFound
from threads.models import Thread


def lock_thread(thread_id: uuid.UUID | str) -> Thread:
    """Lock the thread's row until the surrounding transaction ends and return it, freshly read.

    Must be called inside `transaction.atomic()` (Django refuses `select_for_update`
    in autocommit mode). Lock order is always the thread first, then its runs, so two
    requests on one thread serialize here and never deadlock on each other.
    """
    thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    return thread
