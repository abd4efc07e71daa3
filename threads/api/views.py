"""Views of the threads API: parse, call one service or selector, render."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_body, validated
from config.ids import parse_path_id
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
    thread_to_json,
)


def parse_thread_id(value: str) -> uuid.UUID:
    return parse_path_id(value, "thread")


class ThreadCreateApi(APIView):
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadCreateSerializer, json_body(request))
        thread = services.thread_create(
            thread_id=payload.get("thread_id"),
            metadata=payload.get("metadata"),
            if_exists=payload["if_exists"],
            supersteps=payload.get("supersteps"),
        )
        return Response(thread_to_json(thread))


class ThreadSearchApi(APIView):
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadSearchSerializer, json_body(request))
        limit, offset = payload["limit"], payload["offset"]
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
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadCountSerializer, json_body(request))
        count = selectors.thread_count(
            metadata=payload.get("metadata"),
            values=payload.get("values"),
            status=payload.get("status"),
        )
        return Response(count)


class ThreadPruneApi(APIView):
    def post(self, request: Request) -> Response:
        payload = validated(InputThreadPruneSerializer, json_body(request))
        pruned = services.thread_prune(
            thread_ids=payload["thread_ids"], strategy=payload["strategy"]
        )
        return Response({"pruned_count": pruned})


class ThreadDetailApi(APIView):
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(parse_thread_id(thread_id))
        return Response(thread_to_json(thread))

    def patch(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadPatchSerializer, json_body(request))
        thread = services.thread_update(thread_id=tid, metadata=payload.get("metadata"))
        return Response(thread_to_json(thread))

    def delete(self, request: Request, thread_id: str) -> Response:
        services.thread_delete(thread_id=parse_thread_id(thread_id))
        return Response(status=204)


class ThreadCopyApi(APIView):
    def post(self, request: Request, thread_id: str) -> Response:
        # The SDK sends no body here.
        thread = services.thread_copy(thread_id=parse_thread_id(thread_id))
        return Response(thread_to_json(thread, copy=True))


class ThreadStorageApi(APIView):
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(parse_thread_id(thread_id))
        return Response(selectors.thread_storage(thread=thread))


class ThreadStateApi(APIView):
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(parse_thread_id(thread_id))
        query = validated(InputThreadStateQuerySerializer, request.query_params)
        return Response(selectors.thread_state_get(thread=thread, subgraphs=query["subgraphs"]))

    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
        payload = validated(InputThreadStateUpdateSerializer, json_body(request))
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
    """GET /state/{checkpoint_id}, and POST /state/checkpoint (the same URL shape)."""

    def get(self, request: Request, thread_id: str, checkpoint_id: str) -> Response:
        thread = selectors.thread_get(parse_thread_id(thread_id))
        query = validated(InputThreadStateQuerySerializer, request.query_params)
        state = selectors.thread_state_get(
            thread=thread, checkpoint_id=checkpoint_id, subgraphs=query["subgraphs"]
        )
        return Response(state)

    def post(self, request: Request, thread_id: str, checkpoint_id: str) -> Response:
        if checkpoint_id != "checkpoint":
            self.http_method_not_allowed(request)
        tid = parse_thread_id(thread_id)
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
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(parse_thread_id(thread_id))
        query = validated(InputThreadHistoryQuerySerializer, request.query_params)
        history = selectors.thread_history(
            thread=thread, limit=query["limit"], before=query.get("before") or None
        )
        return Response(history)

    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_thread_id(thread_id)
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
