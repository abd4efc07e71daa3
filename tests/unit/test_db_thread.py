"""core/db/thread.py: a loop's calls run on one thread, in order, handed over in batches."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from core.db.thread import DbThread, off_loop


async def test_calls_run_in_order_on_the_thread_and_return_their_results() -> None:
    pool = DbThread()
    try:
        order: list[int] = []

        def record(n: int) -> tuple[int, str]:
            order.append(n)
            return n * 10, threading.current_thread().name

        results = await asyncio.gather(*(pool.call(record, n) for n in range(20)))

        assert order == list(range(20))
        assert [value for value, _name in results] == [n * 10 for n in range(20)]
        assert {name for _value, name in results} == {results[0][1]}
        assert results[0][1] != threading.current_thread().name
    finally:
        pool.shutdown()


async def test_calls_made_while_the_thread_is_busy_run_as_one_job() -> None:
    pool = DbThread()
    try:
        release = threading.Event()
        drains = 0
        drain = pool._drain

        def counting_drain(batch: list[Any]) -> bool:
            nonlocal drains
            drains += 1
            return drain(batch)

        pool._drain = counting_drain  # type: ignore[method-assign]
        blocker = pool.submit(release.wait)  # the thread is busy until released
        while not blocker.running():
            await asyncio.sleep(0.001)
        calls = [asyncio.ensure_future(pool.call(lambda n=n: n)) for n in range(10)]
        await asyncio.sleep(0.05)
        release.set()

        assert await asyncio.gather(*calls) == list(range(10))
        assert blocker.result() is True
        assert drains == 2  # the blocker's batch, then the ten calls as one
    finally:
        pool.shutdown()


async def test_an_exception_reaches_its_caller_only() -> None:
    pool = DbThread()
    try:

        def fail() -> None:
            raise ValueError("refused")

        first, second, third = await asyncio.gather(
            pool.call(lambda: 1), pool.call(fail), pool.call(lambda: 3), return_exceptions=True
        )

        assert first == 1 and third == 3
        assert isinstance(second, ValueError) and str(second) == "refused"
        assert await pool.call(lambda: "still serving") == "still serving"
    finally:
        pool.shutdown()


async def test_a_call_whose_caller_stopped_waiting_before_it_began_is_skipped() -> None:
    pool = DbThread()
    try:
        release = threading.Event()
        ran: list[str] = []
        pool.submit(release.wait)
        first = asyncio.ensure_future(pool.call(ran.append, "first"))
        dropped = asyncio.ensure_future(pool.call(ran.append, "dropped"))
        await asyncio.sleep(0.01)
        dropped.cancel()
        release.set()

        await first
        with pytest.raises(asyncio.CancelledError):
            await dropped
        await pool.call(ran.append, "after")
        assert ran == ["first", "after"]
    finally:
        pool.shutdown()


async def test_off_loop_takes_any_executor() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as plain:
        assert await off_loop(plain, lambda a, b: a + b, 2, b=3) == 5
    pool = DbThread()
    try:
        assert await off_loop(pool, lambda a, b: a + b, 2, b=3) == 5
    finally:
        pool.shutdown()
