"""The official paths added for issue 14, and the shapes measured against the official server:
bulk cancel, run batches, thread storage, state at a checkpoint, metrics, late join streams,
checkpoint metadata. Through langgraph_sdk where it has the call, raw HTTP otherwise."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.e2e.test_multitask_strategies import FAST, contents, human, until_running

pytestmark = pytest.mark.e2e

NO_MATCHING = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)
SLOW = {"configurable": {"delay": 2.0}}


async def _agent_run(client, *, config: dict = FAST) -> tuple[str, str]:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], "agent", input=human("weather in sf?"), config=config
    )
    return thread["thread_id"], run["run_id"]


async def _until_final(client, thread_id: str, run_id: str, timeout: float = 15) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while (status := (await client.runs.get(thread_id, run_id))["status"]) in (
        "pending",
        "running",
    ):
        assert asyncio.get_running_loop().time() < deadline, "the run never ended"
        await asyncio.sleep(0.05)
    return status


# --- POST /runs/cancel ---------------------------------------------------------------


async def test_cancel_many_by_thread_and_ids_interrupts_them(client) -> None:
    tid, rid = await _agent_run(client, config=SLOW)
    await until_running(client, tid, rid)
    while not await client.threads.get_history(tid):  # its input checkpoint written
        await asyncio.sleep(0.05)

    assert await client.runs.cancel_many(thread_id=tid, run_ids=[rid]) is None

    assert await _until_final(client, tid, rid) == "interrupted"
    assert (await client.threads.get(tid))["status"] == "interrupted"
    # The finished checkpoints stay, as with the single cancel.
    assert contents((await client.threads.get_state(tid))["values"]) == [
        ("human", "weather in sf?")
    ]


async def test_cancel_many_by_status_rolls_back_every_active_run(client, stack) -> None:
    (t1, r1), (t2, r2) = (
        await _agent_run(client, config=SLOW),
        await _agent_run(client, config=SLOW),
    )
    await until_running(client, t1, r1)
    await until_running(client, t2, r2)
    queued = await client.runs.create(t2, "agent", input=human("again"), config=FAST)

    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            "/runs/cancel", params={"action": "rollback"}, json={"status": "all"}
        )
    assert (response.status_code, response.content) == (204, b"")

    for tid, rid in ((t1, r1), (t2, r2), (t2, queued["run_id"])):
        with pytest.raises(httpx.HTTPStatusError) as gone:
            await client.runs.get(tid, rid)
        assert gone.value.response.status_code == 404
    assert [(await client.threads.get(t))["status"] for t in (t1, t2)] == ["idle", "idle"]
    assert await client.threads.get_history(t1) == []
    assert stack.sql("select count(*) from runs_run where status in ('pending', 'running')") == [
        (0,)
    ]


async def test_cancel_many_by_status_pending_leaves_the_running_run(client) -> None:
    tid, running = await _agent_run(client, config=SLOW)
    await until_running(client, tid, running)
    pending = await client.runs.create(tid, "agent", input=human("weather in nyc?"), config=FAST)

    await client.runs.cancel_many(status="pending")

    assert (await client.runs.get(tid, pending["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(tid, running))["status"] == "running"
    await client.runs.cancel(tid, running, wait=True)


async def test_cancel_many_by_assistant_stops_its_runs_and_answers_204_without_any(
    client, stack
) -> None:
    assistant = await client.assistants.create(graph_id="agent")
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], assistant["assistant_id"], input=human("weather in sf?"), config=SLOW
    )
    await until_running(client, thread["thread_id"], run["run_id"])
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        first = await http.post("/runs/cancel", json={"assistant_id": assistant["assistant_id"]})
        assert await _until_final(client, thread["thread_id"], run["run_id"]) == "interrupted"
        again = await http.post("/runs/cancel", json={"assistant_id": assistant["assistant_id"]})
    assert (first.status_code, again.status_code) == (204, 204)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "Must provide either a status, an assistant_id, or both 'thread_id' and 'run_ids'"),
        (
            {"status": "all", "thread_id": str(uuid.uuid4())},
            "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. The 'status' parameter "
            "cancels all runs with the given status, regardless of thread or run ID.",
        ),
        ({"thread_id": "x", "run_ids": []}, "Invalid thread ID: must be a UUID"),
        ({"thread_id": str(uuid.uuid4()), "run_ids": ["y"]}, "Invalid run ID: must be a UUID"),
        (
            {"assistant_id": str(uuid.uuid4()), "status": "all"},
            "Cannot specify 'thread_id', 'run_ids', or 'status' when using 'assistant_id'",
        ),
        ({"status": "done"}, 'status: "done" is not a valid choice.'),
    ],
)
async def test_cancel_many_refuses_a_bad_selection_with_the_official_text(
    stack, body, detail
) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post("/runs/cancel", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == detail


async def test_cancel_many_answers_404_when_nothing_matches(client, stack) -> None:
    thread = await client.threads.create()
    done = await client.runs.create(thread["thread_id"], "echo", input=human("hi"))
    await client.runs.join(thread["thread_id"], done["run_id"])
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        unknown = await http.post(
            "/runs/cancel", json={"thread_id": thread["thread_id"], "run_ids": [str(uuid.uuid4())]}
        )
        finished = await http.post(
            "/runs/cancel", json={"thread_id": thread["thread_id"], "run_ids": [done["run_id"]]}
        )
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No runs found to cancel."})
    assert (finished.status_code, finished.json()) == (404, {"detail": NO_MATCHING})


# --- POST /runs/batch ----------------------------------------------------------------


async def test_create_batch_starts_stateless_runs_that_all_finish(client, stack) -> None:
    runs = await client.runs.create_batch(
        [
            {"assistant_id": "echo", "input": human("one")},
            {"assistant_id": "echo", "input": human("two"), "on_completion": "keep"},
        ]
    )
    assert [r["status"] for r in runs] == ["pending", "pending"]
    assert [r["kwargs"]["temporary"] for r in runs] == [True, True]
    assert [r["kwargs"]["input"] for r in runs] == [human("one"), human("two")]
    assert len({r["thread_id"] for r in runs}) == 2
    kept = runs[1]
    assert await _until_final(client, kept["thread_id"], kept["run_id"]) == "success"
    assert contents((await client.threads.get_state(kept["thread_id"]))["values"]) == [
        ("human", "two"),
        ("ai", "two"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ([], 422, "This list may not be empty."),
        ({"assistant_id": "echo"}, 422, 'Expected a list of items but got type "dict".'),
        ([{"assistant_id": "echo"}, {"input": {}}], 422, "1.assistant_id: This field is required."),
        (
            [{"assistant_id": "echo"}, {"assistant_id": str(uuid.uuid4())}],
            404,
            "Thread or assistant not found.",
        ),
    ],
)
async def test_a_bad_batch_creates_no_run(stack, body, status, detail) -> None:
    ((started,),) = stack.sql("select now()")
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post("/runs/batch", json=body)
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert stack.sql("select count(*) from runs_run where created_at >= %s", started) == [(0,)]


# --- GET /threads/{id}/storage and POST /threads/{id}/state/checkpoint ---------------


async def test_storage_counts_what_the_threads_checkpoints_occupy(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        empty = (await http.get(f"/threads/{tid}/storage")).json()
        await client.runs.wait(tid, "echo", input=human("hi"))
        response = await http.get(f"/threads/{tid}/storage")
        missing = await http.get(f"/threads/{uuid.uuid4()}/storage")
        bad = await http.get("/threads/nope/storage")
    assert empty == {
        "thread_id": tid,
        "total_bytes": 0,
        "checkpoints": {"count": 0, "bytes": 0},
        "channel_values": {"count": 0, "bytes": 0, "by_channel": {}},
        "pending_writes": {"count": 0, "bytes": 0},
    }
    assert response.status_code == 200
    storage = response.json()
    ((checkpoints, checkpoint_bytes),) = stack.sql(
        "select count(*), sum(length(checkpoint) + length(metadata::text)) from threads_checkpoint where thread_id = %s",
        tid,
    )
    assert storage["checkpoints"] == {"count": checkpoints, "bytes": checkpoint_bytes}
    assert checkpoints == len(await client.threads.get_history(tid)) == 3
    by_channel = storage["channel_values"]["by_channel"]
    assert {"messages", "__start__"} <= set(by_channel)
    assert by_channel["messages"]["versions"] >= 2 and by_channel["messages"]["bytes"] > 0
    assert storage["channel_values"]["count"] == sum(c["versions"] for c in by_channel.values())
    assert storage["total_bytes"] == (
        storage["checkpoints"]["bytes"]
        + storage["channel_values"]["bytes"]
        + storage["pending_writes"]["bytes"]
    )
    assert missing.status_code == 404 and missing.json()["detail"].startswith("Thread with ID")
    assert (bad.status_code, bad.json()) == (422, {"detail": "Invalid thread ID: must be a UUID"})


async def test_state_at_a_checkpoint_given_in_the_body(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "echo", input=human("first"))
    await client.runs.wait(tid, "echo", input=human("second"))
    older = (await client.threads.get_history(tid))[3]
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            f"/threads/{tid}/state/checkpoint",
            json={"checkpoint": older["checkpoint"], "subgraphs": True},
        )
        missing = await http.post(f"/threads/{tid}/state/checkpoint", json={})
    assert response.status_code == 200
    state = response.json()
    assert state["checkpoint"] == older["checkpoint"]
    assert state["values"] == older["values"]
    assert contents(state["values"]) == [("human", "first"), ("ai", "first")]
    assert set(state) == set(older)
    assert (missing.status_code, missing.json()["detail"]) == (
        422,
        "checkpoint: This field is required.",
    )


async def test_state_at_a_checkpoint_of_a_subgraph(client, stack) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "nested", input=human("hi"))
    state = await client.threads.get_state(tid, subgraphs=True)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            f"/threads/{tid}/state/checkpoint",
            json={"checkpoint": state["checkpoint"], "subgraphs": True},
        )
    assert response.status_code == 200
    assert response.json()["values"] == state["values"]
    assert response.json()["checkpoint"] == state["checkpoint"]


# --- GET /metrics --------------------------------------------------------------------


async def test_metrics_count_the_queue_runs_and_workers(client, stack) -> None:
    tid, running = await _agent_run(client, config=SLOW)
    await until_running(client, tid, running)
    await client.runs.create(tid, "agent", input=human("weather in nyc?"), config=FAST)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        as_json = (await http.get("/metrics", params={"format": "json"})).json()
        text = await http.get("/metrics")
        bad = await http.get("/metrics", params={"format": "xml"})
    await client.runs.cancel_many(thread_id=tid, run_ids=[running], action="rollback")

    queue = as_json["queue"]
    assert queue["n_pending"] >= 1 and queue["n_running"] >= 1
    assert queue["pending_runs_wait_time_max_secs"] >= queue["pending_runs_wait_time_med_secs"] >= 0
    # The pending run waits behind the running one on its thread: it is not unblocked.
    assert set(queue) == {
        "n_pending",
        "n_running",
        "pending_runs_wait_time_max_secs",
        "pending_runs_wait_time_med_secs",
        "pending_unblocked_runs_wait_time_max_secs",
    }
    # The stack's worker runs two processes.
    assert as_json["workers"]["max"] == 2
    assert as_json["workers"]["active"] == queue["n_running"]
    assert as_json["workers"]["available"] == 2 - queue["n_running"]
    assert set(as_json["runs"]) == {
        "pending",
        "running",
        "success",
        "error",
        "timeout",
        "interrupted",
    }
    assert as_json["runs"]["running"] == queue["n_running"]

    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert "# TYPE lg_api_num_pending_runs gauge" in lines
    assert f"lg_api_num_running_runs {float(queue['n_running'])}" in lines
    # (The workers answer a broadcast within a second; on a loaded machine one may not.)
    assert any(line.startswith("lg_api_workers_max ") for line in lines)
    assert any(line.startswith('lg_api_runs{status="success"} ') for line in lines)
    assert bad.status_code == 422


# --- shapes --------------------------------------------------------------------------


async def test_a_join_stream_opened_while_the_run_runs_starts_with_metadata(client) -> None:
    tid, rid = await _agent_run(client, config=SLOW)
    await until_running(client, tid, rid)
    events = [part.event async for part in client.runs.join_stream(tid, rid)]
    assert events[0] == "metadata"
    assert events.count("metadata") == 1
    assert "values" in events


async def test_checkpoint_metadata_carries_what_the_official_server_writes(client) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(
        tid,
        "echo",
        input=human("hi"),
        metadata={"team": "blue"},
        config={"configurable": {"foo": "bar"}},
    )
    history = await client.threads.get_history(tid)
    meta = history[0]["metadata"]
    run_id = meta["run_id"]
    assert {
        "thread_id": tid,
        "graph_id": "echo",
        "run_id": run_id,
        "run_attempt": 1,
        "team": "blue",
        "foo": "bar",
        "source": "loop",
    }.items() <= meta.items()
    assert uuid.UUID(meta["assistant_id"])
    for key, value in (
        ("thread_id", tid),
        ("run_id", run_id),
        ("team", "blue"),
        ("run_attempt", 1),
    ):
        assert len(await client.threads.get_history(tid, metadata={key: value})) == len(history)
    assert await client.threads.get_history(tid, metadata={"team": "red"}) == []


async def test_new_assistants_and_threads_have_one_timestamp_and_the_official_keys(client) -> None:
    assistant = await client.assistants.create(graph_id="echo")
    thread = await client.threads.create()
    assert assistant["created_at"] == assistant["updated_at"]
    assert thread["created_at"] == thread["updated_at"] == thread["state_updated_at"]
    assert "error" not in thread and "interrupts" not in thread
    await client.runs.wait(thread["thread_id"], "echo", input=human("hi"))
    ran = await client.threads.get(thread["thread_id"])
    assert (ran["error"], ran["interrupts"]) == (None, {})
    copy = await client.threads.copy(thread["thread_id"])
    assert set(copy) == {
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "metadata",
        "status",
        "config",
    }


async def test_official_error_texts(client, stack) -> None:
    assistant = await client.assistants.create(graph_id="echo")
    aid = assistant["assistant_id"]
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        dup = await http.post("/assistants", json={"graph_id": "echo", "assistant_id": aid})
        version = await http.post(f"/assistants/{aid}/latest", json={"version": 7})
        bad_thread = await http.post("/threads/bad/runs", json={"assistant_id": "echo"})
    assert (dup.status_code, dup.json()) == (409, {"detail": f"Assistant {aid} already exists"})
    assert (version.status_code, version.json()) == (
        404,
        {"detail": f"Version 7 not found for assistant {aid}"},
    )
    assert bad_thread.status_code == 422 and bad_thread.json()["detail"].startswith(
        "Invalid thread ID"
    )
