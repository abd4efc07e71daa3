"""Database calls from async views that hold neither a thread nor a connection while waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, sync_to_async
from django.db import connection

T = TypeVar("T")


async def db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call a selector or service on a shared executor thread and hand its database
    connection back at once: a join or a stream may wait for hours and must pin neither
    a thread nor a pooled connection (thread-sensitive calls keep both until the
    response ends).

    Under a synchronous caller (a WSGI server, Django's test client) the view's event loop
    runs for one request while the caller's thread waits for it: that thread, and its
    connection with any transaction it holds open (a test's), serve the call instead, as
    they would serve a synchronous view."""
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)

    def call() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return await sync_to_async(call, thread_sensitive=False)()
