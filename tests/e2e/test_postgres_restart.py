"""A PostgreSQL restart under a working stack, on a private PostgreSQL the test starts
itself: the API answers 503 while it is down and recovers after; runs in flight end or go
on, queued runs run, and nothing is left stuck."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from langgraph_sdk import get_client

from tests.e2e.stack import PostgresServer, RedisServer, Stack, free_port, fresh_database, stack_env
from tests.e2e.test_faults import wait_status
from tests.e2e.test_multitask_strategies import human

pytestmark = pytest.mark.e2e

STALE_AFTER = 3


@pytest.fixture
def pg_stack(tmp_path) -> Iterator[tuple[Stack, PostgresServer]]:
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("needs initdb and pg_ctl on PATH")
    if not os.environ.get("REDIS_URL"):
        pytest.skip("fault tests need redis-server (set REDIS_URL)")
    postgres = PostgresServer()
    redis_server = RedisServer(tmp_path)
    stack = None
    try:
        postgres.start()
        redis_server.start()
        db_url = fresh_database("spindle_pg_restart", base=postgres.url)
        env = stack_env(redis_url=redis_server.url, db_url=db_url)
        stack = Stack(
            url=f"http://127.0.0.1:{free_port()}", db_url=db_url, env=env, log_dir=tmp_path
        )
        stack.start_web()
        stack.start_worker()
        stack.start_sweeper()
        yield stack, postgres
    except Exception:
        if stack is not None:
            print(stack.logs())
        raise
    finally:
        if stack is not None:
            stack.stop()
        redis_server.stop()
        postgres.remove()


async def test_a_postgres_restart_loses_nothing_and_the_api_recovers(pg_stack) -> None:
    stack, postgres = pg_stack
    client = get_client(url=stack.url, timeout=60)
    threads = [(await client.threads.create())["thread_id"] for _ in range(3)]
    runs: list[tuple[str, str]] = []
    for tid in threads:
        for delay in (1, 0):  # one in flight across the restart, one queued behind it
            run = await client.runs.create(
                tid,
                "agent",
                input=human("weather in sf?"),
                config={"configurable": {"delay": delay}},
            )
            runs.append((tid, run["run_id"]))
    for tid, rid in runs[::2]:
        await wait_status(client, tid, rid, {"running", "success", "error"})

    postgres.stop("fast")
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        down = await http.get(f"/threads/{threads[0]}")
        assert down.status_code == 503, down.text
        assert "detail" in down.json()
        refused = await http.post(
            f"/threads/{threads[0]}/runs", json={"assistant_id": "echo", "input": human("x")}
        )
        assert refused.status_code == 503, refused.text
        await asyncio.sleep(1)
        postgres.start()
        back = time.monotonic()
        while (await http.get(f"/threads/{threads[0]}")).status_code != 200:
            assert time.monotonic() - back < 30, "the API did not recover"
            await asyncio.sleep(0.1)
        api_recovery = time.monotonic() - back
        # Recovered for good: no request meets a connection the restart left dead.
        for _ in range(20):
            assert (await http.get(f"/threads/{threads[1]}")).status_code == 200

    statuses = [
        await wait_status(client, tid, rid, {"success", "error"}, timeout=60) for tid, rid in runs
    ]
    runs_recovery = time.monotonic() - back
    print(
        f"API answered {api_recovery:.1f}s after PostgreSQL was back; every run final after {runs_recovery:.1f}s;"
        f" statuses {statuses}"
    )
    assert stack.sql("select count(*) from runs_run where status in ('pending', 'running')") == [
        (0,)
    ]
    assert stack.sql(
        "select count(*) from threads_thread t where (t.status = 'busy') <> exists"
        " (select 1 from runs_run r where r.thread_id = t.thread_id and r.status in ('pending', 'running'))"
    ) == [(0,)]
    # The stack still executes runs, on every thread.
    for tid in threads:
        final = await client.runs.wait(tid, "echo", input=human("after"))
        assert final["messages"][-1]["content"] == "after"
