"""Each multitask strategy against a run caught mid-flight, through langgraph_sdk."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.factories import human

pytestmark = pytest.mark.e2e

FAST = {"configurable": {"delay": 0.4}}


def contents(values: dict) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in values["messages"]]


SF = [
    ("human", "weather in sf?"),
    ("ai", ""),
    ("tool", "Search result for 'weather in sf': sunny, 72F."),
    ("ai", "The weather in sf is sunny and 72 degrees."),
]
NYC = [
    ("human", "weather in nyc?"),
    ("ai", ""),
    ("tool", "Search result for 'weather in nyc': sunny, 72F."),
    ("ai", "The weather in nyc is sunny and 72 degrees."),
]


async def until_running(client, thread_id: str, run_id: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.runs.get(thread_id, run_id))["status"] != "running":
        assert asyncio.get_running_loop().time() < deadline, "the run never started"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # inside its first node, its input checkpoint written


async def status_or_404(client, thread_id: str, run_id: str) -> str | int:
    try:
        return (await client.runs.get(thread_id, run_id))["status"]
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code


async def test_reject_refuses_and_writes_nothing(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, first["run_id"])
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        await client.runs.create(
            tid, "agent", input=human("weather in nyc?"), multitask_strategy="reject"
        )
    assert excinfo.value.response.status_code == 409
    assert excinfo.value.response.json() == {
        "detail": "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
    }
    await client.runs.join(tid, first["run_id"])
    assert [r["status"] for r in await client.runs.list(tid)] == ["success"]
    assert contents((await client.threads.get_state(tid))["values"]) == SF
    assert stack.sql("select count(*) from runs_run where thread_id = %s", tid) == [(1,)]


async def test_enqueue_runs_after_the_active_run_on_its_state(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, first["run_id"])
    second = await client.runs.create(tid, "agent", input=human("weather in nyc?"), config=FAST)
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "pending"
    assert (await client.threads.get(tid))["status"] == "busy"
    await client.runs.join(tid, second["run_id"])
    assert [r["status"] for r in await client.runs.list(tid)] == ["success", "success"]
    assert contents((await client.threads.get_state(tid))["values"]) == SF + NYC
    history = await client.threads.get_history(tid, limit=100)
    assert len(history) == 10
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_interrupt_stops_the_active_run_and_keeps_its_checkpoints(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    # The interrupt must land inside the first run's first node (its input checkpoint
    # written, its model step not): a node of 1.5 s leaves room for a busy machine, where
    # FAST's 0.4 s had let the node finish before the second create's interrupt arrived.
    first = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 1.5}}
    )
    await until_running(client, tid, first["run_id"])
    second = await client.runs.create(
        tid, "agent", input=human("weather in nyc?"), config=FAST, multitask_strategy="interrupt"
    )
    await client.runs.join(tid, second["run_id"])
    runs = await client.runs.list(tid)
    assert [(r["run_id"], r["status"]) for r in runs] == [
        (second["run_id"], "success"),
        (first["run_id"], "interrupted"),
    ]
    assert contents((await client.threads.get_state(tid))["values"]) == [
        ("human", "weather in sf?"),
        *NYC,
    ]
    history = await client.threads.get_history(tid, limit=100)
    assert {h["metadata"]["run_id"] for h in history} == {first["run_id"], second["run_id"]}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_interrupt_and_rollback_act_on_every_in_flight_run(client) -> None:
    for strategy, expected in (
        ("interrupt", ["interrupted", "interrupted"]),
        ("rollback", [404, 404]),
    ):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        r1 = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
        await until_running(client, tid, r1["run_id"])
        r2 = await client.runs.create(tid, "agent", input=human("weather in la?"), config=FAST)
        r3 = await client.runs.create(
            tid, "agent", input=human("weather in nyc?"), config=FAST, multitask_strategy=strategy
        )
        await client.runs.join(tid, r3["run_id"])
        statuses = [await status_or_404(client, tid, r["run_id"]) for r in (r1, r2, r3)]
        assert statuses == [*expected, "success"], strategy
        values = contents((await client.threads.get_state(tid))["values"])
        assert values[-4:] == NYC
        if strategy == "rollback":
            assert values == NYC


async def test_rollback_join_of_the_deleted_run_reports_404(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, first["run_id"])
    second = await client.runs.create(
        tid, "agent", input=human("weather in nyc?"), config=FAST, multitask_strategy="rollback"
    )
    joined = await client.http.get(f"/threads/{tid}/runs/{first['run_id']}/join")
    assert joined == {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}
    await client.runs.join(tid, second["run_id"])
