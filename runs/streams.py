"""Redis keys of a run: its event stream (with an end marker) and its control channel; a
thread's run announcements."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from functools import cache
from typing import Any, NamedTuple, TypeVar, cast

import redis
import redis.asyncio as aioredis
from django.conf import settings

from core.errors import ServiceUnavailable
from core.json import dumps as json_dumps
from core.json import loads as json_loads

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Replies of XRANGE/XREVRANGE and XREAD: the clients answer bytes (no decode_responses), while
# redis-py's stubs type every reply for both modes at once.
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]
StreamsReply = list[tuple[bytes, StreamEntries]] | None

END_EVENT = "__end__"
CANCEL_PREFIX = "cancel:"
STOP_MESSAGE = "stop"
# Cap a run's stream so a chatty graph cannot fill Redis; trimming is approximate.
STREAM_MAXLEN = 10_000
# A thread's announcements only wake its stream followers; a few recent ones suffice.
ANNOUNCE_MAXLEN = 100
# Every open SSE stream (and every waiting join) blocks one connection in XREAD; the
# client's default cap of 100 would refuse the 101st. Redis itself allows 10,000 clients.
ASYNC_MAX_CONNECTIONS = 10_000
# redis-py defaults the read timeout to 5 s, which an XREAD BLOCK of 5 s races; readers
# block for at most RECHECK_SECONDS (5 s), so this leaves a wide margin.
ASYNC_SOCKET_TIMEOUT = 30.0


def events_key(run_id: str) -> str:
    return f"spindle:run:{run_id}:events"


def end_key(run_id: str) -> str:
    """A stream holding one entry, the run's outcome (status, error and, when the worker
    read them, the values): joins wait here without reading the run's events."""
    return f"spindle:run:{run_id}:end"


def control_channel(run_id: str) -> str:
    return f"spindle:run:{run_id}:control"


def thread_runs_key(thread_id: str) -> str:
    return f"spindle:thread:{thread_id}:runs"


class Entry(NamedTuple):
    """One entry of a run's event stream; `data` is the JSON text as published."""

    id: str
    event: str
    data: bytes

    @property
    def is_end(self) -> bool:
        return self.event == END_EVENT


def _redis_url() -> str:
    if not settings.REDIS_URL:
        raise ServiceUnavailable(
            "Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)"
        )
    return settings.REDIS_URL


@cache
def sync_client() -> redis.Redis:
    return redis.Redis.from_url(
        _redis_url(), socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
    )


_async_clients: dict[int, aioredis.Redis] = {}


def async_client() -> aioredis.Redis:
    """One client per event loop: a redis.asyncio pool must not cross loops."""
    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(
            _redis_url(),
            socket_connect_timeout=5,
            socket_timeout=ASYNC_SOCKET_TIMEOUT,
            health_check_interval=30,
            max_connections=ASYNC_MAX_CONNECTIONS,
        )
        _async_clients[loop_id] = client
    return client


def dumps(data: Any) -> bytes:
    """Compact JSON of an event's data (already plain JSON values; anything else as str)."""
    return json_dumps(data, default=str)


# --- written by the worker ----------------------------------------------------------


# One Redis command: (method of a redis-py pipeline, args, kwargs). The commands a run's
# stream is written with are built here and sent by publish_* below or by runs/outbox.py.
Command = tuple[str, tuple[Any, ...], dict[str, Any]]


def event_command(run_id: str, event: str, data: Any, *, entry_id: str = "*") -> Command:
    fields = {"event": event, "data": dumps(data)}
    return (
        "xadd",
        (events_key(run_id), fields),
        {"id": entry_id, "maxlen": STREAM_MAXLEN, "approximate": True},
    )


def start_commands(
    thread_id: str, run_id: str, metadata: dict[str, Any], *, entry_id: str = "*"
) -> list[Command]:
    """Announce a started run to its thread's stream followers and put its `metadata`
    event first on its own stream."""
    key = thread_runs_key(thread_id)
    return [
        ("xadd", (key, {"run_id": run_id}), {"maxlen": ANNOUNCE_MAXLEN, "approximate": True}),
        ("expire", (key, settings.SPINDLE_STREAM_TTL_SECONDS), {}),
        event_command(run_id, "metadata", metadata, entry_id=entry_id),
    ]


def end_commands(
    run_id: str, outcome: dict[str, Any], *, entry_id: str = "*", stop_watcher: bool = False
) -> list[Command]:
    """Append the end marker to the run's events and its outcome to the end key, and let
    both expire; `stop_watcher` also tells the run's worker-side watcher to stop. The
    events carry only the status and error: streams need no values."""
    key, end = events_key(run_id), end_key(run_id)
    marker = {k: v for k, v in outcome.items() if k != "values"}
    commands: list[Command] = [
        event_command(run_id, END_EVENT, marker, entry_id=entry_id),
        ("xadd", (end, {"data": dumps(outcome)}), {"maxlen": 1}),
        ("expire", (key, settings.SPINDLE_STREAM_TTL_SECONDS), {}),
        ("expire", (end, settings.SPINDLE_STREAM_TTL_SECONDS), {}),
    ]
    if stop_watcher:
        commands.append(("publish", (control_channel(run_id), STOP_MESSAGE), {}))
    return commands


