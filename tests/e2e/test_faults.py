"""Faults against private stacks: a worker killed mid-run, a graph stuck in synchronous
code rolled back, Redis restarted while runs are queued. Nothing may be lost or stuck."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.e2e.stack import RedisServer, Stack, private_stack
from tests.e2e.test_multitask_strategies import NYC, contents, human, until_running

pytestmark = pytest.mark.e2e


@pytest.fixture
def private(tmp_path) -> Iterator[tuple[Stack, RedisServer]]:
    with private_stack("fault", tmp_path) as (stack, redis_server):
        stack.start_web()
        stack.start_sweeper()
        yield stack, redis_server


@pytest.fixture
def private_slow_sweep(tmp_path) -> Iterator[tuple[Stack, RedisServer]]:
    """A private stack whose sweeper takes a run for lost only after a minute: whatever ends
    a dead process's runs sooner is the pool's notice of the exit."""
    env = {"SPINDLE_STALE_AFTER_SECONDS": "60"}
    with private_stack("fault", tmp_path, env=env) as (stack, redis_server):
        stack.start_web()
        stack.start_sweeper()
        yield stack, redis_server


async def wait_status(client, tid: str, rid: str, wanted: set[str], timeout: float = 30) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = (await client.runs.get(tid, rid))["status"]
        if status in wanted:
            return status
        assert asyncio.get_running_loop().time() < deadline, f"run {rid} stuck in {status}"
        await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_run_ends_the_run_and_the_thread_moves_on(private) -> None:
    stack, _ = private
    stack.start_worker()
    client = get_client(url=stack.url, timeout=60)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 2}}
    )
    second = await client.runs.create(
        tid, "agent", input=human("weather in nyc?"), config={"configurable": {"delay": 0}}
    )
    await until_running(client, tid, first["run_id"])
    stack.kill("worker")  # SIGKILL to the worker and its pool children
    stack.start_worker("worker2")
    assert await wait_status(client, tid, first["run_id"], {"error", "success"}) == "error"
    joined = await client.http.get(f"/threads/{tid}/runs/{first['run_id']}/join")
    assert joined["__error__"]["error"] == "WorkerLost"
    assert await wait_status(client, tid, second["run_id"], {"success", "error"}) == "success"
    assert contents((await client.threads.get_state(tid))["values"])[-4:] == NYC
    assert (await client.threads.get(tid))["status"] == "idle"
    assert stack.sql("select count(*) from runs_run where status in ('running', 'pending')") == [
        (0,)
    ]


async def test_a_killed_master_s_runs_are_ended_by_the_sweeper_with_no_worker_alive(
    private,
) -> None:
    stack, _ = private
    stack.start_worker()
    client = get_client(url=stack.url, timeout=60)
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 5}}
    )
    second = await client.runs.create(tid, "echo", input=human("next"))
    await until_running(client, tid, first["run_id"])
    killed = time.monotonic()
    stack.kill("worker")  # SIGKILL to the master and its pool children: no worker is left
    assert await wait_status(client, tid, first["run_id"], {"error", "success"}) == "error"
    recovery = time.monotonic() - killed
    print(f"run ended {recovery:.1f}s after its master was killed (stale after 3s, sweep every 1s)")
    joined = await client.http.get(f"/threads/{tid}/runs/{first['run_id']}/join")
    assert joined["__error__"]["error"] == "WorkerLost"
    # The thread moved on: its next run was dispatched, and the next worker executes it.
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "pending"
    stack.start_worker("worker2")
    assert await wait_status(client, tid, second["run_id"], {"success", "error"}) == "success"
    assert (await client.threads.get(tid))["status"] == "idle"


async def start_stuck_run(stack: Stack, graph: str) -> tuple[Any, str, dict]:
    """A worker, and a run of `graph` stuck in synchronous code after its first node."""
    stack.start_worker()
    client = get_client(url=stack.url, timeout=60)
    tid = (await client.threads.create())["thread_id"]
    stuck = await client.runs.create(
        tid, graph, input=human("sleep"), config={"configurable": {"sleep": 120}}
    )
    await until_running(client, tid, stuck["run_id"])
    # The input's checkpoint: the graph has loaded (which can take a second on a loaded
    # machine) and started.
    deadline = asyncio.get_running_loop().time() + 30
    while stack.sql(
        "select count(*) from threads_checkpoint where run_id = %s", stuck["run_id"]
    ) == [(0,)]:
        assert asyncio.get_running_loop().time() < deadline, (
            "the stuck run never wrote a checkpoint"
        )
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # past the first node
    return client, tid, stuck


@pytest.mark.parametrize(
    "graph", ["sleeper", "blocker"], ids=["sync-node-thread", "blocked-event-loop"]
)
async def test_a_graph_stuck_in_sync_code_is_terminated_after_the_grace_period(
    private, graph: str
) -> None:
    stack, _ = private
    client, tid, stuck = await start_stuck_run(stack, graph)
    assert (
        stack.sql("select count(*) from threads_checkpoint where run_id = %s", stuck["run_id"])[0][
            0
        ]
        > 0
    )
    new = await client.runs.create(tid, "echo", input=human("hello"), multitask_strategy="rollback")
    await client.runs.join(tid, new["run_id"])
    assert contents((await client.threads.get_state(tid))["values"]) == [
        ("human", "hello"),
        ("ai", "hello"),
    ]
    await asyncio.sleep(3)  # past the 2 s grace period
    for table in ("threads_checkpoint", "threads_checkpointwrite", "threads_checkpointblob"):
        assert stack.sql(f"select count(*) from {table} where run_id = %s", stuck["run_id"]) == [
            (0,)
        ]
    stack.wait_for_log("worker", "did not stop within")
    # The pool replaced the terminated process: the worker still executes runs.
    again = await client.runs.wait(tid, "echo", input=human("still there?"))
    assert contents(again)[-1] == ("ai", "still there?")
    with pytest.raises(httpx.HTTPStatusError):
        await client.runs.get(tid, stuck["run_id"])


@pytest.mark.parametrize(
    "graph", ["sleeper", "blocker"], ids=["sync-node-thread", "blocked-event-loop"]
)
async def test_an_interrupted_graph_stuck_in_sync_code_leaves_the_thread_the_state_it_wrote(
    private, graph: str
) -> None:
    stack, _ = private
    client, tid, stuck = await start_stuck_run(stack, graph)
    await client.runs.cancel(tid, stuck["run_id"])  # interrupt: the worker is terminated after 2 s
    assert (
        await wait_status(client, tid, stuck["run_id"], {"interrupted", "error", "success"})
        == "interrupted"
    )
    after = await client.threads.get(tid)
    state = await client.threads.get_state(tid)
    assert contents(after["values"]) == contents(state["values"])
    # The first node's checkpoint is written in the background (durability "async"): a
    # blocked event loop never gets to write it.
    assert contents(state["values"])[0] == ("human", "sleep")
    assert after["status"] == "interrupted"


async def test_runs_queued_across_a_redis_restart_all_complete(private) -> None:
    stack, redis_server = private
    client = get_client(url=stack.url, timeout=60)
    threads = [await client.threads.create() for _ in range(3)]
    runs = [
        (
            t["thread_id"],
            (await client.runs.create(t["thread_id"], "echo", input=human(f"m{i}")))["run_id"],
        )
        for i, t in enumerate(threads)
        for _ in range(2)
    ]
    redis_server.stop()  # no worker yet: every queued message is lost with Redis
    redis_server.start()
    stack.start_worker()
    for tid, rid in runs:
        assert await wait_status(client, tid, rid, {"success", "error"}, timeout=60) == "success"
    assert stack.sql("select count(*) from runs_run where status <> 'success'") == [(0,)]


async def test_a_redis_restart_under_a_running_worker_loses_no_run(private) -> None:
    stack, redis_server = private
    stack.start_worker()
    client = get_client(url=stack.url, timeout=60)
    tid = (await client.threads.create())["thread_id"]
    assert contents(await client.runs.wait(tid, "echo", input=human("before")))[-1] == (
        "ai",
        "before",
    )
    redis_server.stop()
    redis_server.start()
    # The worker and the web process reconnect; queued messages lost with Redis are
    # dispatched again by the sweeper.
    runs = [
        (await client.runs.create(tid, "echo", input=human(f"after {i}")))["run_id"]
        for i in range(3)
    ]
    for rid in runs:
        assert await wait_status(client, tid, rid, {"success", "error"}, timeout=60) == "success"
    assert contents((await client.threads.get_state(tid))["values"])[-1] == ("ai", "after 2")


async def test_a_redis_restart_during_a_run_keeps_the_worker_alive(private) -> None:
    stack, redis_server = private
    worker = stack.start_worker()
    client = get_client(url=stack.url, timeout=60)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "sleeper", input=human("sleep"), config={"configurable": {"sleep": 3}}
    )
    await wait_status(client, tid, run["run_id"], {"running"})
    redis_server.stop()
    redis_server.start()
    assert (
        await wait_status(client, tid, run["run_id"], {"success", "error"}, timeout=60) == "success"
    )
    after = await client.runs.create(tid, "echo", input=human("after"))
    assert (
        await wait_status(client, tid, after["run_id"], {"success", "error"}, timeout=60)
        == "success"
    )
    assert worker.poll() is None, stack.logs()
    assert "Unrecoverable error" not in (stack.log_dir / "worker.log").read_text()


def _pid_of(worker: str) -> int:
    """The pid in a run's `worker` column (node@host:pid)."""
    return int(worker.rsplit(":", 1)[1])


