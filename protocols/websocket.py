"""The thread-stream protocol's websocket transport (`/threads/{id}/stream/events`): every
frame in is a command; subscriptions stream the thread's events as JSON frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis

from access.context import FilterType, reset_caller, set_caller
from access.handlers import Denied, authorize
from access.middleware import websocket_caller
from core.errors import SpindleError
from protocols import commands
from protocols.events import Event, Filter, FilterError, parse_filter, parse_since
from protocols.streaming import thread_events

logger = logging.getLogger(__name__)

PATH = re.compile(r"^/threads/(?P<thread_id>[^/]+)/stream/events/?$")
Send = Callable[[dict[str, Any]], Awaitable[None]]


def routes(path: str) -> bool:
    return PATH.match(path) is not None


class Connection:
    """One websocket: its subscriptions (a reader task each) and the events already sent,
    so an event two subscriptions match goes out once."""

    def __init__(self, thread_id: uuid.UUID, send: Send) -> None:
        self.thread_id = thread_id
        self._send = send
        self._lock = asyncio.Lock()
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self._sent: set[int] = set()

    async def send_json(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self._send({"type": "websocket.send", "text": orjson.dumps(message).decode()})

    async def _follow(
        self, subscription: Filter, since: int | None, thread_filter: FilterType | None
    ) -> None:
        try:
            async for batch in thread_events(
                self.thread_id, subscription, since=since, thread_filter=thread_filter
            ):
                for event in batch or ():
                    await self._send_event(event)
        except asyncio.CancelledError:
            raise
        except redis.RedisError as exc:
            logger.warning("Protocol websocket of thread %s: Redis failed: %s", self.thread_id, exc)
            await self.close(1011, "event stream failed")
        except Exception:
            logger.exception(
                "Protocol websocket of thread %s: the event stream failed", self.thread_id
            )
            await self.close(1011, "event stream failed")

    async def _send_event(self, event: Event) -> None:
        if event["seq"] in self._sent:
            return
        self._sent.add(event["seq"])
        await self.send_json(event)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with self._lock:
                await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def command(self, raw: str | bytes | None) -> dict[str, Any]:
        try:
            body = orjson.loads(raw or b"")
        except orjson.JSONDecodeError:
            return commands.error(None, "invalid_argument", "Protocol commands must be valid JSON.")
        try:
            command_id, method, params = commands.parse_envelope(body)
        except commands.CommandError as exc:
            return commands.error(
                body.get("id") if isinstance(body, dict) else None, exc.code, exc.message
            )
        try:
            if method == "subscription.subscribe":
                return commands.success(command_id, await self.subscribe(params))
            if method == "subscription.unsubscribe":
                return commands.success(command_id, self.unsubscribe(params))
            if method == "subscription.reconnect":
                raise commands.CommandError(
                    "not_supported", "Reconnect by subscribing again with since."
                )
            return commands.success(
                command_id, await commands.ahandle(self.thread_id, method, params)
            )
        except commands.CommandError as exc:
            return commands.error(command_id, exc.code, exc.message)

    async def subscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            subscription = parse_filter(params)
            since = parse_since(params.get("since"))
        except FilterError as exc:
            raise commands.CommandError("invalid_argument", str(exc)) from exc
        try:
            # As POST /threads/{id}/stream/events: reading the events is reading the thread.
            thread_filter = await authorize("threads", "read", {"thread_id": self.thread_id})
        except SpindleError as exc:
            raise commands.CommandError("invalid_argument", str(exc.detail)) from exc
        subscription_id = str(uuid.uuid4())
        self.subscriptions[subscription_id] = asyncio.create_task(
            self._follow(subscription, since, thread_filter)
        )
        # Replayed events arrive as ordinary events right after this response.
        return {"subscription_id": subscription_id}

    def unsubscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        task = self.subscriptions.pop(str(params.get("subscription_id")), None)
        if task is None:
            raise commands.CommandError(
                "no_such_subscription", f"Unknown subscription: {params.get('subscription_id')}"
            )
        task.cancel()
        return {}

    async def stop(self) -> None:
        tasks = list(self.subscriptions.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def application(
    scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Send
) -> None:
    """The ASGI application of protocol websockets (config/asgi.py routes them here)."""
    match = PATH.match(scope["path"])
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    try:
        thread_id = uuid.UUID(match["thread_id"]) if match else None
    except ValueError:
        thread_id = None
    if thread_id is None:
        await send({"type": "websocket.close", "code": 4404})  # before accept: HTTP 403
        return
    try:
        caller = await websocket_caller(scope)
    except Denied:
        await send({"type": "websocket.close", "code": 4401})  # before accept: HTTP 403
        return
    # The connection's commands and subscriptions run as its caller, as a request does.
    token = set_caller(caller)
    await send({"type": "websocket.accept"})
    connection = Connection(thread_id, send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] == "websocket.receive":
                response = await connection.command(message.get("text") or message.get("bytes"))
                await connection.send_json(response)
    finally:
        await connection.stop()
        reset_caller(token)
