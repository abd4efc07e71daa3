"""The DEVELOPERS.md scenario, verbatim through langgraph_sdk, against real processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _contents(values: dict) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in values["messages"]]


async def test_double_texting_with_rollback(client, stack) -> None:
    assistant = await client.assistants.create("agent")
    thread = await client.threads.create()
    first = await client.runs.create(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "human", "content": "whats the weather in sf?"}]},
    )
    await asyncio.sleep(2)
    assert (await client.runs.get(thread["thread_id"], first["run_id"]))["status"] == "running"
    run = await client.runs.create(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "human", "content": "whats the weather in nyc?"}]},
        multitask_strategy="rollback",
    )
    assert run["status"] == "pending"
    assert run["multitask_strategy"] == "rollback"
    await client.runs.join(thread["thread_id"], run["run_id"])
    state = await client.threads.get_state(thread["thread_id"])

    assert _contents(state["values"]) == [
        ("human", "whats the weather in nyc?"),
        ("ai", ""),
        ("tool", "Search result for 'weather in nyc': sunny, 72F."),
        ("ai", "The weather in nyc is sunny and 72 degrees."),
    ]
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        await client.runs.get(thread["thread_id"], first["run_id"])
    assert excinfo.value.response.status_code == 404
    assert excinfo.value.response.json() == {"detail": "Not Found"}

    history = await client.threads.get_history(thread["thread_id"], limit=100)
    assert history, "the nyc run left checkpoints"
    assert {h["metadata"]["run_id"] for h in history} == {run["run_id"]}

    runs = await client.runs.list(thread["thread_id"])
    assert [(r["run_id"], r["status"]) for r in runs] == [(run["run_id"], "success")]
    assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"

    # Behind the API: no row of the first run is left anywhere.
    first_id = first["run_id"]
    for table in ("threads_checkpoint", "threads_checkpointwrite", "threads_checkpointblob"):
        assert stack.sql(f"select count(*) from {table} where run_id = %s", first_id) == [(0,)]
    assert stack.sql("select count(*) from runs_run where run_id = %s", first_id) == [(0,)]
