"""Crons end to end: beat (django-celery-beat's DatabaseScheduler in the worker) fires an
every-minute schedule, and each firing is an ordinary run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from tests.e2e.test_multitask_strategies import contents, human

pytestmark = pytest.mark.e2e


async def _wait_for(check, *, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{what} within {timeout}s"
        await asyncio.sleep(0.5)


async def test_every_minute_crons_fire_and_their_runs_are_ordinary_runs(client, stack) -> None:
    # Room before the next minute boundary to create the crons, let beat load them and delete one.
    if datetime.now(UTC).second > 40:
        await asyncio.sleep(61 - datetime.now(UTC).second)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    thread_cron = await client.crons.create_for_thread(
        tid,
        "agent",
        schedule="* * * * *",
        input=human("weather in sf?"),
        config={"configurable": {"delay": 1.5}},
    )
    user = f"cron-{uuid.uuid4().hex[:8]}"
    stateless = await client.crons.create(
        "memory", schedule="* * * * *", input={"user": user}, on_run_completed="delete"
    )
    assert stateless["on_run_completed"] == "delete"
    doomed_thread = (await client.threads.create())["thread_id"]
    doomed = await client.crons.create_for_thread(
        doomed_thread, "echo", schedule="* * * * *", input=human("never")
    )
    assert (await client.crons.count()) >= 3
    # Beat looks for changed schedules every 5 s: it has loaded the doomed cron, which is then
    # deleted before the boundary, where the others fire and it must not.
    await asyncio.sleep(6)
    await client.crons.delete(doomed["cron_id"])

    # The first firing, at the next minute boundary.
    runs = await _wait_for(lambda: client.runs.list(tid), timeout=80, what="the thread cron fired")
    assert len(runs) == 1
    run = runs[0]
    assert run["kwargs"]["config"]["configurable"]["cron_id"] == thread_cron["cron_id"]
    # Deleting the cron stops the schedule, not the run in flight.
    await client.crons.delete(thread_cron["cron_id"])
    assert (await client.runs.join(tid, run["run_id"])) and (
        await client.runs.get(tid, run["run_id"])
    )["status"] == "success"
    assert contents((await client.threads.get_state(tid))["values"])[-1][0] == "ai"

    # The stateless cron's run wrote to the store, then its thread went (on_run_completed=delete).
    await _wait_for(
        lambda: client.store.get_item(["memories", user], "from_graph"),
        timeout=30,
        what="the stateless run wrote",
    )
    cron_id = stateless["cron_id"]

    def leftovers() -> list[tuple]:
        return stack.sql(
            "SELECT count(*) FROM runs_run WHERE kwargs->'config'->'configurable'->>'cron_id' = %s",
            cron_id,
        )

    async def no_leftovers() -> bool:
        return leftovers() == [(0,)]

    await _wait_for(no_leftovers, timeout=30, what="the stateless cron's thread was deleted")
    await client.crons.delete(cron_id)

    # The cron deleted before the boundary never fired, though the others fired at it.
    assert await client.runs.list(doomed_thread) == []
    assert await client.crons.search(thread_id=tid) == []
    assert await client.crons.search(thread_id=doomed_thread) == []
