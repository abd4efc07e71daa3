"""The async views' database calls (core.db.asyncdb): a few threads, each keeping its
connection, a slow call never holding up the others, a dropped connection replaced."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection

from access.context import Caller, current_caller, reset_caller, set_caller
from core.db.asyncdb import DbThreads, db

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL backends")


async def test_calls_keep_their_connection_and_a_dropped_one_is_replaced() -> None:
    # One call at a time: each goes to the first thread, on the connection it kept.
    first = await db(backend_pid)
    assert await db(backend_pid) == first

    await sync_to_async(terminate)(first)  # as a database restart would
    with pytest.raises(OperationalError):
        await db(backend_pid)

    replaced = await db(backend_pid)
    assert replaced != first
    assert await db(backend_pid) == replaced


async def test_a_call_waiting_on_one_thread_holds_up_no_call_handed_to_another() -> None:
    threads = DbThreads(2)
    release = threading.Event()

    def slow() -> str:
        assert release.wait(timeout=30), "never released"
        return "slow"

    waiting = asyncio.ensure_future(threads.call(slow))
    await asyncio.sleep(0)  # handed to the first thread, which now waits
    try:
        # The second thread answers while the first is still held.
        assert await asyncio.wait_for(threads.call(backend_pid), timeout=30) > 0
        assert not waiting.done()
    finally:
        release.set()
    assert await waiting == "slow"
    threads.shutdown()


async def test_a_call_runs_in_the_context_of_the_view_that_made_it() -> None:
    # Selectors read the request's caller, and the filters its auth handlers returned,
    # from the context: a database thread must not lose them.
    caller = Caller(user=object(), permissions=[], filters={"threads": {"owner": "a"}})
    token = set_caller(caller)
    try:
        assert await db(current_caller) is caller
    finally:
        reset_caller(token)
    assert await db(current_caller) is None
