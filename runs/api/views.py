"""Runs API: thin views that parse, call a service or selector, and render."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_response, validated
from config.asyncdb import db
from config.errors import InvalidInput, ServiceUnavailable, error_payload, parse_json_body
from config.ids import parse_path_id
from runs import selectors, services, sse
from runs.api.serializers import (
    STREAM_MODES,
    RunCancelInputSerializer,
    RunCreateInputSerializer,
    RunListInputSerializer,
    run_to_json,
)
from runs.models import CancelAction
from runs.waits import run_join_body, run_wait

logger = logging.getLogger(__name__)


parse_uuid = parse_path_id


def _resolve_assistant(assistant_id: str) -> Any:
    from assistants.selectors import assistant_resolve

    return assistant_resolve(assistant_id)


def _create(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> Any:
    if not settings.REDIS_URL:
        raise ServiceUnavailable("Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)")
    assistant = _resolve_assistant(payload["assistant_id"])
    return services.run_create(
        thread_id=thread_id,
        assistant=assistant,
        payload=payload,
        if_not_exists=payload.get("if_not_exists") or "reject",
    )


def _run_headers(run: Any, *, join: bool = False) -> dict[str, str]:
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    headers = {"Content-Location": base}
    if join:
        headers["Location"] = f"{base}/join"
    return headers


class RunDetailApi(APIView):
    def get(self, request: Request, thread_id: str, run_id: str) -> Response:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        return Response(run_to_json(selectors.run_get(thread_id=tid, run_id=rid)))

    def delete(self, request: Request, thread_id: str, run_id: str) -> Response:
        tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
        services.run_delete(thread_id=tid, run_id=rid)
        return Response(status=204)


# --- async views: long waits hold no thread and no database connection -------------


def async_api(view: Callable[..., Awaitable[HttpResponse]]) -> Callable[..., Awaitable[HttpResponse]]:
    """JSON errors for plain async views, with the same mapping as the DRF handler."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return await view(request, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status, body = error_payload(exc)
            return JsonResponse(body, status=status)

    return csrf_exempt(wrapper)


def _list_runs(thread_id: uuid.UUID, params: dict[str, Any]) -> list[dict[str, Any]]:
    from threads.selectors import thread_get

    thread_get(thread_id)
    return [run_to_json(r) for r in selectors.run_list(thread_id=thread_id, **params)]


async def _create_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    payload = validated(RunCreateInputSerializer, parse_json_body(request.body))
    run = await db(_create, thread_id, payload)
    return json_response(run_to_json(run), headers=_run_headers(run))


@async_api
async def runs_view(request: HttpRequest, thread_id: str) -> HttpResponse:
    """POST creates a run on the thread, GET lists its runs (newest first)."""
    tid = parse_uuid(thread_id, "thread")
    if request.method == "POST":
        return await _create_response(request, tid)
    if request.method == "GET":
        params = validated(RunListInputSerializer, request.GET)
        return json_response(await db(_list_runs, tid, params))
    return _method_not_allowed()


@async_api
async def stateless_runs_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    return await _create_response(request, None)


def _method_not_allowed() -> JsonResponse:
    return JsonResponse({"detail": "Method Not Allowed"}, status=405)


async def _wait_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    payload = validated(RunCreateInputSerializer, parse_json_body(request.body))
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


@async_api
async def run_wait_view(request: HttpRequest, thread_id: str) -> HttpResponse:
    return await _wait_response(request, parse_uuid(thread_id, "thread"))


@async_api
async def stateless_run_wait_view(request: HttpRequest) -> HttpResponse:
    return await _wait_response(request, None)


