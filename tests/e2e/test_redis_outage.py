"""A Redis outage while a run streams, on a private redis-server that the test stops and
starts again: the worker keeps the events it could not publish and sends them once Redis
is back, the reader gets an error event it resumes from, and a queued run starts at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.e2e.stack import RedisServer, Stack, private_stack
from tests.e2e.test_faults import wait_status
from tests.e2e.test_multitask_strategies import human

pytestmark = pytest.mark.e2e

TICKS = 16
INTERVAL = 0.25
# Far beyond the test's waits: a queued run that starts did not wait for the sweeper.
REDISPATCH_AFTER = 120


@pytest.fixture
def outage_stack(tmp_path) -> Iterator[tuple[Stack, RedisServer]]:
    env = {"SPINDLE_REDISPATCH_AFTER_SECONDS": str(REDISPATCH_AFTER)}
    with private_stack("outage", tmp_path, persistent_redis=True, env=env) as (stack, redis_server):
        stack.start_web()
        stack.start_worker()
        stack.start_sweeper()
        yield stack, redis_server


def ticks(parts: list[Any]) -> list[int]:
    return [part.data["tick"] for part in parts if part.event == "custom"]


async def test_a_reader_resumed_after_a_redis_outage_gets_every_event_once(outage_stack) -> None:
    stack, redis_server = outage_stack
    client = get_client(url=stack.url, timeout=60)
    tid = (await client.threads.create())["thread_id"]
    config = {"configurable": {"ticks": TICKS, "interval": INTERVAL}}
    seen: list[Any] = []
    run_id = None
    async for part in client.runs.stream(
        tid,
        "ticker",
        input=human("tick"),
        config=config,
        stream_mode=["custom"],
        stream_resumable=True,
    ):
        seen.append(part)
        if part.event == "metadata":
            run_id = part.data["run_id"]
            # Queued behind the streaming run: its dispatch falls in the outage.
            queued = await client.runs.create(tid, "echo", input=human("queued"))
        if part.event == "custom" and part.data["tick"] == 2:
            redis_server.stop()
            stopped = time.monotonic()
    assert run_id is not None
    # The reader was told, and it got every event up to the outage with an id.
    assert seen[-1].event == "error"
    assert seen[-1].data["error"] == "ServiceUnavailable"
    delivered = [part for part in seen if part.event != "error"]
    assert ticks(delivered) == [0, 1, 2]
    last_id = delivered[-1].id
    assert last_id

    # The run goes on without Redis and ends during the outage.
    assert await wait_status(client, tid, run_id, {"success", "error"}) == "success"
    assert (await client.runs.get(tid, queued["run_id"]))["status"] == "pending"
    outage = time.monotonic() - stopped
    redis_server.start()
    back = time.time()

    resumed = [part async for part in client.runs.join_stream(tid, run_id, last_event_id=last_id)]
    assert ticks(resumed) == list(range(3, TICKS)), [p.event for p in resumed]
    assert all(part.event != "error" for part in resumed)
    ids = [part.id for part in delivered + resumed]
    assert len(set(ids)) == len(ids) and ids == sorted(
        ids, key=lambda i: tuple(map(int, i.split("-")))
    )

    # A replay from the start holds every event exactly once.
    replay = [part async for part in client.runs.join_stream(tid, run_id, last_event_id="-1")]
    assert ticks(replay) == list(range(TICKS))
    assert [part.event for part in replay].count("metadata") == 1

    # The queued run's dispatch, refused during the outage, was sent once Redis answered.
    assert (
        await wait_status(client, tid, queued["run_id"], {"success", "error"}, timeout=60)
        == "success"
    )
    [(started,)] = stack.sql(
        "select extract(epoch from started_at) from runs_run where run_id = %s", queued["run_id"]
    )
    waited = float(started) - back
    print(f"outage {outage:.1f}s; queued run started {waited:.1f}s after Redis was back")
    assert waited < REDISPATCH_AFTER / 2
