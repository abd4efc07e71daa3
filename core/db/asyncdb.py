"""Database calls from async views that hold neither a thread nor a connection while waiting."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from core.db.thread import DbThread

T = TypeVar("T")


async def db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call a selector or service on one of the process's database threads: a join or a
    stream may wait for hours and must pin neither a thread nor a connection while it
    waits, so only the call itself holds one.

    The threads are few (SPINDLE_WEB_DB_THREADS), each with its connection kept from call
    to call, and a call goes to the one with the least work handed to it. Calls that
    arrive while a thread is busy run as one batch, whose results reach the event loop
    with one wake-up (core/db/thread.py). Handing each call to a pool thread that borrowed
    a pooled connection had cost the web process a fifth of its CPU per run (thread
    wake-ups, and the interpreter's lock passed among many threads).

    Under a synchronous caller (a WSGI server, Django's test client) the view's event loop
    runs for one request while the caller's thread waits for it: that thread, and its
    connection with any transaction it holds open (a test's), serve the call instead, as
    they would serve a synchronous view."""
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)
    # In the view's context: selectors read the request's caller (access.context) from it.
    context = contextvars.copy_context()
    return await _threads().call(context.run, _on_kept_connection, fn, *args, **kwargs)


class DbThreads:
    """A few DbThreads; each call goes to the one with the fewest calls handed to it and
    not yet answered, so one slow call (a large thread's history) holds up only the calls
    queued behind it on its thread, and only when every other thread is busy too."""

    def __init__(self, count: int) -> None:
        self._threads = [DbThread(thread_name_prefix=f"web-db-{i}") for i in range(count)]
        self._pending = [0] * count
        self._lock = threading.Lock()

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            index = min(range(len(self._pending)), key=self._pending.__getitem__)
            self._pending[index] += 1
        try:
            return await self._threads[index].call(fn, *args, **kwargs)
        finally:
            with self._lock:
                self._pending[index] -= 1

    def shutdown(self) -> None:
        """Close the threads' connections and stop the threads once their work is done."""
        for thread in self._threads:
            thread.submit(connection.close)
            thread.shutdown()


def _on_kept_connection(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn` on this thread's connection, kept for its next call; one that fails as dropped
    (the database restarted) is closed, so the next call opens a new one."""
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        connection.close()
        raise


_threads_of: tuple[int, DbThreads] | None = None
_threads_lock = threading.Lock()


def _threads() -> DbThreads:
    """This process's database threads, made at the first call (threads do not survive a
    fork, so a forked process makes its own)."""
    global _threads_of
    with _threads_lock:
        if _threads_of is None or _threads_of[0] != os.getpid():
            _threads_of = (os.getpid(), DbThreads(settings.SPINDLE_WEB_DB_THREADS))
        return _threads_of[1]