@async_api
async def run_join_view(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed()
    tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    return json_response(await run_join_body(tid, rid))


@async_api
async def run_cancel_view(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    params = validated(RunCancelInputSerializer, request.GET)
    await db(services.run_cancel, thread_id=tid, run_id=rid, action=params["action"])
    if not params["wait"]:
        return HttpResponse(status=202)
    await run_wait(rid)
    return JsonResponse({})


# --- streaming (SSE) ------------------------------------------------------------------

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
THREAD_STREAM_MODES = ("lifecycle", "run_modes", "state_update")


class _SSEBody:
    """The body of an SSE response. Django closes it once the response is over, whether the
    stream ended or the client went away; only in the second case does `on_disconnect` run.

    Not an async generator: when the client leaves while Django is sending, Django drops
    a generator without closing it, so its cleanup would wait for garbage collection.
    """

    def __init__(self, frames: AsyncIterator[bytes], on_disconnect: Callable[[], None] | None) -> None:
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


def _stream_headers(thread_id: uuid.UUID, run_id: uuid.UUID, *, stateless: bool = False) -> dict[str, str]:
    base = f"/threads/{thread_id}/runs/{run_id}"
    return {"Location": f"/runs/{run_id}/stream" if stateless else f"{base}/stream", "Content-Location": base}


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
            raise InvalidInput(f"Invalid stream_mode {mode!r}: must be one of {', '.join(allowed)}")
    return list(dict.fromkeys(modes))


def _query_bool(request: HttpRequest, name: str) -> bool:
    value = request.GET.get(name, "false").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise InvalidInput(f"Invalid {name}: must be true or false")


async def _stream_create_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    payload = validated(RunCreateInputSerializer, parse_json_body(request.body))
    run = await db(_create, thread_id, payload)
    # From the very start of the run's stream: a run created here misses nothing.
    frames = sse.follow_run(str(run.run_id), after=sse.REPLAY_ALL, with_ids=bool(payload.get("stream_resumable")))
    on_disconnect = (
        _cancel_on_disconnect(run.thread_id, run.run_id) if payload.get("on_disconnect") == "cancel" else None
    )
    headers = _stream_headers(run.thread_id, run.run_id, stateless=thread_id is None)
    return _sse_response(frames, headers, on_disconnect)


@async_api
async def run_stream_view(request: HttpRequest, thread_id: str) -> HttpResponse:
    return await _stream_create_response(request, parse_uuid(thread_id, "thread"))


@async_api
async def stateless_run_stream_view(request: HttpRequest) -> HttpResponse:
    return await _stream_create_response(request, None)


async def _join_stream_response(request: HttpRequest, thread_id: uuid.UUID | None, run_id: uuid.UUID) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed()
    modes = _query_modes(request, ("stream_mode",), STREAM_MODES)
    cancel = _query_bool(request, "cancel_on_disconnect")
    frames = await sse.open_run_join(
        run_id, thread_id=thread_id, last_event_id=request.headers.get("Last-Event-ID"), modes=modes or None
    )
    on_disconnect = None
    if cancel and thread_id is not None:
        on_disconnect = _cancel_on_disconnect(thread_id, run_id)
    if thread_id is None:
        headers = {"Location": f"/runs/{run_id}/stream"}
    else:
        headers = _stream_headers(thread_id, run_id)
    return _sse_response(frames, headers, on_disconnect)


@async_api
async def run_join_stream_view(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    return await _join_stream_response(request, tid, rid)


@async_api
async def stateless_run_join_stream_view(request: HttpRequest, run_id: str) -> HttpResponse:
    return await _join_stream_response(request, None, parse_uuid(run_id, "run"))


@async_api
async def thread_stream_view(request: HttpRequest, thread_id: str) -> HttpResponse:
    if request.method != "GET":
        return _method_not_allowed()
    tid = parse_uuid(thread_id, "thread")
    # Every mode is served as run_modes (all events of the thread's runs).
    _query_modes(request, ("stream_mode", "stream_modes"), THREAD_STREAM_MODES)
    from threads.selectors import thread_get

    await db(thread_get, tid)
    after = sse.parse_last_event_id(request.headers.get("Last-Event-ID"))
    return _sse_response(sse.follow_thread(tid, after=after))
