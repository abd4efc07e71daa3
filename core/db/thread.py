"""A thread of its own for an event loop's database calls, handing them over in batches.

`loop.run_in_executor` costs two thread wake-ups per call: the executor's thread is woken
for the call, and the loop (through its self-pipe) for the result. A run's checkpoint
writes come in bursts (a checkpoint and its task's writes, and, with many runs on one
loop, the calls of all of them), so `DbThread.call` queues the calls a loop makes while
the thread is busy and runs them in order as one job, then wakes the loop once with all
their results.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, asyncio.Future, Callable[[], Any]]


class DbThread(ThreadPoolExecutor):
    """One thread, so one database connection, kept from call to call. `submit` works as
    for any executor (from any thread); `call` is for coroutines."""

    def __init__(self, thread_name_prefix: str = "db") -> None:
        super().__init__(max_workers=1, thread_name_prefix=thread_name_prefix)
        self._queued: list[_Call] = []
        self._queued_lock = threading.Lock()
        self._draining = False

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the thread, after the calls queued before it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._queued_lock:
            self._queued.append((loop, future, partial(fn, *args, **kwargs)))
            start = not self._draining
            self._draining = True
        if start:
            ThreadPoolExecutor.submit(self, self._drain)
        return await future

    def run_call(self, fn: Callable[[], T]) -> T:
        """Runs each call of `call` on the thread (a subclass may retry it)."""
        return fn()

    def _drain(self) -> None:
        with self._queued_lock:
            batch, self._queued = self._queued, []
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, Any]]] = {}
        try:
            for loop, future, fn in batch:
                if future.cancelled():  # its caller stopped waiting before it began
                    continue
                try:
                    settled.setdefault(loop, []).append((future, self.run_call(fn), None))
                except BaseException as exc:  # handed to the caller, as an executor does
                    settled.setdefault(loop, []).append((future, None, exc))
        finally:
            for loop, results in settled.items():
                loop.call_soon_threadsafe(_settle, results)
            with self._queued_lock:
                more = bool(self._queued)
                self._draining = more
            if more:
                # Behind what others submitted meanwhile, not ahead of it.
                ThreadPoolExecutor.submit(self, self._drain)


def _settle(results: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, result, exc in results:
        if future.cancelled():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


async def off_loop(executor: Executor, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on `executor`, awaited from a coroutine: batched on a DbThread."""
    if isinstance(executor, DbThread):
        return await executor.call(fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, partial(fn, *args, **kwargs))
