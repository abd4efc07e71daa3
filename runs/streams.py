"""Redis keys of a run: its event stream (with an end marker) and its control channel."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from config.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

END_EVENT = "__end__"
CANCEL_PREFIX = "cancel:"
STOP_MESSAGE = "stop"
# Cap a run's stream so a chatty graph cannot fill Redis; trimming is approximate.
STREAM_MAXLEN = 10_000


def events_key(run_id: str) -> str:
    return f"spindle:run:{run_id}:events"


def control_channel(run_id: str) -> str:
    return f"spindle:run:{run_id}:control"


def _redis_url() -> str:
    if not settings.REDIS_URL:
        raise ServiceUnavailable("Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)")
    return settings.REDIS_URL


@cache
def sync_client() -> redis.Redis:
    return redis.Redis.from_url(
        _redis_url(), socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
    )


_async_clients: dict[int, aioredis.Redis] = {}


def async_client() -> aioredis.Redis:
    """One client per event loop: a redis.asyncio pool must not cross loops."""
    import asyncio

    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(_redis_url(), socket_connect_timeout=5, health_check_interval=30)
        _async_clients[loop_id] = client
    return client


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), default=str).encode()


# --- written by the worker ----------------------------------------------------------


def publish_event(run_id: str, event: str, data: Any, *, client: redis.Redis | None = None) -> str:
    client = client or sync_client()
    entry_id = client.xadd(
        events_key(run_id), {"event": event, "data": _dumps(data)}, maxlen=STREAM_MAXLEN, approximate=True
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def publish_end(run_id: str, outcome: dict[str, Any]) -> None:
    """Append the end marker (status, values or error) and let the stream expire."""
    client = sync_client()
    key = events_key(run_id)
    with client.pipeline(transaction=False) as pipe:
        pipe.xadd(key, {"event": END_EVENT, "data": _dumps(outcome)}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.expire(key, settings.SPINDLE_STREAM_TTL_SECONDS)
        pipe.execute()


def send_cancel(run_id: str, action: str) -> None:
    try:
        sync_client().publish(control_channel(run_id), f"{CANCEL_PREFIX}{action}")
    except redis.RedisError as exc:
        # The durable flag on the run (or its deleted row) still reaches the worker
        # at its next heartbeat.
        logger.warning("Could not publish cancel for run %s: %s", run_id, exc)


def send_stop(run_id: str) -> None:
    sync_client().publish(control_channel(run_id), STOP_MESSAGE)


# --- read by the web process --------------------------------------------------------


async def aread_end(run_id: str) -> dict[str, Any] | None:
    """The end marker's outcome if the run's stream already has one."""
    entries = await async_client().xrevrange(events_key(run_id), count=1)
    for _entry_id, fields in entries:
        if fields.get(b"event") == END_EVENT.encode():
            return json.loads(fields[b"data"])
    return None


async def await_end(run_id: str, *, block_seconds: float) -> tuple[bool, dict[str, Any] | None]:
    """Block (without polling) until the end marker arrives or `block_seconds` pass.

    Returns (ended, outcome). The caller re-checks the database between waits, so a
    run ended by the sweeper without a marker is still seen.
    """
    client = async_client()
    key = events_key(run_id)
    last = await client.xrevrange(key, count=1)
    if last:
        entry_id, fields = last[0]
        if fields.get(b"event") == END_EVENT.encode():
            return True, json.loads(fields[b"data"])
        cursor = entry_id
    else:
        cursor = b"0-0"
    reply = await client.xread({key: cursor}, block=max(1, int(block_seconds * 1000)), count=1000)
    for _key, entries in reply or []:
        for _entry_id, fields in entries:
            if fields.get(b"event") == END_EVENT.encode():
                return True, json.loads(fields[b"data"])
    return False, None
