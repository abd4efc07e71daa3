"""Scale-out: two web processes and two worker processes (different node names) on one
PostgreSQL and one Redis, driven by random double-texting clients: every invariant holds,
both workers execute runs, and every run ends exactly once."""

from __future__ import annotations

import os
import signal

import redis
from langgraph_sdk import get_client

from runs.streams import END_EVENT, events_key
from tests.e2e.stack import free_port
from tests.e2e.test_races import assert_invariants, double_text


async def test_two_webs_and_two_workers_keep_every_invariant(stack) -> None:
    second_url = f"http://127.0.0.1:{free_port()}"
    stack.start_web("web2", url=second_url)
    stack.start_worker("worker2", beat=False)
    try:
        clients = [get_client(url=url, timeout=60) for url in (stack.url, second_url)]
        threads = [(await clients[i % 2].threads.create())["thread_id"] for i in range(6)]

        created, refused = await double_text(clients, stack, threads, seed=20261130)

        assert_invariants(stack, threads)
        rows = stack.sql(
            "select run_id::text, status, attempt, worker from runs_run where thread_id = any(%s::uuid[])",
            threads,
        )
        assert {status for _, status, _, _ in rows} <= {"success", "interrupted", "error"}
        assert {node.split("@")[0] for *_, node in rows if node} == {"worker", "worker2"}, (
            "both workers executed runs"
        )
        events = redis.Redis.from_url(stack.env["REDIS_URL"])
        kept = {run_id for run_id, *_ in rows}
        for _tid, run_id in created:
            ends = [
                e
                for _id, e in events.xrange(events_key(run_id))
                if e[b"event"].decode() == END_EVENT
            ]
            # Every run ended exactly once; one rolled back is gone, with at most its "deleted" end.
            assert len(ends) == 1 if run_id in kept else len(ends) <= 1, (run_id, ends)
        assert all(attempt <= 1 for _, _, attempt, _ in rows), "a run was claimed twice"
        print(
            f"{len(created)} runs ({refused} refused) on {len(threads)} threads:",
            dict(
                stack.sql(
                    "select status, count(*) from runs_run where thread_id = any(%s::uuid[]) group by status",
                    threads,
                )
            ),
        )
    finally:
        for name in ("web2", "worker2"):
            proc = stack.processes.pop(name)
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