async def test_a_pool_process_killed_mid_run_ends_its_runs_at_once_and_the_thread_moves_on(
    private_slow_sweep,
) -> None:
    stack, _ = private_slow_sweep
    master = stack.start_worker(concurrency=2)
    client = get_client(url=stack.url, timeout=60)
    slow = {"configurable": {"delay": 2}}
    runs = []
    for i in range(4):
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, "agent", input=human(f"weather in c{i}?"), config=slow)
        runs.append((tid, run["run_id"]))
    for tid, rid in runs:
        await until_running(client, tid, rid)
    workers = dict(stack.sql("select run_id::text, worker from runs_run"))
    victim = _pid_of(workers[runs[0][1]])
    assert workers[runs[0][1]].startswith("worker@") and victim != master.pid
    on_victim = [(tid, rid) for tid, rid in runs if _pid_of(workers[rid]) == victim]
    survivors = [(tid, rid) for tid, rid in runs if _pid_of(workers[rid]) != victim]
    next_on_thread = await client.runs.create(
        runs[0][0], "agent", input=human("weather in nyc?"), config={"configurable": {"delay": 0}}
    )

    killed_at = asyncio.get_running_loop().time()
    os.kill(victim, 9)
    for tid, rid in on_victim:
        assert await wait_status(client, tid, rid, {"error", "success"}, timeout=20) == "error"
    ended_after = asyncio.get_running_loop().time() - killed_at
    print(f"runs of the killed pool process ended {ended_after:.2f}s after the kill")
    assert ended_after < 20  # far below the 60 s stale limit: the pool's notice, not the sweep

    joined = await client.http.get(f"/threads/{runs[0][0]}/runs/{runs[0][1]}/join")
    assert joined["__error__"]["error"] == "WorkerLost"
    assert (
        await wait_status(client, runs[0][0], next_on_thread["run_id"], {"success", "error"})
        == "success"
    )
    assert contents((await client.threads.get_state(runs[0][0]))["values"])[-4:] == NYC
    for tid, rid in survivors:  # the other pool process's runs go on
        assert await wait_status(client, tid, rid, {"success", "error"}) == "success"
    stack.wait_for_log("worker", "running runs ended as error")


