"""Raw clients of the thread-stream protocol (SSE and websocket) for the e2e tests, and the
server a protocol test runs against: Spindle's stack, or `langgraph dev` when
LANGGRAPH_OFFICIAL_URL names one (the same test code against both)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets

Event = dict[str, Any]


def server_url(request: pytest.FixtureRequest) -> str:
    if request.param == "official":
        url = os.environ.get("LANGGRAPH_OFFICIAL_URL")
        if not url:
            pytest.skip(
                "set LANGGRAPH_OFFICIAL_URL to a `langgraph dev` serving tests/e2e/langgraph.json"
            )
        return url
    return request.getfixturevalue("stack").url


async def _sse_events(url: str, thread_id: str, body: dict[str, Any]) -> AsyncGenerator[Event]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        async with http.stream(
            "POST",
            f"/threads/{thread_id}/stream/events",
            json=body,
            headers={"accept": "text/event-stream"},
        ) as response:
            response.raise_for_status()
            data: list[str] = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif not line and data:
                    yield json.loads("\n".join(data))
                    data = []


async def _ws_events(url: str, thread_id: str, body: dict[str, Any]) -> AsyncGenerator[Event]:
    ws_url = url.replace("http://", "ws://", 1) + f"/threads/{thread_id}/stream/events"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe", "params": body}))
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "event":
                yield message
            else:
                assert message.get("type") == "success", message


@asynccontextmanager
async def event_stream(
    url: str, thread_id: str, body: dict[str, Any], transport: str
) -> AsyncIterator[AsyncIterator[Event]]:
    """An open event stream of the thread (its iterator closes the connection on exit)."""
    events = (_sse_events if transport == "sse" else _ws_events)(url, thread_id, body)
    try:
        yield events
    finally:
        await events.aclose()


async def read_until(
    events: AsyncIterator[Event], done: Any, *, timeout: float = 60
) -> list[Event]:
    """Events until one for which `done(event, so_far)` holds (that one included)."""
    seen: list[Event] = []

    async def read() -> None:
        async for event in events:
            seen.append(event)
            if done(event, seen):
                return
        raise AssertionError(f"the stream ended early after {[e['method'] for e in seen]}")

    await asyncio.wait_for(read(), timeout)
    return seen


def is_root_lifecycle(event: Event, *phases: str) -> bool:
    return (
        event["method"] == "lifecycle"
        and event["params"]["namespace"] == []
        and event["params"]["data"]["event"] in phases
    )


async def command(
    url: str, thread_id: str, method: str, params: dict[str, Any], command_id: int = 1
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return await http.post(
            f"/threads/{thread_id}/commands",
            json={"id": command_id, "method": method, "params": params},
        )


def a2a_message(text: str, context_id: str | None = None) -> dict[str, Any]:
    """The params of an A2A message/send or message/stream: one user text part."""
    message = {
        "role": "user",
        "parts": [{"kind": "text", "text": text}],
        "messageId": str(uuid.uuid4()),
    }
    if context_id:
        message["contextId"] = context_id
    return {"message": message}
