"""Many runs at once in each worker process: agent runs that wait on their model overlap,
and a cancel or rollback of one leaves the runs beside it in the same process undisturbed."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import httpx
import pytest
from langgraph_sdk import get_client

from tests.e2e.test_multitask_strategies import contents, human, until_running

pytestmark = pytest.mark.e2e


def answer(city: str) -> list[tuple[str, str]]:
    return [
        ("human", f"weather in {city}?"),
        ("ai", ""),
        ("tool", f"Search result for 'weather in {city}': sunny, 72F."),
        ("ai", f"The weather in {city} is sunny and 72 degrees."),
    ]


async def test_twenty_agent_runs_started_at_once_execute_together(stack) -> None:
    """The session's worker runs with its default settings. Each run takes about 3 s (three
    steps of 1 s); executed two at a time they would take 30 s."""
    clients = [get_client(url=stack.url, timeout=60) for _ in range(20)]
    threads = [(await c.threads.create())["thread_id"] for c in clients]

    async def one(index: int) -> dict:
        return await clients[index].runs.wait(
            threads[index],
            "agent",
            input=human(f"weather in c{index}?"),
            config={"configurable": {"delay": 1}},
        )

    started = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(20)))
    elapsed = time.monotonic() - started
    print(f"20 agent runs of about 3 s each: {elapsed:.2f}s")
    for index, values in enumerate(results):
        assert contents(values) == answer(f"c{index}")
    assert elapsed < 8, "runs did not overlap"
    statuses = stack.sql(
        "select status, count(*) from runs_run where thread_id = any(%s::uuid[]) group by status",
        threads,
    )
    assert statuses == [("success", 20)]


async def _runs_sharing_a_process(
    client, stack, n: int = 6
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """n agent runs on n threads, all running; and the process (worker column) of each."""
    runs = []
    for i in range(n):
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(
            tid, "agent", input=human(f"weather in c{i}?"), config={"configurable": {"delay": 1}}
        )
        runs.append((tid, run["run_id"]))
    for tid, rid in runs:
        await until_running(client, tid, rid)
    workers = dict(
        stack.sql(
            "select run_id::text, worker from runs_run where run_id = any(%s::uuid[])",
            [rid for _, rid in runs],
        )
    )
    return runs, workers


@pytest.mark.parametrize("action", ["interrupt", "rollback"])
async def test_a_cancel_stops_one_run_and_the_others_in_its_process_go_on(
    client, stack, action: str
) -> None:
    runs, workers = await _runs_sharing_a_process(client, stack)
    by_process: dict[str, list[int]] = defaultdict(list)
    for index, (_tid, rid) in enumerate(runs):
        by_process[workers[rid]].append(index)
    # Six runs on two pool processes: at least one process holds several.
    shared = max(by_process.values(), key=len)
    assert len(shared) >= 2
    target = shared[0]
    tid, rid = runs[target]

    cancelled_at = time.monotonic()
    await client.runs.cancel(tid, rid, action=action)
    if action == "interrupt":
        await client.runs.join(tid, rid)
        assert (await client.runs.get(tid, rid))["status"] == "interrupted"
    else:
        while True:
            try:
                await client.runs.get(tid, rid)
            except httpx.HTTPStatusError as exc:
                assert exc.response.status_code == 404
                break
            await asyncio.sleep(0.02)
        # The rolled-back worker's late writes were refused: the thread is as before.
        assert (await client.threads.get_state(tid))["values"] == {}
    print(f"{action}: the run stopped {time.monotonic() - cancelled_at:.2f}s after the request")
    assert not stack.sql("select 1 from runs_run where run_id = %s and status = 'running'", rid)

    for index, (other_tid, other_rid) in enumerate(runs):
        if index == target:
            continue
        values = await client.runs.join(other_tid, other_rid)
        assert contents(values) == answer(f"c{index}")
        assert (await client.runs.get(other_tid, other_rid))["status"] == "success"
