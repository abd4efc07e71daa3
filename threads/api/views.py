"""Views of the threads API: parse, call one service or selector, render."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.handlers import authorize_sync
from core.http import json_body, validated
from core.ids import parse_path_id
from core.input import MAX_ID_LENGTH, check_text
from core.openapi import THREAD_ID, errors
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


def readable_thread_id(value: str) -> uuid.UUID:
    """The path's thread id, once the auth handler allowed reading it (its filter then
    hides the thread from the selectors if it is not the caller's)."""
    thread_id = parse_thread_id(value)
    authorize_sync("threads", "read", {"thread_id": thread_id})
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


class ThreadCreateApi(APIView):
    @extend_schema(
        operation_id="create_thread_threads_post",
        summary="Create Thread",
        tags=["Threads"],
        request=InputThreadCreateSerializer,
        responses={200: OutputThreadSerializer, **errors(400, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadCreateSerializer, json_body(request))
        ttl = thread_ttl_parse(payload.get("ttl")) or default_thread_ttl()
        value = {
            "thread_id": payload.get("thread_id"),
            "metadata": dict(payload.get("metadata") or {}),
            "if_exists": payload["if_exists"],
            "ttl": payload.get("ttl"),
        }
        authorize_sync("threads", "create", value)
        thread = services.thread_create(
            thread_id=payload.get("thread_id"),
            metadata=value["metadata"],
            if_exists=payload["if_exists"],
            supersteps=payload.get("supersteps"),
        )
        thread_ttl_set(thread_id=thread.pk, ttl=ttl)
        return Response(thread_to_json(thread))


class ThreadSearchApi(APIView):
    @extend_schema(
        operation_id="search_threads_threads_search_post",
        summary="Search Threads",
        tags=["Threads"],
        request=InputThreadSearchSerializer,
        responses={200: SelectedThreadSerializer(many=True), **errors(422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadSearchSerializer, json_body(request))
        limit, offset = payload["limit"], payload["offset"]
        authorize_sync("threads", "search", _search_value(payload))
        threads, total = selectors.thread_search(
            metadata=payload.get("metadata"),
            ids=payload.get("ids"),
            status=payload.get("status"),
            values=payload.get("values"),
            limit=limit,
            offset=offset,
            sort_by=payload.get("sort_by"),
            sort_order=payload.get("sort_order"),
        )
        headers = {"X-Pagination-Total": str(total)}
        if offset + limit < total:
            headers["X-Pagination-Next"] = str(offset + limit)
        select, extract = payload.get("select"), payload.get("extract")
        return Response(
            [thread_to_json(t, select=select, extract=extract) for t in threads], headers=headers
        )


class ThreadCountApi(APIView):
    @extend_schema(
        operation_id="count_threads_threads_count_post",
        summary="Count Threads",
        tags=["Threads"],
        request=InputThreadCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadCountSerializer, json_body(request))
        authorize_sync("threads", "search", _search_value({"limit": 0, "offset": 0, **payload}))
        count = selectors.thread_count(
            metadata=payload.get("metadata"),
            values=payload.get("values"),
            status=payload.get("status"),
        )
        return Response(count)


class ThreadPruneApi(APIView):
    @extend_schema(
        operation_id="prune_threads_threads_prune_post",
        summary="Prune Threads",
        tags=["Threads"],
        request=InputThreadPruneSerializer,
        responses={200: ThreadPruneResponseSerializer, **errors(422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadPruneSerializer, json_body(request))
        authorize_sync(
            "threads", "delete", {"thread_id": None, "thread_ids": payload["thread_ids"]}
        )
        pruned = thread_prune(thread_ids=payload["thread_ids"], strategy=payload["strategy"])
        return Response({"pruned_count": pruned})


class ThreadDetailApi(APIView):
    @extend_schema(
        operation_id="get_thread_threads__thread_id__get",
        summary="Get Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={200: OutputThreadSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(readable_thread_id(thread_id))
        return Response(thread_to_json(thread))

    @extend_schema(
        operation_id="patch_thread_threads__thread_id__patch",
        summary="Patch Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadPatchSerializer,
        responses={200: OutputThreadSerializer, **errors(404, 422)},
    )
    def patch(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadPatchSerializer, json_body(request))
        ttl = thread_ttl_parse(payload.get("ttl"))
        value: dict[str, Any] = {
            "thread_id": tid,
            "metadata": dict(payload.get("metadata") or {}),
            "action": None,
        }
        authorize_sync("threads", "update", value)
        metadata = (
            value["metadata"] if payload.get("metadata") is not None or value["metadata"] else None
        )
        thread = services.thread_update(thread_id=tid, metadata=metadata)
        thread_ttl_set(thread_id=tid, ttl=ttl)
        return Response(thread_to_json(thread))

    @extend_schema(
        operation_id="delete_thread_threads__thread_id__delete",
        summary="Delete Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    def delete(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
        authorize_sync("threads", "delete", {"thread_id": tid, "run_id": None})
        thread_delete(thread_id=tid)
        return Response(status=204)


class ThreadCopyApi(APIView):
    @extend_schema(
        operation_id="copy_thread_post_threads__thread_id__copy_post",
        summary="Copy Thread",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=None,
        responses={200: OutputThreadSerializer, **errors(409, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        # The SDK sends no body here.
        tid = readable_thread_id(thread_id)
        # As officially: copying needs the right to create a thread too; that check's
        # filter must not replace the one that finds the source.
        authorize_sync("threads", "create", {"thread_id": None, "metadata": {}}, remember=False)
        thread = services.thread_copy(thread_id=tid)
        return Response(thread_to_json(thread, copy=True))


class ThreadStorageApi(APIView):
    @extend_schema(
        operation_id="get_thread_storage_threads__thread_id__storage_get",
        summary="Get Thread Storage",
        tags=["Threads"],
        parameters=[THREAD_ID],
        responses={200: ThreadStorageSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(readable_thread_id(thread_id))
        return Response(selectors.thread_storage(thread=thread))


class ThreadStateApi(APIView):
    @extend_schema(
        operation_id="get_latest_thread_state_threads__thread_id__state_get",
        summary="Get Thread State",
        tags=["Threads"],
        parameters=[THREAD_ID, SUBGRAPHS],
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(readable_thread_id(thread_id))
        query = validated(InputThreadStateQuerySerializer, request.query_params)
        return Response(selectors.thread_state_get(thread=thread, subgraphs=query["subgraphs"]))

    @extend_schema(
        operation_id="update_thread_state_threads__thread_id__state_post",
        summary="Update Thread State",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadStateUpdateSerializer,
        responses={200: ThreadStateUpdateResponseSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadStateUpdateSerializer, json_body(request))
        authorize_sync("threads", "update", {"thread_id": tid, "metadata": {}, "action": None})
        checkpoint = payload.get("checkpoint") or {}
        result = services.thread_update_state(
            thread_id=tid,
            values=payload.get("values"),
            as_node=payload.get("as_node") or None,
            checkpoint_id=payload.get("checkpoint_id") or checkpoint.get("checkpoint_id") or None,
            checkpoint_ns=str(checkpoint.get("checkpoint_ns") or ""),
        )
        return Response(result)


class ThreadStateCheckpointApi(APIView):
    """GET /state/{checkpoint_id}."""

    @extend_schema(
        operation_id="get_thread_state_at_checkpoint_threads__thread_id__state__checkpoint_id__get",
        summary="Get Thread State At Checkpoint",
        tags=["Threads"],
        parameters=[THREAD_ID, SUBGRAPHS],
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    def get(self, request: Request, thread_id: str, checkpoint_id: str) -> Response:
        thread = selectors.thread_get(readable_thread_id(thread_id))
        check_text(checkpoint_id, "checkpoint_id", max_length=MAX_ID_LENGTH)
        query = validated(InputThreadStateQuerySerializer, request.query_params)
        state = selectors.thread_state_get(
            thread=thread, checkpoint_id=checkpoint_id, subgraphs=query["subgraphs"]
        )
        return Response(state)


class ThreadStateAtCheckpointApi(APIView):
    """POST /state/checkpoint: the state at the checkpoint the body names."""

    @extend_schema(
        operation_id="post_thread_state_at_checkpoint_threads__thread_id__state__checkpoint_id__get",
        summary="Get Thread State At Checkpoint",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadStateCheckpointSerializer,
        responses={200: ThreadStateSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        tid = readable_thread_id(thread_id)
        payload = validated(InputThreadStateCheckpointSerializer, json_body(request))
        thread = selectors.thread_get(tid)
        checkpoint = payload["checkpoint"]
        state = selectors.thread_state_get(
            thread=thread,
            checkpoint_id=selectors.checkpoint_id_of(checkpoint),
            checkpoint_ns=str(checkpoint.get("checkpoint_ns") or ""),
            subgraphs=payload["subgraphs"],
        )
        return Response(state)


class ThreadHistoryApi(APIView):
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
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(readable_thread_id(thread_id))
        query = validated(InputThreadHistoryQuerySerializer, request.query_params)
        history = selectors.thread_history(
            thread=thread, limit=query["limit"], before=query.get("before") or None
        )
        return Response(history)

    @extend_schema(
        operation_id="get_thread_history_post_threads__thread_id__history_post",
        summary="Get Thread History Post",
        tags=["Threads"],
        parameters=[THREAD_ID],
        request=InputThreadHistorySerializer,
        responses={200: ThreadStateSerializer(many=True), **errors(400, 404, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        tid = readable_thread_id(thread_id)
        payload = validated(InputThreadHistorySerializer, json_body(request))
        thread = selectors.thread_get(tid)
        history = selectors.thread_history(
            thread=thread,
            limit=payload["limit"],
            before=payload.get("before"),
            metadata=payload.get("metadata"),
            checkpoint=payload.get("checkpoint"),
        )
        return Response(history)
