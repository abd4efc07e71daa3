"""Streaming (SSE) through langgraph_sdk and raw httpx: every stream mode, joins, resumption,
stateless and thread streams, disconnects, errors, double texting and 200 streams at once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_multitask_strategies import contents, human, status_or_404, until_running

pytestmark = pytest.mark.e2e

NOW = {"configurable": {"delay": 0}}
ANSWER = "The weather in sf is sunny and 72 degrees."
RUN_NOT_FOUND = (
    b'event: error\r\ndata: {"error":"HTTPException","message":"404: Run not found"}\r\n\r\n'
)


def events(parts: list[Any]) -> list[str]:
    return [p.event for p in parts]


def of(parts: list[Any], name: str) -> list[Any]:
    return [p.data for p in parts if p.event == name]


async def sdk_stream(
    client, thread_id: str | None, graph: str = "agent", **kwargs: Any
) -> list[Any]:
    kwargs.setdefault("input", human("weather in sf?"))
    kwargs.setdefault("config", NOW if graph == "agent" else None)
    return [part async for part in client.runs.stream(thread_id, graph, **kwargs)]


def parse_sse(body: bytes) -> list[dict[str, Any]]:
    """Frames of a raw SSE body (CRLF line ends), comments skipped."""
    frames = []
    for block in body.split(b"\r\n\r\n"):
        fields: dict[str, Any] = {}
        for line in block.split(b"\r\n"):
            if not line or line.startswith(b":"):
                continue
            name, _, value = line.partition(b": ")
            fields[name.decode()] = value.decode()
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            frames.append(fields)
    return frames


async def read_frames(
    response: httpx.Response, *, stop_after: int | None = None
) -> list[dict[str, Any]]:
    """Read a streaming response's frames until it ends, or until `stop_after` frames."""
    buffer = b""
    frames: list[dict[str, Any]] = []
    async for chunk in response.aiter_raw():
        buffer += chunk
        *complete, buffer = buffer.split(b"\r\n\r\n")
        for block in complete:
            frames += parse_sse(block + b"\r\n\r\n")
            if stop_after is not None and len(frames) >= stop_after:
                return frames
    return frames


async def new_thread(client) -> str:
    return (await client.threads.create())["thread_id"]


# --- each stream mode ------------------------------------------------------------------


async def test_values_stream_starts_with_metadata_and_ends_with_the_run_final(client) -> None:
    tid = await new_thread(client)
    parts = await sdk_stream(client, tid)
    assert events(parts) == ["metadata"] + ["values"] * 4
    metadata = parts[0].data
    assert set(metadata) == {"run_id", "attempt"} and metadata["attempt"] == 1
    assert [len(v["messages"]) for v in of(parts, "values")] == [1, 2, 3, 4]
    assert of(parts, "values")[-1]["messages"][-1]["content"] == ANSWER
    # The stream closed only once the run was final (the SDK would otherwise reconnect).
    assert (await client.runs.get(tid, metadata["run_id"]))["status"] == "success"
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_raw_sse_uses_crlf_frames_and_the_official_headers(client, stack) -> None:
    tid = await new_thread(client)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            f"/threads/{tid}/runs/stream",
            json={"assistant_id": "agent", "input": human("weather in sf?"), "config": NOW},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    run_path = response.headers["content-location"]
    assert run_path.startswith(f"/threads/{tid}/runs/")
    assert response.headers["location"] == f"{run_path}/stream"
    body = response.content
    assert body.startswith(b"event: metadata\r\ndata: {")
    assert b"\nid:" not in body and b"event: end" not in body
    frames = parse_sse(body)
    assert [f["event"] for f in frames] == ["metadata"] + ["values"] * 4
    assert frames[0]["data"]["run_id"] == run_path.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("values", {"values"}),
        ("updates", {"updates"}),
        ("messages-tuple", {"messages"}),
        ("messages", {"messages/metadata", "messages/partial", "messages/complete"}),
        ("events", {"events"}),
        ("debug", {"debug"}),
        ("tasks", {"tasks"}),
        ("checkpoints", {"checkpoints"}),
    ],
)
async def test_raw_sse_carries_each_stream_mode(
    client, stack, mode: str, expected: set[str]
) -> None:
    tid = await new_thread(client)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            f"/threads/{tid}/runs/stream",
            json={
                "assistant_id": "agent",
                "input": human("weather in sf?"),
                "config": NOW,
                "stream_mode": mode,
            },
        )
    assert response.status_code == 200
    frames = parse_sse(response.content)
    assert frames[0]["event"] == "metadata"
    assert {f["event"] for f in frames[1:]} == expected
    run_id = response.headers["content-location"].rsplit("/", 1)[1]
    assert (await client.runs.get(tid, run_id))["status"] == "success"


