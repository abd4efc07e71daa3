"""Wait, join, cancel, delete, errors and human-in-the-loop through langgraph_sdk."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_multitask_strategies import FAST, NYC, SF, contents, human, until_running

pytestmark = pytest.mark.e2e


async def test_wait_returns_the_final_values_with_headers(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "agent", "input": human("weather in sf?"), "config": FAST},
        )
    assert response.status_code == 200
    assert contents(response.json()) == SF
    run_path = response.headers["Content-Location"]
    assert response.headers["Location"] == f"{run_path}/join"
    run = await client.runs.get(tid, run_path.rsplit("/", 1)[1])
    assert run["status"] == "success"


async def test_stateless_wait_uses_a_temporary_thread_and_deletes_it(client, stack) -> None:
    values = await client.runs.wait(None, "echo", input=human("hello"))
    assert contents(values) == [("human", "hello"), ("ai", "hello")]
    assert stack.sql(
        "select count(*) from threads_thread where (metadata->>'graph_id') = 'echo' and status = 'busy'"
    ) == [(0,)]


async def test_a_graph_that_raises_ends_the_run_as_error(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "raiser", input=human("hi"))
    joined = await client.http.get(f"/threads/{tid}/runs/{run['run_id']}/join")
    assert joined == {
        "__error__": {"error": "ValueError", "message": "the graph raised on purpose"}
    }
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "error"
    after = await client.threads.get(tid)
    assert after["status"] == "error"
    # The thread shows the state the run left (its input), as the official server's does.
    state = await client.threads.get_state(tid)
    assert contents(after["values"]) == contents(state["values"]) == [("human", "hi")]
    with pytest.raises(Exception, match="ValueError"):
        await client.runs.wait(tid, "raiser", input=human("again"))


async def test_cancel_interrupt_with_wait_then_resume(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, run["run_id"])
    assert await client.runs.cancel(tid, run["run_id"], wait=True) == {}
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    assert (await client.threads.get(tid))["status"] == "interrupted"
    state = await client.threads.get_state(tid)
    assert contents(state["values"]) == [("human", "weather in sf?")]
    assert state["next"] == ["agent"]
    resumed = await client.runs.wait(tid, "agent", input=None, config=FAST)
    assert contents(resumed) == SF


async def test_cancel_rollback_deletes_the_run_and_its_checkpoints(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, run["run_id"])
    await client.runs.cancel(tid, run["run_id"], wait=True, action="rollback")
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        await client.runs.get(tid, run["run_id"])
    assert excinfo.value.response.status_code == 404
    assert await client.threads.get_history(tid) == []
    assert await client.runs.list(tid) == []
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_deleting_a_finished_run_returns_the_state_to_the_run_before(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 0}}
    )
    second = await client.runs.create(
        tid, "agent", input=human("weather in nyc?"), config={"configurable": {"delay": 0}}
    )
    await client.runs.join(tid, second["run_id"])
    assert contents((await client.threads.get_state(tid))["values"]) == SF + NYC
    await client.runs.delete(tid, second["run_id"])
    assert contents((await client.threads.get_state(tid))["values"]) == SF
    assert contents((await client.threads.get(tid))["values"]) == SF


async def test_deleting_an_active_run_rolls_it_back(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "agent", input=human("weather in sf?"), config=FAST)
    await until_running(client, tid, run["run_id"])
    await client.runs.delete(tid, run["run_id"])
    assert (await client.threads.get(tid))["status"] == "idle"
    # The worker stops and writes nothing more: after the run's remaining time, still nothing.
    import asyncio

    await asyncio.sleep(1.5)
    assert await client.threads.get_history(tid) == []
    assert stack.sql("select count(*) from threads_checkpoint where thread_id = %s", tid) == [(0,)]


async def test_interrupt_in_a_node_then_resume_with_a_command(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    values = await client.runs.wait(tid, "interruptible", input=human("please"))
    assert values["__interrupt__"][0]["value"] == "approve?"
    assert (await client.threads.get(tid))["status"] == "interrupted"
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"]
    final = await client.runs.wait(tid, "interruptible", command={"resume": "yes"})
    assert [m["content"] for m in final["messages"]][-2:] == ["approved: yes", "done"]
    after = await client.threads.get(tid)
    assert (after["status"], after["interrupts"]) == ("idle", {})


async def test_interrupt_before_a_node_pauses_the_thread(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    values = await client.runs.wait(
        tid,
        "agent",
        input=human("weather in sf?"),
        interrupt_before=["tools"],
        config={"configurable": {"delay": 0}},
    )
    assert contents(values) == SF[:2]
    assert (await client.threads.get(tid))["status"] == "interrupted"
    assert (await client.threads.get_state(tid))["next"] == ["tools"]
    final = await client.runs.wait(tid, "agent", input=None, config={"configurable": {"delay": 0}})
    assert contents(final) == SF
