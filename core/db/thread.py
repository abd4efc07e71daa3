"""A thread of its own for an event loop's database calls, handing them over in batches.

`loop.run_in_executor` costs two thread wake-ups per call: the executor's thread is woken
for the call, and the loop (through its self-pipe) for the result. A run's checkpoint
writes come in bursts (a checkpoint and its task's writes, and, with many runs on one
loop, the calls of all of them), so `DbThread.call` queues the calls a loop makes while
the thread is busy and runs them in order as one batch, then wakes the loop once with all
their results.

Consecutive calls of a batch handed over with `call_write` (the checkpointer's writes, each
a transaction of its own when run alone) are made one transaction, sent in one round trip
(core.db.sql.WriteGroup); should it fail, each call runs again alone, so one run's refused
write fails only that run's call.

The thread waits on a queue of its own rather than being a ThreadPoolExecutor's worker:
handing a batch to a pool's thread (a future, a work item, the pool's locks and its idle
semaphore) cost the loop more CPU than the queue's put (measured: about 40 µs a hand-over,
and a run hands over about ten).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from queue import Empty, SimpleQueue
from typing import Any, TypeVar, cast

from core.db import sql

T = TypeVar("T")

# A coroutine's call: (its loop, its future, the call, whether it is a write that may
# share a transaction); or a `submit`: (None, the concurrent future, the call, False).
# None stops the thread.
_Work = tuple[
    asyncio.AbstractEventLoop | None,
    "asyncio.Future[Any] | Future[Any]",
    Callable[[], Any],
    bool,
]


class DbThread(Executor):
    """One thread, so one database connection, kept from call to call. `submit` works as
    for any executor (from any thread); `call` is for coroutines. Work runs in the order
    it was handed over."""

    def __init__(self, thread_name_prefix: str = "db") -> None:
        self._queue: SimpleQueue[_Work | None] = SimpleQueue()
        self._shutdown_lock = threading.Lock()
        self._shutdown = False
        # A daemon, as an idle pool thread is: it must not hold the interpreter's exit.
        self._thread = threading.Thread(
            target=self._serve, name=f"{thread_name_prefix}_0", daemon=True
        )
        self._thread.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._shutdown_lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((None, future, partial(fn, *args, **kwargs), False))
        return future

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the thread, after the work handed over before it."""
        return await self._call(partial(fn, *args, **kwargs), write=False)

    async def call_write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """As `call`, for a call whose writes go through core.db.sql.write: it may share
        one transaction with the writes handed over next to it."""
        return await self._call(partial(fn, *args, **kwargs), write=True)

    async def _call(self, fn: Callable[[], T], *, write: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._shutdown_lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((loop, future, fn, write))
        return await future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; the thread ends once what was handed over has run."""
        with self._shutdown_lock:
            if not self._shutdown:
                self._shutdown = True
                self._queue.put(None)
        if wait and self._thread is not threading.current_thread():
            self._thread.join()

    def run_call(self, fn: Callable[[], T]) -> T:
        """Runs each call of `call` on the thread (a subclass may retry it)."""
        return fn()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while first is not None:
                try:
                    first = self._queue.get_nowait()
                except Empty:
                    break
                batch.append(first)
            if not self._drain(batch):
                return

    def _drain(self, batch: list[_Work | None]) -> bool:
        """Run a batch in order; False once the stop marker was reached."""
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, Any]]] = {}
        try:
            index = 0
            while index < len(batch):
                work = batch[index]
                if work is None:
                    return False
                loop, future, fn, write = work
                if loop is None:
                    # A submitted job: what the loops asked before it is answered first.
                    _settle_all(settled)
                    _run_submitted(cast(Future, future), fn)
                    index += 1
                    continue
                writes = [work]
                while write and index + len(writes) < len(batch):
                    following = batch[index + len(writes)]
                    if following is None or following[0] is None or not following[3]:
                        break
                    writes.append(following)
                index += len(writes)
                calls = [
                    (loop, cast(asyncio.Future, future), fn)
                    for loop, future, fn, _ in writes
                    # A cancelled future: its caller stopped waiting before it began.
                    if loop is not None and not future.cancelled()
                ]
                if len(calls) > 1 and self._run_grouped(calls, settled):
                    continue
                for loop, future, fn in calls:
                    try:
                        settled.setdefault(loop, []).append((future, self.run_call(fn), None))
                    except BaseException as exc:  # handed to the caller, as an executor does
                        settled.setdefault(loop, []).append((future, None, exc))
            return True
        finally:
            _settle_all(settled)

    def _run_grouped(
        self,
        calls: list[tuple[asyncio.AbstractEventLoop, asyncio.Future, Callable[[], Any]]],
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, Any]]],
    ) -> bool:
        """The calls' writes as one transaction; False, with nothing committed or
        answered, if that failed (each call then runs alone)."""
        try:
            with sql.grouped() as group:
                results = [fn() for _loop, _future, fn in calls]
            self.run_call(group.commit)
        except BaseException:  # each call, run alone, hands its own error to its caller
            return False
        for (loop, future, _fn), result in zip(calls, results, strict=True):
            settled.setdefault(loop, []).append((future, result, None))
        return True


def _run_submitted(future: Future[Any], fn: Callable[[], Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn()
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _settle_all(
    settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, Any]]],
) -> None:
    for loop, results in settled.items():
        try:
            loop.call_soon_threadsafe(_settle, results)
        except RuntimeError:  # the loop was closed: nobody waits for these any more
            pass
    settled.clear()


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
