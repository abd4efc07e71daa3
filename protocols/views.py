"""Views of the thread-stream protocol: the SSE event stream and the commands endpoint."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema

from access.handlers import authorize
from core.errors import InvalidInput
from core.http import json_body
from core.ids import parse_path_id
from core.openapi import errors, path_id
from core.views import AsyncApi
from protocols import commands
from protocols.events import FilterError, parse_filter, parse_since
from protocols.openapi import (
    CommandSerializer,
    EventStreamRequestSerializer,
    component,
    error_response,
    sse_frames,
)
from protocols.streaming import thread_events
from runs import sse

logger = logging.getLogger(__name__)


async def _frames(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    beat = sse.Heartbeat()
    try:
        async for batch in events:
            if batch is None:
                if beat.due():
                    yield sse.HEARTBEAT
                    beat.sent()
                continue
            for event in batch:
                yield sse.frame(event["method"], event, str(event["seq"]))
            beat.sent()
    except redis.RedisError as exc:
        # Ending the stream lets the client reconnect with `since` and miss nothing.
        logger.warning("Protocol event stream closed early, Redis failed: %s", exc)


def _body_or_none(request: HttpRequest) -> Any:
    """The JSON body, or None without one (json_body refuses only that, the input gate having
    refused malformed JSON): the protocol's parsers answer it as a body that is no object."""
    try:
        return json_body(request)
    except InvalidInput:
        return None


# POST /threads/{thread_id}/stream/events: the thread's protocol events as SSE.
class ThreadEventStreamApi(AsyncApi):
    @extend_schema(
        operation_id="protocol_thread_events_post",
        summary="Protocol v2 Event Stream (SSE)",
        tags=["Streaming"],
        parameters=[path_id("thread_id", "The ID of the thread to observe.")],
        request=EventStreamRequestSerializer,
        responses={
            (200, "text/event-stream"): sse_frames(
                component("ProtocolEvent"),
                "The thread's protocol events: `event:` the method, `data:` the event, `id:` its seq.",
            ),
            400: error_response("Invalid request body"),
            **errors(422),
        },
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponseBase:
        tid = parse_path_id(thread_id, "thread")
        body = _body_or_none(request)
        try:
            subscription = parse_filter(body)
            since = parse_since(body.get("since"))
        except FilterError as exc:
            # The official server answers 400 to a bad body here.
            return JsonResponse({"detail": str(exc)}, status=400)
        # Reading the events is reading the thread. The stream outlives the request (and
        # its caller), so it takes the handler's filter along.
        thread_filter = await authorize("threads", "read", {"thread_id": tid})
        return StreamingHttpResponse(
            _frames(thread_events(tid, subscription, since=since, thread_filter=thread_filter)),
            content_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )


# POST /threads/{thread_id}/commands: one protocol command, answered in the protocol's
# success or error envelope (400 for an envelope that cannot be read).
class ThreadCommandApi(AsyncApi):
    @extend_schema(
        operation_id="protocol_thread_command_post",
        summary="Protocol v2 Command",
        tags=["Streaming"],
        parameters=[path_id("thread_id", "The ID of the thread the command applies to.")],
        request=CommandSerializer,
        responses={
            200: OpenApiResponse(
                {"oneOf": [component("ProtocolSuccess"), component("ProtocolError")]},
                description="Protocol response — either `ProtocolSuccess` or `ProtocolError`.",
            ),
            400: OpenApiResponse(
                component("ProtocolError"), description="Malformed command envelope"
            ),
            **errors(422),
        },
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_path_id(thread_id, "thread")
        body = _body_or_none(request)
        try:
            command_id, method, params = commands.parse_envelope(body)
        except commands.CommandError as exc:
            return JsonResponse(
                commands.error(
                    body.get("id") if isinstance(body, dict) else None, exc.code, exc.message
                ),
                status=400,
            )
        try:
            result = await commands.ahandle(tid, method, params)
        except commands.CommandError as exc:
            return JsonResponse(commands.error(command_id, exc.code, exc.message))
        return JsonResponse(commands.success(command_id, result))
