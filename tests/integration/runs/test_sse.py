"""Following runs' Redis streams as SSE frames (runs/sse.py) against the real database and Redis:
heartbeats, end markers, runs ended without one, mode filters and the thread stream."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from runs import sse, streams
from runs.models import Run, RunStatus
from runs.services import WORKER_LOST_ERROR
from tests.factories import amake_run
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_and_fresh(monkeypatch: pytest.MonkeyPatch, fresh_redis_clients: None) -> None:
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.3)
    monkeypatch.setattr(sse, "RECHECK_SECONDS", 0.2)
    monkeypatch.setattr(sse, "END_GRACE_SECONDS", 0.2)


async def new_run(status: str = RunStatus.PENDING, **kwargs: Any) -> Run:
    return await amake_run(status=status, kwargs=kwargs)


@sync_to_async
def set_status(run: Run, status: str) -> None:
    Run.objects.filter(pk=run.pk).update(status=status)


async def drain(frames: AsyncIterator[bytes], timeout: float = 5) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [item async for item in frames]

    return await asyncio.wait_for(collect(), timeout)


def test_frames_are_crlf_with_an_id_line_only_when_given() -> None:
    assert sse.frame("values", b'{"a":1}') == b'event: values\r\ndata: {"a":1}\r\n\r\n'
    assert (
        sse.frame("values", {"a": 1}, "1-0") == b'event: values\r\ndata: {"a":1}\r\nid: 1-0\r\n\r\n'
    )


def test_last_event_id_minus_one_replays_everything_and_junk_is_ignored() -> None:
    assert sse.parse_last_event_id("-1") == sse.REPLAY_ALL
    assert sse.parse_last_event_id("1795462982511-3") == "1795462982511-3"
    assert sse.parse_last_event_id("1795462982511") == "1795462982511"
    assert sse.parse_last_event_id("bogus") is None
    assert sse.parse_last_event_id(None) is None


async def test_a_quiet_stream_sends_heartbeats_then_events_and_closes_at_the_end_marker() -> None:
    run = await new_run()
    rid = str(run.pk)
    frames = sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False)
    assert await asyncio.wait_for(anext(frames), 2) == sse.HEARTBEAT
    streams.publish_event(rid, "metadata", {"run_id": rid, "attempt": 1})
    assert await asyncio.wait_for(anext(frames), 2) == sse.frame(
        "metadata", {"run_id": rid, "attempt": 1}
    )
    streams.publish_end(rid, {"status": "success", "values": {}, "error": None})
    assert await drain(frames) == []


async def test_a_stream_quiet_for_a_whole_recheck_period_keeps_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 5 s XREAD BLOCK once raced redis-py's default 5 s read timeout.
    monkeypatch.setattr(sse, "RECHECK_SECONDS", 5.0)
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 60.0)
    run = await new_run()
    rid = str(run.pk)
    asyncio.get_running_loop().call_later(
        5.5, streams.publish_event, rid, "metadata", {"run_id": rid}
    )
    frames = sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False)
    assert await asyncio.wait_for(anext(frames), 8) == sse.frame("metadata", {"run_id": rid})
    streams.publish_end(rid, {"status": "success"})
    assert await drain(frames) == []


async def test_a_follower_cancelled_as_an_event_arrives_always_stops() -> None:
    # Django cancels a streaming response once when its client leaves; redis-py once
    # swallowed about one cancellation in five that met an XREAD reply.
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)

    async def consume() -> None:
        async for _frame in sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False):
            pass

    for _ in range(60):
        follower = asyncio.ensure_future(consume())
        await asyncio.sleep(0.005)
        streams.publish_event(rid, "values", {})
        await asyncio.sleep(random.random() * 0.002)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(follower, 1)


async def test_a_run_ended_without_an_end_marker_closes_its_stream() -> None:
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)
    streams.publish_event(rid, "metadata", {"run_id": rid, "attempt": 1})
    frames = sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False)
    assert (await anext(frames)).startswith(b"event: metadata\r\n")
    await set_status(run, RunStatus.ERROR)  # the sweeper ended it; the marker got lost
    # No event follows (a heartbeat may, on a slow machine, before the re-check sees the status).
    assert [frame for frame in await drain(frames) if frame != sse.HEARTBEAT] == []


async def test_a_deleted_run_closes_its_stream_without_an_event() -> None:
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)
    streams.publish_event(rid, "values", {"messages": []})
    streams.publish_end(rid, {"status": "deleted"})
    assert [
        f.split(b"\r\n")[0]
        for f in await drain(sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False))
    ] == [b"event: values"]


async def test_a_lost_worker_shows_as_an_error_event_from_the_end_marker() -> None:
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)
    streams.publish_event(rid, "metadata", {"run_id": rid, "attempt": 1})
    streams.publish_end(rid, {"status": "error", "error": WORKER_LOST_ERROR})
    frames = await drain(sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=True))
    assert frames[1] == sse.frame("error", WORKER_LOST_ERROR)
    assert b"\r\nid: " in frames[0]


async def test_an_error_event_of_the_graph_is_not_repeated_from_the_end_marker() -> None:
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)
    error = {"error": "ValueError", "message": "boom"}
    streams.publish_event(rid, "error", error)
    streams.publish_end(rid, {"status": "error", "error": error, "values": None})
    assert await drain(sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False)) == [
        sse.frame("error", error)
    ]


async def test_a_mode_filter_keeps_metadata_and_the_modes_asked_for() -> None:
    run = await new_run(RunStatus.RUNNING)
    rid = str(run.pk)
    for event in ("metadata", "values", "updates", "updates|child:1", "values"):
        streams.publish_event(rid, event, {})
    streams.publish_end(rid, {"status": "success"})
    frames = await drain(
        sse.follow_run(rid, after=sse.REPLAY_ALL, with_ids=False, modes=["updates"])
    )
    assert [f.split(b"\r\n")[0] for f in frames] == [
        b"event: metadata",
        b"event: updates",
        b"event: updates|child:1",
    ]


async def test_a_join_resumes_after_an_id_and_a_finished_run_joins_empty() -> None:
    run = await new_run(RunStatus.RUNNING, resumable=True)
    rid = str(run.pk)
    ids = [
        streams.publish_event(rid, event, {"n": n})
        for n, event in enumerate(["metadata", "values", "values"])
    ]
    streams.publish_end(rid, {"status": "success"})
    await set_status(run, RunStatus.SUCCESS)
    resumed = await drain(
        await sse.open_run_join(run.pk, thread_id=run.thread_id, last_event_id=ids[0], modes=None)
    )
    assert resumed == [sse.frame("values", {"n": 1}, ids[1]), sse.frame("values", {"n": 2}, ids[2])]
    assert (
        await drain(
            await sse.open_run_join(run.pk, thread_id=run.thread_id, last_event_id=None, modes=None)
        )
        == []
    )
    missing = await sse.open_run_join(
        uuid.uuid4(), thread_id=run.thread_id, last_event_id=None, modes=None
    )
    assert await drain(missing) == [sse.frame("error", sse.RUN_NOT_FOUND)]


async def test_the_thread_stream_follows_announced_runs_until_the_thread_is_deleted() -> None:
    thread = await sync_to_async(Thread.objects.create)()
    tid = str(thread.pk)
    frames = sse.follow_thread(thread.pk, after=None)
    first = asyncio.ensure_future(anext(frames))
    await asyncio.sleep(0.1)
    rid = str(uuid.uuid4())
    entry_id = streams.publish_start(tid, rid, {"run_id": rid, "attempt": 1})
    assert await asyncio.wait_for(first, 2) == sse.frame(
        "metadata", {"run_id": rid, "attempt": 1}, entry_id
    )
    streams.publish_end(rid, {"status": "success"})
    await sync_to_async(Thread.objects.filter(pk=thread.pk).delete)()
    rest = await drain(frames)
    assert all(f == sse.HEARTBEAT for f in rest)


def test_published_data_is_compact_json() -> None:
    rid = str(uuid.uuid4())
    streams.publish_event(rid, "values", {"a": [1, 2]})
    [(entry_id, fields)] = streams.sync_client().xrange(streams.events_key(rid))
    assert fields[b"data"] == b'{"a":[1,2]}'
    assert json.loads(fields[b"data"]) == {"a": [1, 2]}
    streams.sync_client().delete(streams.events_key(rid))


async def test_await_end_sleeps_through_events_and_wakes_once_at_the_end_marker() -> None:
    rid = str(uuid.uuid4())
    streams.publish_event(rid, "metadata", {"run_id": rid})
    waiting = asyncio.ensure_future(streams.await_end(rid, block_seconds=5))
    for i in range(3):
        await asyncio.sleep(0.05)
        streams.publish_event(rid, "values", {"i": i})
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the values events did not end the wait
    streams.publish_end(rid, {"status": "success", "values": {"i": 2}, "error": None})
    assert await asyncio.wait_for(waiting, 2) == (
        True,
        {"status": "success", "values": {"i": 2}, "error": None},
    )


async def test_await_end_gives_up_after_its_block_time_without_a_marker() -> None:
    rid = str(uuid.uuid4())
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.ensure_future(streams.await_end(rid, block_seconds=0.4))
    await asyncio.sleep(0.1)
    streams.publish_event(rid, "values", {"i": 0})
    assert await asyncio.wait_for(waiting, 2) == (False, None)
    assert loop.time() - started >= 0.35


async def test_the_outcome_with_values_goes_to_the_end_key_and_the_events_get_status_and_error() -> (
    None
):
    rid = str(uuid.uuid4())
    outcome = {"status": "success", "values": {"messages": ["a", "b"]}, "error": None}
    streams.publish_end(rid, outcome)
    last = await streams.alast_entry(rid)
    assert last is not None and last.is_end
    assert json.loads(last.data) == {"status": "success", "error": None}
    assert await streams.aread_end(rid) == outcome
    assert await streams.await_end(rid, block_seconds=1) == (True, outcome)
