"""Waiting protocol readers hold no thread and no database connection: twice the web
process's pool of streams (SSE and websocket) wait on one thread while the API keeps
answering, then all of them receive the run a command starts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.protocol_clients import command, event_stream, is_root_lifecycle, read_until

pytestmark = pytest.mark.e2e


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


async def test_waiting_readers_hold_no_thread_and_no_database_connection(stack: Any) -> None:
    pool_size = int(stack.env["SPINDLE_DB_POOL_SIZE"])
    web = stack.processes["web"].pid
    thread_id = str(uuid.uuid4())
    opened = asyncio.Event()
    ready: list[None] = []
    streams = 2 * pool_size

    async def reader(transport: str) -> list[dict[str, Any]]:
        async with event_stream(
            stack.url, thread_id, {"channels": ["lifecycle", "values"]}, transport
        ) as events:
            ready.append(None)
            if len(ready) == streams:
                opened.set()
            return await read_until(
                events, lambda e, seen: is_root_lifecycle(e, "completed", "failed"), timeout=120
            )

    before = threads_of(web)
    readers = [asyncio.create_task(reader("sse" if i % 4 else "websocket")) for i in range(streams)]
    await asyncio.wait_for(opened.wait(), 60)
    await asyncio.sleep(1)  # every reader is now blocked in Redis (the thread does not exist yet)
    assert threads_of(web) - before < 10

    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as http:
        # More requests than the pool has connections: none waits for one a reader holds.
        answers = await asyncio.gather(
            *(http.post("/assistants/search", json={}) for _ in range(pool_size + 5))
        )
    assert {a.status_code for a in answers} == {200}

    started = await command(
        stack.url,
        thread_id,
        "run.start",
        {"assistant_id": "echo", "input": {"messages": [{"role": "human", "content": "hi"}]}},
    )
    assert started.json()["type"] == "success"
    received = await asyncio.wait_for(asyncio.gather(*readers), 120)
    assert all(
        [e["method"] for e in events][0] == "lifecycle"
        and is_root_lifecycle(events[-1], "completed")
        for events in received
    )
    assert len({tuple(e["seq"] for e in events) for events in received}) == 1  # numbered alike
