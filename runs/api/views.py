"""Runs API: thin views that parse, call a service or selector, and render."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from access.context import current_filter
from access.handlers import authorize
from assistants.selectors import assistant_resolve
from core.db.asyncdb import db
from core.errors import InvalidInput, ServiceUnavailable, preview
from core.http import json_body, json_response, validated
from core.ids import parse_path_id
from core.openapi import ANY_JSON, RUN_ID, THREAD_ID, errors
from core.views import AsyncApi, no_content
from runs import metrics, selectors, services, sse
from runs.api.serializers import (
    STREAM_MODES,
    RunBatchCreateSerializer,
    RunBatchInputSerializer,
    RunCancelInputSerializer,
    RunCreateInputSerializer,
    RunCreateStatefulSerializer,
    RunCreateStatelessSerializer,
    RunCreateStreamingStatefulSerializer,
    RunCreateStreamingStatelessSerializer,
    RunListInputSerializer,
    RunsCancelInputSerializer,
    RunsCancelQuerySerializer,
    RunSerializer,
    run_to_json,
)
from runs.authorize import run_authorize, run_create_authorize
from runs.models import CancelAction
from runs.waits import run_join_body, run_wait
from threads.selectors import thread_get

logger = logging.getLogger(__name__)


parse_uuid = parse_path_id


def _resolve_assistant(assistant_id: str) -> Any:
    return assistant_resolve(assistant_id)


def _create(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> Any:
    if not settings.REDIS_URL:
        raise ServiceUnavailable(
            "Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)"
        )
    assistant = _resolve_assistant(payload["assistant_id"])
    return services.run_create(
        thread_id=thread_id,
        assistant=assistant,
        payload=payload,
        if_not_exists=payload.get("if_not_exists") or "reject",
    )


def _create_batch(payloads: list[dict[str, Any]]) -> list[Any]:
    """Every run of a batch, or none: one transaction, each run dispatched after its commit."""
    if not settings.REDIS_URL:
        raise ServiceUnavailable(
            "Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)"
        )
    with transaction.atomic():
        return [_create(None, payload) for payload in payloads]


SSE = OpenApiResponse(
    {
        "type": "object",
        "properties": {
            "event": {"type": "string"},
            "data": {"type": "string"},
            "id": {"type": "string"},
        },
    },
    description="Server-sent events, each `event: <name>` and `data: <json>` (and `id:` when resumable).",
)
SSE_RESPONSE = {(200, "text/event-stream"): SSE}
STREAM_MODE_QUERY = OpenApiParameter(
    "stream_mode",
    {"type": "array", "items": {"type": "string", "enum": STREAM_MODES}},
    OpenApiParameter.QUERY,
    explode=True,
)
LAST_EVENT_ID = OpenApiParameter(
    "Last-Event-ID", str, OpenApiParameter.HEADER, description="Resume after this event id"
)


def _run_headers(run: Any, *, join: bool = False) -> dict[str, str]:
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    headers = {"Content-Location": base}
    if join:
        headers["Location"] = f"{base}/join"
    return headers


async def _check_run_access(thread_id: uuid.UUID | None, run_id: uuid.UUID) -> None:
    """For join and stream, which read Redis and the run's row directly: NotFound unless the
    caller may read the run's thread (only asked when custom auth filters threads)."""
    await run_authorize(thread_id, run_id, "read")
    if current_filter("threads") is None:
        return
    if thread_id is None:
        found = await db(selectors.run_stream_row, run_id=run_id)
        if found is None:
            return
        thread_id = found["thread_id"]
    await db(selectors.run_get, thread_id=thread_id, run_id=run_id)


def _list_runs(thread_id: uuid.UUID, params: dict[str, Any]) -> list[dict[str, Any]]:
    thread_get(thread_id)
    return [run_to_json(r) for r in selectors.run_list(thread_id=thread_id, **params)]