async def test_runs_sharing_a_process_with_a_stuck_run_end_as_error_with_the_reason(
    private,
) -> None:
    stack, _ = private
    stack.start_worker(concurrency=1)  # one pool process: every run shares it
    client = get_client(url=stack.url, timeout=60)
    stuck_tid = (await client.threads.create())["thread_id"]
    stuck = await client.runs.create(
        stuck_tid, "sleeper", input=human("sleep"), config={"configurable": {"sleep": 120}}
    )
    others = []
    for i in range(3):
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(
            tid, "agent", input=human(f"weather in c{i}?"), config={"configurable": {"delay": 3}}
        )
        others.append((tid, run["run_id"]))
    for tid, rid in [(stuck_tid, stuck["run_id"]), *others]:
        await until_running(client, tid, rid)

    await client.runs.cancel(
        stuck_tid, stuck["run_id"]
    )  # stuck in time.sleep: the process goes after 2 s

    assert (
        await wait_status(client, stuck_tid, stuck["run_id"], {"interrupted", "error", "success"})
        == "interrupted"
    )
    for tid, rid in others:
        assert await wait_status(client, tid, rid, {"error", "success"}) == "error"
        joined = await client.http.get(f"/threads/{tid}/runs/{rid}/join")
        assert joined["__error__"]["error"] == "WorkerTerminated"
        assert stuck["run_id"] in joined["__error__"]["message"]
    # The pool replaced the process: runs execute again.
    again = await client.runs.wait(others[0][0], "echo", input=human("still there?"))
    assert contents(again)[-1] == ("ai", "still there?")