async def test_updates_stream_one_update_per_node(client) -> None:
    parts = await sdk_stream(client, await new_thread(client), stream_mode="updates")
    assert events(parts) == ["metadata"] + ["updates"] * 3
    assert [next(iter(u)) for u in of(parts, "updates")] == ["agent", "tools", "agent"]


async def test_messages_tuple_streams_the_answer_token_by_token(client) -> None:
    tid = await new_thread(client)
    parts = await sdk_stream(client, tid, stream_mode="messages-tuple")
    assert set(events(parts)) == {"metadata", "messages"}
    chunks = [(m, meta) for m, meta in of(parts, "messages") if m["type"] == "AIMessageChunk"]
    assert chunks[0][0]["tool_call_chunks"][0]["name"] == "search"
    words = [m["content"] for m, _ in chunks if m["content"]]
    assert len(words) == len(ANSWER.split()) and "".join(words) == ANSWER
    assert [m["type"] for m, _ in of(parts, "messages") if m["type"] != "AIMessageChunk"] == [
        "tool"
    ]
    meta = chunks[-1][1]
    assert meta["langgraph_node"] == "agent" and meta["langgraph_step"] == 3
    assert meta["thread_id"] == tid and meta["graph_id"] == "agent"
    assert meta["run_id"] == parts[0].data["run_id"] and "assistant_id" in meta


async def test_older_messages_mode_sends_metadata_partials_and_completes(client) -> None:
    parts = await sdk_stream(client, await new_thread(client), stream_mode="messages")
    names = events(parts)
    assert names[0] == "metadata"
    assert set(names[1:]) == {"messages/metadata", "messages/partial", "messages/complete"}
    assert names.count("messages/metadata") == 3
    [tool] = of(parts, "messages/complete")
    assert tool[0]["type"] == "tool"
    partials = of(parts, "messages/partial")
    assert partials[-1][0]["content"] == ANSWER and partials[-1][0]["type"] == "ai"
    assert partials[-2][0]["content"] in (ANSWER, "The weather in sf is sunny and 72 ")
    assert names[-1] == "messages/partial"  # the answer ends with partials only
    first_id = next(iter(of(parts, "messages/metadata")[0]))
    assert of(parts, "messages/metadata")[0][first_id]["metadata"]["langgraph_node"] == "agent"


async def test_events_mode_runs_from_chain_start_to_chain_end(client) -> None:
    parts = await sdk_stream(client, await new_thread(client), stream_mode="events")
    assert set(events(parts)) == {"metadata", "events"}
    items = of(parts, "events")
    assert set(items[0]) == {"event", "name", "run_id", "tags", "metadata", "data", "parent_ids"}
    kinds = [e["event"] for e in items]
    assert kinds[0] == "on_chain_start" and kinds[-1] == "on_chain_end"
    assert {
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
        "on_tool_start",
    } <= set(kinds)
    assert items[0]["run_id"] == parts[0].data["run_id"]  # the root of the run tree is the run
    tokens = [e["data"]["chunk"]["content"] for e in items if e["event"] == "on_chat_model_stream"]
    assert "".join(tokens) == ANSWER