async def _create_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    payload = validated(RunCreateInputSerializer, json_body(request))
    await run_create_authorize(thread_id, payload)
    run = await db(_create, thread_id, payload)
    return json_response(run_to_json(run), headers=_run_headers(run))


async def _wait_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    payload = validated(RunCreateInputSerializer, json_body(request))
    await run_create_authorize(thread_id, payload)
    run = await db(_create, thread_id, payload)
    try:
        body = await run_join_body(run.thread_id, run.run_id)
    except asyncio.CancelledError:
        if payload.get("on_disconnect") == "cancel":
            await db(_cancel_quietly, run.thread_id, run.run_id)
        raise
    return json_response(body, headers=_run_headers(run, join=True))


def _cancel_quietly(thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
    try:
        services.run_cancel(thread_id=thread_id, run_id=run_id, action=CancelAction.INTERRUPT)
    except Exception as exc:
        logger.info("Run %s: cancel on disconnect skipped: %s", run_id, exc)


class ThreadRunsApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="create_run_threads__thread_id__runs_post",
        summary="Create Background Run",
        tags=["Thread Runs"],
        parameters=[THREAD_ID],
        request=RunCreateStatefulSerializer,
        responses={200: RunSerializer, **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        return await _create_response(request, parse_uuid(thread_id, "thread"))

    @extend_schema(
        operation_id="list_runs_http_threads__thread_id__runs_get",
        summary="List Runs",
        tags=["Thread Runs"],
        parameters=[
            THREAD_ID,
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
                OpenApiParameter.QUERY,
            ),
            OpenApiParameter(
                "offset", {"type": "integer", "minimum": 0, "default": 0}, OpenApiParameter.QUERY
            ),
            OpenApiParameter("status", str, OpenApiParameter.QUERY),
        ],
        responses={200: RunSerializer(many=True), **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_uuid(thread_id, "thread")
        params = validated(RunListInputSerializer, request.GET)
        await run_authorize(tid, None, "read")
        return json_response(await db(_list_runs, tid, params))


class ThreadRunWaitApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="wait_run_threads__thread_id__runs_wait_post",
        summary="Create Run, Wait for Output",
        tags=["Thread Runs"],
        parameters=[THREAD_ID],
        request=RunCreateStreamingStatefulSerializer,
        responses={
            200: OpenApiResponse(ANY_JSON, description="The final values"),
            **errors(404, 409, 422),
        },
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        return await _wait_response(request, parse_uuid(thread_id, "thread"))


class ThreadRunDetailApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="get_run_http_threads__thread_id__runs__run_id__get",
        summary="Get Run",
        tags=["Thread Runs"],
        parameters=[THREAD_ID, RUN_ID],
        responses={200: RunSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        await run_authorize(tid, rid, "read")
        return json_response(run_to_json(await db(selectors.run_get, thread_id=tid, run_id=rid)))

    @extend_schema(
        operation_id="delete_run_threads__thread_id__runs__run_id__delete",
        summary="Delete Run",
        tags=["Thread Runs"],
        parameters=[THREAD_ID, RUN_ID],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    async def delete(self, request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        await run_authorize(tid, rid, "delete")
        await db(services.run_delete, thread_id=tid, run_id=rid)
        return no_content()


class ThreadRunJoinApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="join_run_http_threads__thread_id__runs__run_id__join_get",
        summary="Join Run",
        tags=["Thread Runs"],
        parameters=[THREAD_ID, RUN_ID],
        responses={
            200: OpenApiResponse(ANY_JSON, description="The thread's values"),
            **errors(404, 422),
        },
    )
    async def get(self, request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        await _check_run_access(tid, rid)
        return json_response(await run_join_body(tid, rid))


# The one cancel and the bulk cancel take the same `action` query parameter.
CANCEL_ACTION = OpenApiParameter(
    "action", str, OpenApiParameter.QUERY, enum=["interrupt", "rollback"], default="interrupt"
)


class ThreadRunCancelApi(AsyncApi):
    @extend_schema(
        operation_id="cancel_run_http_threads__thread_id__runs__run_id__cancel_post",
        summary="Cancel Run",
        tags=["Thread Runs"],
        parameters=[
            THREAD_ID,
            RUN_ID,
            OpenApiParameter("wait", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False),
            CANCEL_ACTION,
        ],
        request=None,
        responses={
            200: OpenApiResponse({"type": "object"}, description="Cancelled (wait=true)"),
            202: OpenApiResponse(description="Cancel requested"),
            **errors(404, 422),
        },
    )
    async def post(self, request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        params = validated(RunCancelInputSerializer, request.GET)
        await run_authorize(tid, rid, "update")
        await db(services.run_cancel, thread_id=tid, run_id=rid, action=params["action"])
        if not params["wait"]:
            return HttpResponse(status=202)
        await run_wait(rid)
        return JsonResponse({})


class RunCreateApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="run_stateless_runs_post",
        summary="Create Background Run",
        tags=["Stateless Runs"],
        request=RunCreateStatelessSerializer,
        responses={200: RunSerializer, **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        return await _create_response(request, None)


class RunWaitApi(AsyncApi):
    closes_on_loop = True

    @extend_schema(
        operation_id="wait_run_stateless_runs_wait_post",
        summary="Create Run, Wait for Output",
        tags=["Stateless Runs"],
        request=RunCreateStreamingStatelessSerializer,
        responses={
            200: OpenApiResponse(ANY_JSON, description="The final values"),
            **errors(404, 409, 422),
        },
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        return await _wait_response(request, None)


class RunBatchCreateApi(AsyncApi):
    @extend_schema(
        operation_id="run_batch_stateless_runs_post",
        summary="Create Run Batch",
        tags=["Stateless Runs"],
        request=RunBatchCreateSerializer,
        responses={200: RunSerializer(many=True), **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        batch = RunBatchInputSerializer(data=json_body(request))
        batch.is_valid(raise_exception=True)
        payloads = [dict(p) for p in batch.validated_data]
        for payload in payloads:
            await run_create_authorize(None, payload)
        runs = await db(_create_batch, payloads)
        return json_response([run_to_json(r) for r in runs])


class RunsCancelApi(AsyncApi):
    @extend_schema(
        operation_id="cancel_runs_post",
        summary="Cancel Runs",
        tags=["Thread Runs"],
        parameters=[CANCEL_ACTION],
        request=RunsCancelInputSerializer,
        responses={
            204: OpenApiResponse(description="Success - Runs cancelled"),
            **errors(404, 422),
        },
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        selection = validated(RunsCancelInputSerializer, json_body(request))
        params = validated(RunsCancelQuerySerializer, request.GET)
        await authorize(
            "threads", "update", {"thread_id": selection.get("thread_id"), "run_id": None}
        )
        await db(services.runs_cancel_many, action=params["action"], **selection)
        return no_content()


class MetricsApi(AsyncApi):
    @extend_schema(
        operation_id="system_metrics_metrics_get",
        summary="System Metrics",
        tags=["System"],
        parameters=[
            OpenApiParameter(
                "format",
                str,
                OpenApiParameter.QUERY,
                enum=["prometheus", "json"],
                default="prometheus",
            )
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(
                {"type": "string"}, description="Prometheus exposition format"
            ),
            (200, "application/json"): OpenApiResponse(
                {
                    "type": "object",
                    "properties": {
                        "queue": {"type": "object"},
                        "runs": {"type": "object"},
                        "workers": {"type": "object"},
                    },
                },
                description="queue, runs by status and workers",
            ),
            **errors(422),
        },
    )
    async def get(self, request: HttpRequest) -> HttpResponse:
        """Prometheus text (the default) or JSON (`?format=json`)."""
        fmt = request.GET.get("format", "prometheus")
        if fmt not in ("prometheus", "json"):
            raise InvalidInput("Invalid format: must be prometheus or json")
        data = await db(metrics.metrics_json)
        if fmt == "json":
            return json_response(data)
        return HttpResponse(
            metrics.metrics_prometheus(data), content_type=metrics.PROMETHEUS_CONTENT_TYPE
        )


# --- streaming (SSE) ------------------------------------------------------------------

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
THREAD_STREAM_MODES = ("lifecycle", "run_modes", "state_update")


class _SSEBody:
    """The body of an SSE response. Django closes it once the response is over, whether the
    stream ended or the client went away; only in the second case does `on_disconnect` run.

    Not an async generator: when the client leaves while Django is sending, Django drops
    a generator without closing it, so its cleanup would wait for garbage collection.
    """

    def __init__(
        self, frames: AsyncIterator[bytes], on_disconnect: Callable[[], None] | None
    ) -> None:
        self._frames = frames
        self._on_disconnect = on_disconnect
        self._ended = False

    def __aiter__(self) -> _SSEBody:
        return self

    async def __anext__(self) -> bytes:
        if self._ended:
            raise StopAsyncIteration
        try:
            return await self._frames.__anext__()
        except StopAsyncIteration:
            self._ended = True
            raise
        except redis.RedisError as exc:
            # An error event, then the end: the client resumes with the Last-Event-ID it
            # has (the error carries no id) once Redis is back, and misses nothing.
            logger.warning("Stream closed early, Redis failed: %s", exc)
            self._ended = True
            return sse.frame("error", sse.REDIS_LOST)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("Stream closed early, the database failed: %s", exc)
            self._ended = True
            return sse.frame("error", sse.DATABASE_LOST)

    def close(self) -> None:
        """Called by Django (on a worker thread) when the response is over."""
        if not self._ended and self._on_disconnect is not None:
            self._ended = True
            self._on_disconnect()


def _sse_response(
    frames: AsyncIterator[bytes],
    headers: dict[str, str] | None = None,
    on_disconnect: Callable[[], None] | None = None,
) -> StreamingHttpResponse:
    return StreamingHttpResponse(
        _SSEBody(frames, on_disconnect),
        content_type=SSE_CONTENT_TYPE,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _stream_headers(
    thread_id: uuid.UUID, run_id: uuid.UUID, *, stateless: bool = False
) -> dict[str, str]:
    base = f"/threads/{thread_id}/runs/{run_id}"
    return {
        "Location": f"/runs/{run_id}/stream" if stateless else f"{base}/stream",
        "Content-Location": base,
    }


def _cancel_on_disconnect(thread_id: uuid.UUID, run_id: uuid.UUID) -> Callable[[], None]:
    def cancel() -> None:
        logger.info("Run %s: client disconnected; cancelling (on_disconnect=cancel)", run_id)
        _cancel_quietly(thread_id, run_id)

    return cancel


def _query_modes(request: HttpRequest, names: tuple[str, ...], allowed: Any) -> list[str]:
    modes: list[str] = []
    for name in names:
        for value in request.GET.getlist(name):
            modes.extend(m for m in value.split(",") if m)
    for mode in modes:
        if mode not in allowed:
            raise InvalidInput(
                f"Invalid stream_mode {preview(mode)!r}: must be one of {', '.join(allowed)}"
            )
    return list(dict.fromkeys(modes))


def _query_bool(request: HttpRequest, name: str) -> bool:
    value = request.GET.get(name, "false").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise InvalidInput(f"Invalid {name}: must be true or false")


async def _stream_create_response(
    request: HttpRequest, thread_id: uuid.UUID | None
) -> HttpResponseBase:
    payload = validated(RunCreateInputSerializer, json_body(request))
    await run_create_authorize(thread_id, payload)
    run = await db(_create, thread_id, payload)
    # From the very start of the run's stream: a run created here misses nothing.
    frames = sse.follow_run(
        str(run.run_id), after=sse.REPLAY_ALL, with_ids=bool(payload.get("stream_resumable"))
    )
    on_disconnect = (
        _cancel_on_disconnect(run.thread_id, run.run_id)
        if payload.get("on_disconnect") == "cancel"
        else None
    )
    headers = _stream_headers(run.thread_id, run.run_id, stateless=thread_id is None)
    return _sse_response(frames, headers, on_disconnect)


async def _join_stream_response(
    request: HttpRequest, thread_id: uuid.UUID | None, run_id: uuid.UUID
) -> HttpResponseBase:
    modes = _query_modes(request, ("stream_mode",), STREAM_MODES)
    cancel = _query_bool(request, "cancel_on_disconnect")
    await _check_run_access(thread_id, run_id)
    frames = await sse.open_run_join(
        run_id,
        thread_id=thread_id,
        last_event_id=request.headers.get("Last-Event-ID"),
        modes=modes or None,
    )
    on_disconnect = None
    if cancel and thread_id is not None:
        on_disconnect = _cancel_on_disconnect(thread_id, run_id)
    if thread_id is None:
        headers = {"Location": f"/runs/{run_id}/stream"}
    else:
        headers = _stream_headers(thread_id, run_id)
    return _sse_response(frames, headers, on_disconnect)


class ThreadRunStreamApi(AsyncApi):
    @extend_schema(
        operation_id="stream_run_threads__thread_id__runs_stream_post",
        summary="Create Run, Stream Output",
        tags=["Thread Runs"],
        parameters=[THREAD_ID],
        request=RunCreateStreamingStatefulSerializer,
        responses={**SSE_RESPONSE, **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponseBase:
        return await _stream_create_response(request, parse_uuid(thread_id, "thread"))


class RunStreamApi(AsyncApi):
    @extend_schema(
        operation_id="stream_run_stateless_runs_stream_post",
        summary="Create Run, Stream Output",
        tags=["Stateless Runs"],
        request=RunCreateStreamingStatelessSerializer,
        responses={**SSE_RESPONSE, **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponseBase:
        return await _stream_create_response(request, None)


class ThreadRunJoinStreamApi(AsyncApi):
    @extend_schema(
        operation_id="stream_run_http_threads__thread_id__runs__run_id__join_get",
        summary="Join Run Stream",
        tags=["Thread Runs"],
        parameters=[
            THREAD_ID,
            RUN_ID,
            STREAM_MODE_QUERY,
            LAST_EVENT_ID,
            OpenApiParameter(
                "cancel_on_disconnect", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False
            ),
        ],
        responses={**SSE_RESPONSE, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str, run_id: str) -> HttpResponseBase:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        return await _join_stream_response(request, tid, rid)


class RunJoinStreamApi(AsyncApi):
    # Not in the official document, which has no stateless join: left out of ours too.
    @extend_schema(exclude=True)
    async def get(self, request: HttpRequest, run_id: str) -> HttpResponseBase:
        return await _join_stream_response(request, None, parse_uuid(run_id, "run"))


class ThreadStreamApi(AsyncApi):
    @extend_schema(
        operation_id="join_thread_stream_threads__thread_id__stream_get",
        summary="Join Thread Stream",
        tags=["Threads"],
        parameters=[
            THREAD_ID,
            LAST_EVENT_ID,
            OpenApiParameter(
                "stream_mode",
                {"type": "array", "items": {"type": "string", "enum": list(THREAD_STREAM_MODES)}},
                OpenApiParameter.QUERY,
                explode=True,
            ),
        ],
        responses={**SSE_RESPONSE, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponseBase:
        tid = parse_uuid(thread_id, "thread")
        # Every mode is served as run_modes (all events of the thread's runs).
        _query_modes(request, ("stream_mode", "stream_modes"), THREAD_STREAM_MODES)
        await run_authorize(tid, None, "read")
        await db(thread_get, tid)
        after = sse.parse_last_event_id(request.headers.get("Last-Event-ID"))
        return _sse_response(sse.follow_thread(tid, after=after))
