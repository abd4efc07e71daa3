"""The Redis outbox (runs/outbox.py) against a private redis-server that the tests stop and
start: buffered while Redis is down, sent in order once it answers, each event once, bounded."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings

from runs import outbox, streams
from tests.e2e.stack import RedisServer


@pytest.fixture
def private_redis(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setattr(outbox, "RETRY_SECONDS", (0.05,))
    streams.sync_client.cache_clear()
    try:
        with override_settings(REDIS_URL=server.url):
            yield server
    finally:
        streams.sync_client.cache_clear()
        server.stop()


def events(run_id: str) -> list[tuple[str, str]]:
    return [
        (entry_id.decode(), fields[b"data"].decode())
        for entry_id, fields in streams.sync_client().xrange(streams.events_key(run_id))
    ]


def wait_flushed(box: outbox.Outbox) -> None:
    deadline = time.monotonic() + 20
    while box.pending():
        assert time.monotonic() < deadline, "the outbox never emptied"
        time.sleep(0.05)


def test_events_published_while_redis_is_down_arrive_in_order_once_it_answers(
    private_redis,
) -> None:
    run_id = str(uuid.uuid4())
    publisher = outbox.RunPublisher(run_id, str(uuid.uuid4()))
    publisher.start({"run_id": run_id})
    publisher.event("custom", {"n": 0})
    private_redis.stop()
    for n in range(1, 6):
        publisher.event("custom", {"n": n})
    assert outbox.outbox().pending() >= 5
    private_redis.start()
    publisher.event("custom", {"n": 6})  # queued behind the others, not sent ahead of them
    publisher.end({"status": "success"})
    wait_flushed(outbox.outbox())

    # Redis restarted empty: what was sent before the outage went with it.
    got = events(run_id)
    assert [data for _id, data in got] == [f'{{"n":{n}}}' for n in range(1, 7)] + [
        '{"status":"success"}'
    ]
    assert [int(entry_id.split("-")[1]) for entry_id, _ in got] == list(range(3, 10))


def test_an_event_sent_twice_is_stored_once(private_redis) -> None:
    run_id = str(uuid.uuid4())
    publisher = outbox.RunPublisher(run_id, str(uuid.uuid4()))
    publisher.event("custom", {"n": 0})
    # As if the reply had been lost and the outbox sent the same command again.
    publisher.seq -= 1
    publisher.event("custom", {"n": 0})
    publisher.event("custom", {"n": 1})
    assert [data for _id, data in events(run_id)] == ['{"n":0}', '{"n":1}']


def test_the_buffer_is_bounded_but_keeps_the_end_and_dispatches(private_redis) -> None:
    box = outbox.Outbox(limit=3)
    key = f"spindle:test:{uuid.uuid4()}"
    private_redis.stop()
    for n in range(5):
        box.send([("rpush", (key, n), {})])
    box.send([("rpush", (key, "end"), {})], essential=True)
    calls: list[int] = []

    def dispatch() -> None:
        streams.sync_client().ping()
        calls.append(1)

    box.defer(dispatch)
    assert box.dropped == 2
    private_redis.start()
    wait_flushed(box)
    assert streams.sync_client().lrange(key, 0, -1) == [b"0", b"1", b"2", b"end"]
    assert calls == [1]


def test_a_command_redis_refuses_is_dropped_not_retried(private_redis) -> None:
    box = outbox.Outbox(limit=10)
    key = f"spindle:test:{uuid.uuid4()}"
    streams.sync_client().set(key, "a string")
    replies = box.send([("rpush", (key, 1), {})])
    assert replies is not None and isinstance(replies[0], redis.ResponseError)
    assert box.pending() == 0


def test_what_coroutines_publish_before_the_loop_turns_goes_in_one_round_trip(
    private_redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    round_trips: list[int] = []
    execute = outbox._execute

    def counted(commands: list[streams.Command]) -> list[Any]:
        round_trips.append(len(commands))
        return execute(commands)

    monkeypatch.setattr(outbox, "_execute", counted)
    runs = [str(uuid.uuid4()) for _ in range(2)]
    publishers = [outbox.RunPublisher(run_id, str(uuid.uuid4())) for run_id in runs]

    async def publish() -> None:
        for n in range(3):
            for publisher in publishers:
                publisher.event("custom", {"n": n})
        assert round_trips == []  # handed over, not sent yet
        await asyncio.sleep(0)  # the loop turns
        assert round_trips == [6]
        publishers[0].event("custom", {"n": 3})
        # Sent at once from code that is not waiting for the loop (a run's end on the
        # database thread): what the loop was handed goes first, in the same round trip.
        outbox.outbox().send(streams.end_commands(runs[0], {"status": "success"}))
        assert round_trips == [6, 1 + len(streams.end_commands(runs[0], {}))]
        await asyncio.sleep(0)
        assert len(round_trips) == 2  # nothing left to send

    asyncio.run(publish())

    first = events(runs[0])
    assert [data for _id, data in first] == [f'{{"n":{n}}}' for n in range(4)] + [
        '{"status":"success"}'
    ]
    assert [data for _id, data in events(runs[1])] == [f'{{"n":{n}}}' for n in range(3)]


def test_what_a_coroutine_publishes_while_redis_is_down_is_kept_in_order(private_redis) -> None:
    run_id = str(uuid.uuid4())
    publisher = outbox.RunPublisher(run_id, str(uuid.uuid4()))

    async def publish() -> None:
        private_redis.stop()
        for n in range(3):
            publisher.event("custom", {"n": n})
        await asyncio.sleep(0)
        assert outbox.outbox().pending() == 3
        private_redis.start()
        publisher.end({"status": "success"})
        await asyncio.sleep(0)

    asyncio.run(publish())
    wait_flushed(outbox.outbox())
    assert [data for _id, data in events(run_id)] == [f'{{"n":{n}}}' for n in range(3)] + [
        '{"status":"success"}'
    ]