async def test_debug_mode_steps_through_checkpoints_tasks_and_results(client) -> None:
    parts = await sdk_stream(client, await new_thread(client), stream_mode="debug")
    items = of(parts, "debug")
    assert set(items[0]) == {"step", "timestamp", "type", "payload"}
    assert [(d["type"], d["step"]) for d in items] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
        ("task", 2),
        ("task_result", 2),
        ("checkpoint", 2),
        ("task", 3),
        ("task_result", 3),
        ("checkpoint", 3),
    ]
    assert items[-1]["payload"]["checkpoint"]["checkpoint_id"]


async def test_custom_tasks_and_checkpoints_modes(client) -> None:
    parts = await sdk_stream(
        client, await new_thread(client), "nested", stream_mode=["custom", "tasks", "checkpoints"]
    )
    assert of(parts, "custom") == [{"progress": "parent working"}]
    tasks = of(parts, "tasks")
    assert set(tasks[0]) == {"id", "name", "input", "triggers", "metadata"}
    assert set(tasks[1]) == {"id", "name", "error", "result", "interrupts"}
    assert [t["name"] for t in tasks] == ["parent_step", "parent_step", "child", "child"]
    checkpoints = of(parts, "checkpoints")
    assert set(checkpoints[0]) == {"config", "metadata", "values", "next", "parent_config", "tasks"}
    assert [c["metadata"]["step"] for c in checkpoints] == [-1, 0, 1, 2]


async def test_several_modes_interleave_in_execution_order(client) -> None:
    parts = await sdk_stream(
        client, await new_thread(client), "nested", stream_mode=["values", "updates", "custom"]
    )
    assert events(parts) == [
        "metadata",
        "values",
        "custom",
        "updates",
        "values",
        "updates",
        "values",
    ]


async def test_subgraph_events_carry_their_namespace(client) -> None:
    parts = await sdk_stream(
        client,
        await new_thread(client),
        "nested",
        stream_mode=["updates", "custom"],
        stream_subgraphs=True,
    )
    names = events(parts)
    child = [n for n in names if "|" in n]
    assert child and all(n.split("|")[1].startswith("child:") for n in child)
    assert [n.split("|")[0] for n in child] == ["custom", "updates"]
    assert names == ["metadata", "custom", "updates", *child, "updates"]
    assert of(parts, child[0]) == [{"progress": "child working"}]


# --- joins -------------------------------------------------------------------------------


async def test_join_before_the_run_starts_gets_everything_from_metadata_on(client) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 0.3}}
    )
    second = await client.runs.create(tid, "agent", input=human("weather in nyc?"), config=NOW)
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "pending"
    parts = [p async for p in client.runs.join_stream(tid, second["run_id"])]
    assert events(parts) == ["metadata"] + ["values"] * 4
    assert parts[0].data["run_id"] == second["run_id"]
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "success"
    assert (await client.runs.get(tid, first["run_id"]))["status"] == "success"


async def test_join_after_the_start_gets_metadata_then_live_events_only(client) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 0.5}}
    )
    await until_running(client, tid, run["run_id"])
    parts = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    # Opens with the run's metadata event, as the run's own stream does (issue 14).
    assert events(parts)[0] == "metadata" and events(parts).count("metadata") == 1
    assert parts[0].data == {"run_id": run["run_id"], "attempt": 1}
    assert 1 <= len(of(parts, "values")) < 4
    assert of(parts, "values")[-1]["messages"][-1]["content"] == ANSWER
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"


async def test_join_filters_to_the_modes_asked_for(client) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(
        tid,
        "agent",
        input=human("weather in sf?"),
        config={"configurable": {"delay": 0.3}},
        stream_mode=["values", "updates"],
        after_seconds=0.5,
    )
    updates, values_only = await asyncio.gather(
        _collect(client.runs.join_stream(tid, run["run_id"], stream_mode="updates")),
        _collect(client.runs.join_stream(tid, run["run_id"], stream_mode=["messages-tuple"])),
    )
    assert events(updates) == ["metadata"] + ["updates"] * 3
    assert events(values_only) == ["metadata"]  # the run was not created with that mode


