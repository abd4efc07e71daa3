"""Views of the threads API: parse, call one service or selector, render."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from access.handlers import authorize
from core.db.asyncdb import db
from core.http import json_body, json_response, validated
from core.ids import parse_path_id
from core.input import MAX_ID_LENGTH, check_text
from core.openapi import THREAD_ID, errors
from core.views import AsyncApi, no_content
from runs.services import thread_delete, thread_prune
from thread_ttl.services import default_thread_ttl, thread_ttl_parse, thread_ttl_set
from threads import selectors, services
from threads.api.serializers import (
    InputThreadCountSerializer,
    InputThreadCreateSerializer,
    InputThreadHistoryQuerySerializer,
    InputThreadHistorySerializer,
    InputThreadPatchSerializer,
    InputThreadPruneSerializer,
    InputThreadSearchSerializer,
    InputThreadStateCheckpointSerializer,
    InputThreadStateQuerySerializer,
    InputThreadStateUpdateSerializer,
    OutputThreadSerializer,
    SelectedThreadSerializer,
    ThreadPruneResponseSerializer,
    ThreadStateSerializer,
    ThreadStateUpdateResponseSerializer,
    ThreadStorageSerializer,
    thread_to_json,
)

SUBGRAPHS = OpenApiParameter("subgraphs", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False)


def parse_thread_id(value: str) -> uuid.UUID:
    return parse_path_id(value, "thread")


async def readable_thread_id(value: str) -> uuid.UUID:
    """The path's thread id, once the auth handler allowed reading it (its filter then
    hides the thread from the selectors if it is not the caller's)."""
    thread_id = parse_thread_id(value)
    await authorize("threads", "read", {"thread_id": thread_id})
    return thread_id


def _search_value(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": payload.get("metadata") or {},
        "values": payload.get("values") or {},
        "status": payload.get("status"),
        "limit": payload["limit"],
        "offset": payload["offset"],
        "thread_id": None,
    }


def _thread_create(payload: dict[str, Any], metadata: dict[str, Any], ttl: Any) -> dict[str, Any]:
    thread = services.thread_create(
        thread_id=payload.get("thread_id"),
        metadata=metadata,
        if_exists=payload["if_exists"],
        supersteps=payload.get("supersteps"),
    )
    thread_ttl_set(thread_id=thread.pk, ttl=ttl)
    return thread_to_json(thread)


def _thread_update(thread_id: uuid.UUID, metadata: Any, ttl: Any) -> dict[str, Any]:
    thread = services.thread_update(thread_id=thread_id, metadata=metadata)
    thread_ttl_set(thread_id=thread_id, ttl=ttl)
    return thread_to_json(thread)


