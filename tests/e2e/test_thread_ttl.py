"""Thread TTLs end to end: beat deletes an expired idle thread with its runs and
checkpoints, and never a busy one."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.test_multitask_strategies import contents, human, until_running

pytestmark = pytest.mark.e2e


def _rows(stack, thread_id: str) -> tuple[int, int, int]:
    [(threads, runs, checkpoints)] = stack.sql(
        "SELECT (SELECT count(*) FROM threads_thread WHERE thread_id = %s),"
        " (SELECT count(*) FROM runs_run WHERE thread_id = %s),"
        " (SELECT count(*) FROM threads_checkpoint WHERE thread_id = %s)",
        thread_id,
        thread_id,
        thread_id,
    )
    return threads, runs, checkpoints


async def _gone(client, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code == 404
    return False


async def test_an_expired_thread_goes_with_its_runs_and_checkpoints(client, stack) -> None:
    thread = await client.threads.create(ttl=0.05)  # 3 s
    tid = thread["thread_id"]
    values = await client.runs.wait(tid, "echo", input=human("remember me"))
    assert contents(values)[-1] == ("ai", "remember me")
    threads, runs, checkpoints = _rows(stack, tid)
    assert (threads, runs) == (1, 1) and checkpoints > 0
    deadline = asyncio.get_running_loop().time() + 30
    while not await _gone(client, tid):
        assert asyncio.get_running_loop().time() < deadline, "the expired thread was never swept"
        await asyncio.sleep(0.3)
    assert _rows(stack, tid) == (0, 0, 0)


async def test_a_busy_thread_is_never_deleted_and_goes_once_idle(client, stack) -> None:
    thread = await client.threads.create(ttl=0.01)  # 0.6 s
    tid = thread["thread_id"]
    run = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 2.5}}
    )
    await until_running(client, tid, run["run_id"])
    # Several sweeps (one a second) pass while the run goes on: the thread stays.
    await asyncio.sleep(3)
    assert (await client.threads.get(tid))["status"] == "busy"
    await client.runs.join(tid, run["run_id"])
    deadline = asyncio.get_running_loop().time() + 30
    while not await _gone(client, tid):
        assert asyncio.get_running_loop().time() < deadline, "the thread was not swept once idle"
        await asyncio.sleep(0.3)
    assert _rows(stack, tid) == (0, 0, 0)