async def _collect(stream: Any) -> list[Any]:
    return [part async for part in stream]


async def test_join_of_a_finished_run_is_empty_and_of_an_unknown_run_an_error_event(
    client, stack
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "echo", input=human("hi"))
    await client.runs.join(tid, run["run_id"])
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        done = await http.get(f"/threads/{tid}/runs/{run['run_id']}/stream")
        unknown = await http.get(f"/threads/{tid}/runs/01a20a55-0000-7000-8000-000000000000/stream")
        elsewhere = await http.get(
            f"/threads/{await new_thread(client)}/runs/{run['run_id']}/stream"
        )
        bad = await http.get(
            f"/threads/{tid}/runs/{run['run_id']}/stream", params={"stream_mode": "nope"}
        )
    assert (done.status_code, done.content) == (200, b"")
    assert done.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert (unknown.status_code, unknown.content) == (200, RUN_NOT_FOUND)
    assert (elsewhere.status_code, elsewhere.content) == (200, RUN_NOT_FOUND)
    assert bad.status_code == 422
    parts = [p async for p in client.runs.join_stream(tid, "01a20a55-0000-7000-8000-000000000000")]
    assert [(p.event, p.data) for p in parts] == [
        ("error", {"error": "HTTPException", "message": "404: Run not found"})
    ]


async def test_resumable_stream_resumes_after_last_event_id_and_replays_with_minus_one(
    client, stack
) -> None:
    tid = await new_thread(client)
    body = {
        "assistant_id": "agent",
        "input": human("weather in sf?"),
        "config": {"configurable": {"delay": 0.3}},
        "stream_mode": ["values", "messages-tuple"],
        "stream_resumable": True,
    }
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            head = await read_frames(response, stop_after=2)
            run_path = response.headers["content-location"]
        run_id = run_path.rsplit("/", 1)[1]
        assert [f["event"] for f in head] == ["metadata", "values"]
        assert all(f["id"] for f in head)
        async with http.stream(
            "GET", f"{run_path}/stream", headers={"Last-Event-ID": head[-1]["id"]}
        ) as response:
            tail = await read_frames(response)
        assert (await client.runs.get(tid, run_id))["status"] == "success"
        replay = parse_sse(
            (await http.get(f"{run_path}/stream", headers={"Last-Event-ID": "-1"})).content
        )
    assert head + tail == replay
    ids = [f["id"] for f in replay]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and len(set(ids)) == len(
        ids
    )
    assert [f["event"] for f in replay].count("values") == 4
    sdk_replay = [p async for p in client.runs.join_stream(tid, run_id, last_event_id="-1")]
    assert [(p.id, p.event, p.data) for p in sdk_replay] == [
        (f["id"], f["event"], f["data"]) for f in replay
    ]


async def test_stateless_stream_uses_a_temporary_thread(client, stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(
            "/runs/stream", json={"assistant_id": "echo", "input": human("hello")}
        )
    frames = parse_sse(response.content)
    run_id = frames[0]["data"]["run_id"]
    assert response.headers["location"] == f"/runs/{run_id}/stream"
    assert response.headers["content-location"].endswith(f"/runs/{run_id}")
    assert [f["event"] for f in frames] == ["metadata", "values", "values"]
    assert contents(frames[-1]["data"]) == [("human", "hello"), ("ai", "hello")]
    parts = await sdk_stream(client, None, "echo", input=human("again"))
    assert events(parts) == ["metadata", "values", "values"]
    temporary = response.headers["content-location"].split("/")[2]
    assert stack.sql("select count(*) from threads_thread where thread_id = %s", temporary) == [
        (0,)
    ]
    # The run's row went with its thread; its stream is still there to replay for a while.
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        ended = await http.get(f"/runs/{run_id}/stream")
        replay = await http.get(f"/runs/{run_id}/stream", headers={"Last-Event-ID": "-1"})
        unknown = await http.get("/runs/01a20a55-0000-7000-8000-000000000000/stream")
    assert (ended.status_code, ended.content) == (200, b"")
    assert [(f["event"], f["data"]) for f in parse_sse(replay.content)] == [
        (f["event"], f["data"]) for f in frames
    ]
    assert unknown.content == RUN_NOT_FOUND


async def test_reject_on_a_busy_thread_is_a_json_409_not_a_stream(client) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 0.3}}
    )
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        await sdk_stream(client, tid, multitask_strategy="reject")
    assert excinfo.value.response.status_code == 409
    await client.runs.join(tid, run["run_id"])