def execute(
    commands: list[Command], *, raise_on_error: bool = True, client: redis.Redis | None = None
) -> list[Any]:
    """Send `commands` in one round trip; their replies."""
    with (client or sync_client()).pipeline(transaction=False) as pipe:
        for method, args, kwargs in commands:
            getattr(pipe, method)(*args, **kwargs)
        return pipe.execute(raise_on_error=raise_on_error)


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def publish_event(run_id: str, event: str, data: Any, *, client: redis.Redis | None = None) -> str:
    return _text(execute([event_command(run_id, event, data)], client=client)[0])


def publish_end(run_id: str, outcome: dict[str, Any], *, stop_watcher: bool = False) -> None:
    execute(end_commands(run_id, outcome, stop_watcher=stop_watcher))


def publish_start(thread_id: str, run_id: str, metadata: dict[str, Any]) -> str:
    """start_commands in one round trip; returns the metadata event's entry id."""
    return _text(execute(start_commands(thread_id, run_id, metadata))[-1])


def send_cancel(run_id: str, action: str) -> None:
    try:
        sync_client().publish(control_channel(run_id), f"{CANCEL_PREFIX}{action}")
    except redis.RedisError as exc:
        # The durable flag on the run (or its deleted row) still reaches the worker
        # at its next heartbeat.
        logger.warning("Could not publish cancel for run %s: %s", run_id, exc)


# --- read by the web process --------------------------------------------------------


async def aread_end(run_id: str) -> dict[str, Any] | None:
    """The run's outcome if it has ended (and its end has not expired yet)."""
    for _entry_id, fields in cast(
        StreamEntries, await _cancellable(async_client().xrevrange(end_key(run_id), count=1))
    ):
        return json_loads(fields[b"data"])
    return None


async def await_end(run_id: str, *, block_seconds: float) -> tuple[bool, dict[str, Any] | None]:
    """Block (without polling) until the run's outcome arrives or `block_seconds` pass.

    Returns (ended, outcome). The caller re-checks the database between waits, so a
    run ended by the sweeper without a marker is still seen. Only the end key is read:
    the run's events, however many, never reach a join.
    """
    reply = cast(
        StreamsReply,
        await _cancellable(
            async_client().xread(
                {end_key(run_id): "0-0"}, block=max(1, int(block_seconds * 1000)), count=1
            )
        ),
    )
    for _key, entries in reply or []:
        for _entry_id, fields in entries:
            return True, json_loads(fields[b"data"])
    return False, None


def _entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
    return Entry(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        event=fields.get(b"event", b"").decode(),
        data=fields.get(b"data", b"null"),
    )


async def _cancellable(command: Awaitable[T]) -> T:
    """Await a Redis command so that a cancellation always reaches the caller.

    redis-py's asyncio client sometimes swallows a cancellation that arrives just as a
    reply comes in (measured: about one XREAD in five) and returns the reply instead.
    Django cancels a streaming response's task exactly once when the client leaves, so
    a swallowed cancellation would stream on to nobody and skip on_disconnect=cancel.
    """
    task = asyncio.ensure_future(command)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        raise


async def alast_entry(run_id: str) -> Entry | None:
    """The newest entry of the run's stream, if the stream exists."""
    for entry_id, fields in cast(
        StreamEntries, await _cancellable(async_client().xrevrange(events_key(run_id), count=1))
    ):
        return _entry(entry_id, fields)
    return None


async def afirst_entry(run_id: str) -> Entry | None:
    """The oldest entry of the run's stream (its `metadata` event, unless trimmed away)."""
    for entry_id, fields in cast(
        StreamEntries, await _cancellable(async_client().xrange(events_key(run_id), count=1))
    ):
        return _entry(entry_id, fields)
    return None


async def aread_entries(
    run_id: str, after: str, *, block_seconds: float | None, count: int = 500
) -> list[Entry]:
    """Entries of the run's stream with ids after `after` ("0-0": from the start).

    With `block_seconds`, waits (XREAD BLOCK, no polling) that long for the first one;
    an empty list means none came. Without it, answers at once.
    """
    block = None if block_seconds is None else max(1, int(block_seconds * 1000))
    reply = cast(
        StreamsReply,
        await _cancellable(
            async_client().xread({events_key(run_id): after}, block=block, count=count)
        ),
    )
    return [
        _entry(entry_id, fields) for _key, entries in reply or [] for entry_id, fields in entries
    ]


async def alast_announcement(thread_id: str) -> str:
    """The id of the thread's newest run announcement ("0-0" if none)."""
    for entry_id, _fields in cast(
        StreamEntries,
        await _cancellable(async_client().xrevrange(thread_runs_key(thread_id), count=1)),
    ):
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return "0-0"


async def aread_announcements(
    thread_id: str, after: str, *, block_seconds: float
) -> list[tuple[str, str]]:
    """(announcement id, run id) of the thread's runs announced after `after`; blocks up
    to `block_seconds` for the first one (an empty list: none came)."""
    reply = cast(
        StreamsReply,
        await _cancellable(
            async_client().xread(
                {thread_runs_key(thread_id): after},
                block=max(1, int(block_seconds * 1000)),
                count=100,
            )
        ),
    )
    return [
        (
            entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            fields.get(b"run_id", b"").decode(),
        )
        for _key, entries in reply or []
        for entry_id, fields in entries
    ]
