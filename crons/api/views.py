"""Views of the crons API: parse, call one service or selector, render."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.context import config_with_caller
from access.handlers import authorize_sync
from core.errors import SpindleError
from core.http import json_body, validated
from core.ids import parse_path_id
from core.openapi import THREAD_ID, errors, path_id
from crons import selectors, services
from crons.api.serializers import (
    CronSerializer,
    InputCronCountSerializer,
    InputCronCreateSerializer,
    InputCronPatchSerializer,
    InputCronSearchSerializer,
    InputThreadCronCreateSerializer,
    SelectedCronSerializer,
    cron_to_json,
)


def _authorize_create(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> None:
    """The auth handlers' say on a new cron (crons create; reading its thread and its
    assistant); the cron's runs will carry the creator's identity to the graph."""
    value = {
        "thread_id": thread_id,
        "assistant_id": payload.get("assistant_id"),
        "schedule": payload.get("schedule"),
        "payload": {k: v for k, v in payload.items() if k not in ("schedule", "metadata")},
        "metadata": dict(payload.get("metadata") or {}),
        "end_time": payload.get("end_time"),
    }
    authorize_sync("crons", "create", value)
    payload["metadata"] = value["metadata"]
    if thread_id is not None:
        authorize_sync("threads", "read", {"thread_id": thread_id, "run_id": None})
    authorize_sync("assistants", "read", {"assistant_id": payload.get("assistant_id")})
    config = config_with_caller(payload.get("config"))
    if config is not None:
        payload["config"] = config


def _search_value(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "assistant_id": params.get("assistant_id"),
        "thread_id": params.get("thread_id"),
        "limit": params.get("limit", 10),
        "offset": params.get("offset", 0),
    }


class EmptyPatch(SpindleError):
    status_code = 400
    default_detail = "Request body cannot be empty"


CRON_ID = path_id("cron_id", "The ID of the cron.")


class CronCreateApi(APIView):
    @extend_schema(
        operation_id="create_cron_runs_crons_post",
        summary="Create Cron",
        tags=["Crons"],
        request=InputCronCreateSerializer,
        responses={200: CronSerializer, **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputCronCreateSerializer, json_body(request))
        _authorize_create(None, payload)
        return Response(cron_to_json(services.cron_create(thread_id=None, payload=payload)))


class ThreadCronCreateApi(APIView):
    @extend_schema(
        operation_id="create_thread_cron_threads__thread_id__runs_crons_post",
        summary="Create Thread Cron",
        tags=["Crons"],
        parameters=[THREAD_ID],
        request=InputThreadCronCreateSerializer,
        responses={200: CronSerializer, **errors(404, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_path_id(thread_id, "thread")
        payload = validated(InputThreadCronCreateSerializer, json_body(request))
        _authorize_create(tid, payload)
        return Response(cron_to_json(services.cron_create(thread_id=tid, payload=payload)))


class CronDetailApi(APIView):
    @extend_schema(
        operation_id="get_cron_runs_crons__cron_id__get",
        summary="Get Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        responses={200: CronSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, cron_id: str) -> Response:
        cid = parse_path_id(cron_id, "cron")
        authorize_sync("crons", "read", {"cron_id": cid})
        return Response(cron_to_json(selectors.cron_get(cid)))

    @extend_schema(
        operation_id="patch_cron_runs_crons__cron_id__patch",
        summary="Update Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        request=InputCronPatchSerializer,
        responses={200: CronSerializer, **errors(400, 404, 422)},
    )
    def patch(self, request: Request, cron_id: str) -> Response:
        cid = parse_path_id(cron_id, "cron")
        body = json_body(request)
        if body == {}:
            raise EmptyPatch()
        patch = validated(InputCronPatchSerializer, body)
        if not patch:
            raise EmptyPatch("No fields to update")
        value = {"cron_id": cid, **patch, "metadata": dict(patch.get("metadata") or {})}
        authorize_sync("crons", "update", value)
        if patch.get("metadata") is not None or value["metadata"]:
            patch["metadata"] = value["metadata"]
        if "config" in patch:
            patch["config"] = config_with_caller(patch["config"])
        services.cron_update(cron_id=cid, patch=patch)
        return Response(cron_to_json(selectors.cron_get(cid)))

    @extend_schema(
        operation_id="delete_cron_runs_crons__cron_id__delete",
        summary="Delete Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    def delete(self, request: Request, cron_id: str) -> Response:
        cid = parse_path_id(cron_id, "cron")
        authorize_sync("crons", "delete", {"cron_id": cid})
        services.cron_delete(cron_id=cid)
        return Response(status=204)


class CronSearchApi(APIView):
    @extend_schema(
        operation_id="search_crons_runs_crons_post",
        summary="Search Crons",
        tags=["Crons"],
        request=InputCronSearchSerializer,
        responses={200: SelectedCronSerializer(many=True), **errors(422)},
    )
    def post(self, request: Request) -> Response:
        params = validated(InputCronSearchSerializer, json_body(request, required=False))
        select = params.pop("select", None)
        authorize_sync("crons", "search", _search_value(params))
        crons, total = selectors.cron_search(**params)
        headers = {"X-Pagination-Total": str(total)}
        if params["offset"] + len(crons) < total:
            headers["X-Pagination-Next"] = str(params["offset"] + params["limit"])
        return Response([cron_to_json(cron, select) for cron in crons], headers=headers)


class CronCountApi(APIView):
    @extend_schema(
        operation_id="count_crons_runs_crons_count_post",
        summary="Count Crons",
        tags=["Crons"],
        request=InputCronCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        params = validated(InputCronCountSerializer, json_body(request, required=False))
        authorize_sync("crons", "search", _search_value({"limit": 0, "offset": 0, **params}))
        return Response(selectors.cron_count(**params))