# --- the thread stream -------------------------------------------------------------------


async def test_thread_stream_follows_each_run_of_the_thread_with_ids(client) -> None:
    tid = await new_thread(client)
    seen: list[Any] = []

    async def follow() -> None:
        async for part in await client.threads.join_stream(tid):
            seen.append(part)

    follower = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.3)
        first = await client.runs.wait(tid, "echo", input=human("one"))
        second = await client.runs.wait(tid, "echo", input=human("two"))
        deadline = time.monotonic() + 10
        while len(of(seen, "values")) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        follower.cancel()
    assert events(seen) == ["metadata", "values", "values"] * 2
    assert of(seen, "values")[1] == first and of(seen, "values")[3] == second
    assert all(p.id for p in seen)
    run_ids = [m["run_id"] for m in of(seen, "metadata")]
    assert len(set(run_ids)) == 2

    replayed: list[Any] = []
    async for part in await client.threads.join_stream(tid, last_event_id="-1"):
        replayed.append(part)
        if len(replayed) == len(seen):
            break
    assert [(p.id, p.event, p.data) for p in replayed] == [(p.id, p.event, p.data) for p in seen]


async def test_thread_stream_of_an_unknown_thread_is_404(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.get("/threads/01a20a55-0000-7000-8000-000000000000/stream")
    assert response.status_code == 404


# --- disconnects, errors, double texting ---------------------------------------------------


@pytest.mark.parametrize(
    ("on_disconnect", "final"), [("cancel", "interrupted"), ("continue", "success")]
)
async def test_a_client_that_goes_away_cancels_the_run_only_with_on_disconnect_cancel(
    client, stack, on_disconnect: str, final: str
) -> None:
    tid = await new_thread(client)
    body = {
        "assistant_id": "agent",
        "input": human("weather in sf?"),
        "config": {"configurable": {"delay": 0.5}},
        "on_disconnect": on_disconnect,
    }
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            [metadata] = await read_frames(response, stop_after=1)
    run_id = metadata["data"]["run_id"]
    deadline = time.monotonic() + 15
    while (status := (await client.runs.get(tid, run_id))["status"]) in ("pending", "running"):
        assert time.monotonic() < deadline, "the run never ended"
        await asyncio.sleep(0.1)
    assert status == final
    if final == "interrupted":
        assert (await client.threads.get(tid))["status"] == "interrupted"


async def test_a_join_with_cancel_on_disconnect_interrupts_the_run_when_it_goes(
    client, stack
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config={"configurable": {"delay": 0.5}}
    )
    await until_running(client, tid, run["run_id"])
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        url = f"/threads/{tid}/runs/{run['run_id']}/stream"
        async with http.stream("GET", url, params={"cancel_on_disconnect": "true"}) as response:
            assert response.status_code == 200
            await read_frames(response, stop_after=1)
    deadline = time.monotonic() + 15
    while (status := (await client.runs.get(tid, run["run_id"]))["status"]) == "running":
        assert time.monotonic() < deadline, "the run never ended"
        await asyncio.sleep(0.1)
    assert status == "interrupted"


async def test_a_graph_that_raises_sends_an_error_event_then_closes(client) -> None:
    tid = await new_thread(client)
    parts = await sdk_stream(client, tid, "raiser", input=human("hi"))
    assert events(parts) == ["metadata", "values", "error"]
    assert parts[-1].data == {"error": "ValueError", "message": "the graph raised on purpose"}
    assert (await client.runs.get(tid, parts[0].data["run_id"]))["status"] == "error"


@pytest.mark.parametrize("strategy", ["rollback", "interrupt"])
async def test_a_double_text_closes_the_first_runs_stream_without_an_error(
    client, strategy: str
) -> None:
    tid = await new_thread(client)
    first = asyncio.create_task(sdk_stream(client, tid, config={"configurable": {"delay": 0.6}}))
    deadline = time.monotonic() + 15
    while not (runs := await client.runs.list(tid)) or runs[0]["status"] != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await until_running(client, tid, runs[0]["run_id"])
    second = await client.runs.create(
        tid, "agent", input=human("weather in nyc?"), config=NOW, multitask_strategy=strategy
    )
    parts = await asyncio.wait_for(first, timeout=15)
    assert parts[0].event == "metadata" and "error" not in events(parts)
    assert len(of(parts, "values")) < 4
    first_status = await status_or_404(client, tid, parts[0].data["run_id"])
    assert first_status == (404 if strategy == "rollback" else "interrupted")
    await client.runs.join(tid, second["run_id"])


# --- many streams at once ---------------------------------------------------------------------

RUNS = 20
FOLLOWERS_PER_RUN = 10


async def test_200_concurrent_streams_each_receive_every_event(client, stack) -> None:
    """200 SSE streams on one uvicorn process, opened (as a rule) before their runs start:
    every one receives every event of its run, the same as a replay of the run's stream.
    They join with Last-Event-ID -1 so a slow machine that opens some late still checks
    completeness rather than timing."""
    threads = await asyncio.gather(*(client.threads.create() for _ in range(RUNS)))
    runs = await asyncio.gather(
        *(
            client.runs.create(
                t["thread_id"],
                "agent",
                input=human("weather in sf?"),
                config=NOW,
                stream_mode=["values", "messages-tuple"],
                stream_resumable=True,
                after_seconds=3,
            )
            for t in threads
        )
    )
    opened = 0
    limits = httpx.Limits(
        max_connections=RUNS * FOLLOWERS_PER_RUN + 10, max_keepalive_connections=20
    )
    async with httpx.AsyncClient(base_url=stack.url, timeout=60, limits=limits) as http:

        async def follow(run: dict[str, Any]) -> list[dict[str, Any]]:
            nonlocal opened
            url = f"/threads/{run['thread_id']}/runs/{run['run_id']}/stream"
            async with http.stream("GET", url, headers={"Last-Event-ID": "-1"}) as response:
                opened += 1
                return await read_frames(response)

        started = time.monotonic()
        followers = [
            asyncio.create_task(follow(run)) for run in runs for _ in range(FOLLOWERS_PER_RUN)
        ]
        while opened < len(followers):
            await asyncio.sleep(0.05)
        open_seconds = time.monotonic() - started
        statuses = [
            r["status"]
            for r in await asyncio.gather(
                *(client.runs.get(r["thread_id"], r["run_id"]) for r in runs)
            )
        ]
        received = await asyncio.wait_for(asyncio.gather(*followers), timeout=45)
        replays = await asyncio.gather(
            *(
                http.get(
                    f"/threads/{r['thread_id']}/runs/{r['run_id']}/stream",
                    headers={"Last-Event-ID": "-1"},
                )
                for r in runs
            )
        )
    elapsed = time.monotonic() - started
    for index in range(len(runs)):
        replay = parse_sse(replays[index].content)
        assert (
            replay[0]["event"] == "metadata" and [f["event"] for f in replay].count("values") == 4
        )
        for frames in received[index * FOLLOWERS_PER_RUN : (index + 1) * FOLLOWERS_PER_RUN]:
            assert frames == replay
    total = sum(len(frames) for frames in received)
    print(
        f"\n200 streams: opened in {open_seconds:.2f}s ({statuses.count('pending')}/{RUNS} runs still pending), "
        f"{total} events delivered, all done {elapsed:.1f}s after opening"
    )