def _thread_search(payload: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    threads, total = selectors.thread_search(
        metadata=payload.get("metadata"),
        ids=payload.get("ids"),
        status=payload.get("status"),
        values=payload.get("values"),
        limit=payload["limit"],
        offset=payload["offset"],
        sort_by=payload.get("sort_by"),
        sort_order=payload.get("sort_order"),
    )
    select, extract = payload.get("select"), payload.get("extract")
    return [thread_to_json(t, select=select, extract=extract) for t in threads], total


def _thread_json(thread_id: uuid.UUID, *, copy: bool = False) -> dict[str, Any]:
    thread = services.thread_copy(thread_id=thread_id) if copy else selectors.thread_get(thread_id)
    return thread_to_json(thread, copy=copy)


def _thread_storage(thread_id: uuid.UUID) -> Any:
    return selectors.thread_storage(thread=selectors.thread_get(thread_id))


def _thread_state(thread_id: uuid.UUID, query: Any, checkpoint_id: str | None = None) -> Any:
    """The state at the checkpoint (the latest without one); the thread is looked up before
    the query is validated, so a missing thread is a 404 whatever the query."""
    thread = selectors.thread_get(thread_id)
    if checkpoint_id is not None:
        check_text(checkpoint_id, "checkpoint_id", max_length=MAX_ID_LENGTH)
    subgraphs = validated(InputThreadStateQuerySerializer, query)["subgraphs"]
    if checkpoint_id is None:
        return selectors.thread_state_get(thread=thread, subgraphs=subgraphs)
    return selectors.thread_state_get(
        thread=thread, checkpoint_id=checkpoint_id, subgraphs=subgraphs
    )


def _thread_state_at(thread_id: uuid.UUID, payload: dict[str, Any]) -> Any:
    thread = selectors.thread_get(thread_id)
    checkpoint = payload["checkpoint"]
    return selectors.thread_state_get(
        thread=thread,
        checkpoint_id=selectors.checkpoint_id_of(checkpoint),
        checkpoint_ns=str(checkpoint.get("checkpoint_ns") or ""),
        subgraphs=payload["subgraphs"],
    )


def _thread_history(thread_id: uuid.UUID, query: Any) -> Any:
    thread = selectors.thread_get(thread_id)
    params = validated(InputThreadHistoryQuerySerializer, query)
    return selectors.thread_history(
        thread=thread, limit=params["limit"], before=params.get("before") or None
    )


def _thread_history_post(thread_id: uuid.UUID, payload: dict[str, Any]) -> Any:
    return selectors.thread_history(
        thread=selectors.thread_get(thread_id),
        limit=payload["limit"],
        before=payload.get("before"),
        metadata=payload.get("metadata"),
        checkpoint=payload.get("checkpoint"),
    )


class ThreadCreateApi(AsyncApi):
    @extend_schema(
        operation_id="create_thread_threads_post",
        summary="Create Thread",
        tags=["Threads"],
        request=InputThreadCreateSerializer,
        responses={200: OutputThreadSerializer, **errors(400, 409, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputThreadCreateSerializer, json_body(request))
        ttl = thread_ttl_parse(payload.get("ttl")) or default_thread_ttl()
        value = {
            "thread_id": payload.get("thread_id"),
            "metadata": dict(payload.get("metadata") or {}),
            "if_exists": payload["if_exists"],
            "ttl": payload.get("ttl"),
        }
        await authorize("threads", "create", value)
        return json_response(await db(_thread_create, payload, value["metadata"], ttl))


class ThreadSearchApi(AsyncApi):
    @extend_schema(
        operation_id="search_threads_threads_search_post",
        summary="Search Threads",
        tags=["Threads"],
        request=InputThreadSearchSerializer,
        responses={200: SelectedThreadSerializer(many=True), **errors(422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputThreadSearchSerializer, json_body(request))
        limit, offset = payload["limit"], payload["offset"]
        await authorize("threads", "search", _search_value(payload))
        threads, total = await db(_thread_search, payload)
        headers = {"X-Pagination-Total": str(total)}
        if offset + limit < total:
            headers["X-Pagination-Next"] = str(offset + limit)
        return json_response(threads, headers=headers)


class ThreadCountApi(AsyncApi):
    @extend_schema(
        operation_id="count_threads_threads_count_post",
        summary="Count Threads",
        tags=["Threads"],
        request=InputThreadCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputThreadCountSerializer, json_body(request))
        await authorize("threads", "search", _search_value({"limit": 0, "offset": 0, **payload}))
        count = await db(
            selectors.thread_count,
            metadata=payload.get("metadata"),
            values=payload.get("values"),
            status=payload.get("status"),
        )
        return json_response(count)


class ThreadPruneApi(AsyncApi):
    @extend_schema(
        operation_id="prune_threads_threads_prune_post",
        summary="Prune Threads",
        tags=["Threads"],
        request=InputThreadPruneSerializer,
        responses={200: ThreadPruneResponseSerializer, **errors(422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputThreadPruneSerializer, json_body(request))
        await authorize(
            "threads", "delete", {"thread_id": None, "thread_ids": payload["thread_ids"]}
        )
        pruned = await db(
            thread_prune, thread_ids=payload["thread_ids"], strategy=payload["strategy"]
        )
        return json_response({"pruned_count": pruned})


class ThreadDetailApi(AsyncApi):
    @extend_schema(
        operation_id="get_thread_threads__thread_id__get",
        summary="Get Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={200: OutputThreadSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        return json_response(await db(_thread_json, await readable_thread_id(thread_id)))

    @extend_schema(
        operation_id="patch_thread_threads__thread_id__patch",
        summary="Patch Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadPatchSerializer,
        responses={200: OutputThreadSerializer, **errors(404, 422)},
    )
    async def patch(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadPatchSerializer, json_body(request))
        ttl = thread_ttl_parse(payload.get("ttl"))
        value: dict[str, Any] = {
            "thread_id": tid,
            "metadata": dict(payload.get("metadata") or {}),
            "action": None,
        }
        await authorize("threads", "update", value)
        metadata = (
            value["metadata"] if payload.get("metadata") is not None or value["metadata"] else None
        )
        return json_response(await db(_thread_update, tid, metadata, ttl))

    @extend_schema(
        operation_id="delete_thread_threads__thread_id__delete",
        summary="Delete Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    async def delete(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_thread_id(thread_id)
        await authorize("threads", "delete", {"thread_id": tid, "run_id": None})
        await db(thread_delete, thread_id=tid)
        return no_content()


class ThreadCopyApi(AsyncApi):
    @extend_schema(
        operation_id="copy_thread_post_threads__thread_id__copy_post",
        summary="Copy Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=None,
        responses={200: OutputThreadSerializer, **errors(409, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        # The SDK sends no body here.
        tid = await readable_thread_id(thread_id)
        # As officially: copying needs the right to create a thread too; that check's
        # filter must not replace the one that finds the source.
        await authorize("threads", "create", {"thread_id": None, "metadata": {}}, remember=False)
        return json_response(await db(_thread_json, tid, copy=True))


class ThreadStorageApi(AsyncApi):
    @extend_schema(
        operation_id="get_thread_storage_threads__thread_id__storage_get",
        summary="Get Thread Storage",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={200: ThreadStorageSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        return json_response(await db(_thread_storage, await readable_thread_id(thread_id)))


class ThreadStateApi(AsyncApi):
    @extend_schema(
        operation_id="get_latest_thread_state_threads__thread_id__state_get",
        summary="Get Thread State",
        tags=["Threads"],
        parameters=[THREAD_ID, SUBGRAPHS],
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = await readable_thread_id(thread_id)
        return json_response(await db(_thread_state, tid, request.GET))

    @extend_schema(
        operation_id="update_thread_state_threads__thread_id__state_post",
        summary="Update Thread State",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadStateUpdateSerializer,
        responses={200: ThreadStateUpdateResponseSerializer, **errors(400, 404, 409, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadStateUpdateSerializer, json_body(request))
        await authorize("threads", "update", {"thread_id": tid, "metadata": {}, "action": None})
        checkpoint = payload.get("checkpoint") or {}
        result = await db(
            services.thread_update_state,
            thread_id=tid,
            values=payload.get("values"),
            as_node=payload.get("as_node") or None,
            checkpoint_id=payload.get("checkpoint_id") or checkpoint.get("checkpoint_id") or None,
            checkpoint_ns=str(checkpoint.get("checkpoint_ns") or ""),
        )
        return json_response(result)


class ThreadStateCheckpointApi(AsyncApi):
    """GET /state/{checkpoint_id}."""

    @extend_schema(
        operation_id="get_thread_state_at_checkpoint_threads__thread_id__state__checkpoint_id__get",
        summary="Get Thread State At Checkpoint",
        tags=["Threads"],
        parameters=[THREAD_ID, SUBGRAPHS],
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str, checkpoint_id: str) -> HttpResponse:
        tid = await readable_thread_id(thread_id)
        return json_response(await db(_thread_state, tid, request.GET, checkpoint_id))


class ThreadStateAtCheckpointApi(AsyncApi):
    """POST /state/checkpoint: the state at the checkpoint the body names."""

    @extend_schema(
        operation_id="post_thread_state_at_checkpoint_threads__thread_id__state__checkpoint_id__get",
        summary="Get Thread State At Checkpoint",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadStateCheckpointSerializer,
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = await readable_thread_id(thread_id)
        payload = validated(InputThreadStateCheckpointSerializer, json_body(request))
        return json_response(await db(_thread_state_at, tid, payload))


class ThreadHistoryApi(AsyncApi):
    @extend_schema(
        operation_id="get_thread_history_threads__thread_id__history_get",
        summary="Get Thread History",
        tags=["Threads"],
        parameters=[
            THREAD_ID,
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
                OpenApiParameter.QUERY,
            ),
            OpenApiParameter("before", str, OpenApiParameter.QUERY),
        ],
        responses={200: ThreadStateSerializer(many=True), **errors(400, 404, 422)},
    )
    async def get(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = await readable_thread_id(thread_id)
        return json_response(await db(_thread_history, tid, request.GET))

    @extend_schema(
        operation_id="get_thread_history_post_threads__thread_id__history_post",
        summary="Get Thread History Post",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadHistorySerializer,
        responses={200: ThreadStateSerializer(many=True), **errors(400, 404, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = await readable_thread_id(thread_id)
        payload = validated(InputThreadHistorySerializer, json_body(request))
        return json_response(await db(_thread_history_post, tid, payload))
