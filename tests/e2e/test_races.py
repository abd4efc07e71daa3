"""Many clients double-texting the same threads at once with random strategies, then the
run invariants checked in the database behind the API."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.factories import human

pytestmark = pytest.mark.e2e

STRATEGIES = ["reject", "enqueue", "interrupt", "rollback"]

TWO_RUNNING = """
    select thread_id from runs_run where status = 'running' and thread_id = any(%s::uuid[])
    group by thread_id having count(*) > 1
"""
BUSY_MISMATCH = """
    select t.thread_id, t.status from threads_thread t
    where t.thread_id = any(%s::uuid[])
      and (t.status = 'busy') <> exists (
        select 1 from runs_run r where r.thread_id = t.thread_id and r.status in ('pending', 'running'))
"""
STILL_ACTIVE = "select status from runs_run where run_id = %s and status in ('pending', 'running')"
ORPHAN_CHECKPOINTS = """
    select count(*) from threads_checkpoint c
    where c.thread_id = any(%s)
      and not exists (select 1 from runs_run r where r.run_id::text = c.run_id)
"""
ENQUEUE_ORDER = """
    select thread_id, array_agg(run_id::text order by created_at, run_id) as by_created,
           array_agg(run_id::text order by started_at, run_id) as by_started
    from runs_run where started_at is not null and thread_id = any(%s::uuid[])
    group by thread_id
"""


async def double_text(
    clients: list, stack, threads: list[str], *, seed: int
) -> tuple[list[tuple[str, str]], int]:
    """Four texters per thread, six runs each, random strategies and graphs, each request
    through a random client; waits for every surviving run to end, checking meanwhile that
    no thread ever has two running runs. Returns the runs created and the count refused."""
    rng = random.Random(seed)
    created: list[tuple[str, str]] = []
    refused = 0

    async def texter(tid: str, n: int) -> None:
        nonlocal refused
        for i in range(n):
            strategy = rng.choice(STRATEGIES)
            graph = rng.choice(["echo", "agent"])
            try:
                run = await rng.choice(clients).runs.create(
                    tid,
                    graph,
                    input=human(f"weather in c{i}?"),
                    multitask_strategy=strategy,
                    config={"configurable": {"delay": 0.05}},
                )
                created.append((tid, run["run_id"]))
            except httpx.HTTPStatusError as exc:
                assert exc.response.status_code == 409
                refused += 1
            await asyncio.sleep(rng.random() * 0.05)

    violations: list = []

    async def watch() -> None:
        while not done.is_set():
            violations.extend(stack.sql(TWO_RUNNING, threads))
            await asyncio.sleep(0.02)

    done = asyncio.Event()
    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(texter(tid, 6) for tid in threads for _ in range(4)))

    # Let every surviving run end: a join answers once the run is final (or deleted by a
    # rollback), so none may still be pending or running after it.
    for tid, rid in created:
        await rng.choice(clients).http.get(f"/threads/{tid}/runs/{rid}/join")
        assert stack.sql(STILL_ACTIVE, rid) == [], f"run {rid} still active after its join answered"
    done.set()
    await watcher
    await asyncio.sleep(1)
    assert violations == [], "two running runs on one thread"
    assert len(created) + refused == len(threads) * 4 * 6
    return created, refused


def assert_invariants(stack, threads: list[str]) -> None:
    assert stack.sql(BUSY_MISMATCH, threads) == []
    assert stack.sql(
        "select count(*) from runs_run where status in ('pending','running') and thread_id = any(%s::uuid[])",
        threads,
    ) == [(0,)]
    assert stack.sql(ORPHAN_CHECKPOINTS, threads) == [(0,)]
    for thread_id, by_created, by_started in stack.sql(ENQUEUE_ORDER, threads):
        assert by_created == by_started, f"runs of {thread_id} did not start in creation order"


async def test_concurrent_double_texting_keeps_every_invariant(client, stack) -> None:
    threads = [(await client.threads.create())["thread_id"] for _ in range(3)]
    _created, refused = await double_text([client], stack, threads, seed=20261123)
    assert_invariants(stack, threads)
    statuses = stack.sql(
        "select status, count(*) from runs_run where thread_id = any(%s::uuid[]) group by status",
        threads,
    )
    print("run statuses:", dict(statuses), "refused:", refused)
