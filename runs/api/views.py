"""Runs API: thin views that parse, call a service or selector, and render."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ServiceUnavailable, error_payload, parse_json_body
from config.ids import parse_path_id
from runs import selectors, services
from runs.api.serializers import (
    RunCancelInputSerializer,
    RunCreateInputSerializer,
    RunListInputSerializer,
    run_to_json,
)
from runs.models import CancelAction
from runs.waits import run_join_body, run_wait

logger = logging.getLogger(__name__)


parse_uuid = parse_path_id


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


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


class RunCreateApi(APIView):
    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_uuid(thread_id, "thread")
        payload = _validated(RunCreateInputSerializer, request.data)
        run = _create(tid, payload)
        return Response(run_to_json(run), headers=_run_headers(run))

    def get(self, request: Request, thread_id: str) -> Response:
        tid = parse_uuid(thread_id, "thread")
        params = _validated(RunListInputSerializer, request.query_params)
        from threads.selectors import thread_get

        thread_get(tid)
        runs = selectors.run_list(thread_id=tid, **params)
        return Response([run_to_json(r) for r in runs])


class StatelessRunCreateApi(APIView):
    def post(self, request: Request) -> Response:
        payload = _validated(RunCreateInputSerializer, request.data)
        run = _create(None, payload)
        return Response(run_to_json(run), headers=_run_headers(run))


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


def _method_not_allowed() -> JsonResponse:
    return JsonResponse({"detail": "Method Not Allowed"}, status=405)


async def _wait_response(request: HttpRequest, thread_id: uuid.UUID | None) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    payload = _validated(RunCreateInputSerializer, parse_json_body(request.body))
    run = await sync_to_async(_create)(thread_id, payload)
    try:
        body = await run_join_body(run.thread_id, run.run_id)
    except asyncio.CancelledError:
        if payload.get("on_disconnect") == "cancel":
            await sync_to_async(_cancel_quietly)(run.thread_id, run.run_id)
        raise
    return JsonResponse(body, safe=False, headers=_run_headers(run, join=True))


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
    return JsonResponse(await run_join_body(tid, rid), safe=False)


@async_api
async def run_cancel_view(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed()
    tid, rid = parse_uuid(thread_id, "thread"), parse_uuid(run_id, "run")
    params = _validated(RunCancelInputSerializer, request.GET)
    await sync_to_async(services.run_cancel)(thread_id=tid, run_id=rid, action=params["action"])
    if not params["wait"]:
        return HttpResponse(status=202)
    await run_wait(rid)
    return JsonResponse({})
