"""Database calls from async views that hold neither a thread nor a connection while waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection

T = TypeVar("T")


async def db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call a selector or service on a shared executor thread and hand its database
    connection back at once: a join or a stream may wait for hours and must pin neither
    a thread nor a pooled connection (thread-sensitive calls keep both until the
    response ends)."""

    def call() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return await sync_to_async(call, thread_sensitive=False)()
