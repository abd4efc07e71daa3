"""Views of the crons API: parse, call one service or selector, render."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from access.context import config_with_caller
from access.handlers import authorize
from core.db.asyncdb import db
from core.errors import SpindleError
from core.http import json_body, json_response, validated
from core.ids import parse_path_id
from core.openapi import THREAD_ID, errors, path_id
from core.views import AsyncApi, no_content
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


async def _authorize_create(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> None:
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
    await authorize("crons", "create", value)
    payload["metadata"] = value["metadata"]
    if thread_id is not None:
        await authorize("threads", "read", {"thread_id": thread_id, "run_id": None})
    await authorize("assistants", "read", {"assistant_id": payload.get("assistant_id")})
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


def _cron_create(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> dict[str, Any]:
    return cron_to_json(services.cron_create(thread_id=thread_id, payload=payload))


def _cron_json(cron_id: uuid.UUID) -> dict[str, Any]:
    return cron_to_json(selectors.cron_get(cron_id))


def _cron_update(cron_id: uuid.UUID, patch: dict[str, Any]) -> dict[str, Any]:
    services.cron_update(cron_id=cron_id, patch=patch)
    return _cron_json(cron_id)


def _cron_search(
    params: dict[str, Any], select: list[str] | None
) -> tuple[list[dict[str, Any]], int]:
    crons, total = selectors.cron_search(**params)
    return [cron_to_json(cron, select) for cron in crons], total


class EmptyPatch(SpindleError):
    status_code = 400
    default_detail = "Request body cannot be empty"


CRON_ID = path_id("cron_id", "The ID of the cron.")


class CronCreateApi(AsyncApi):
    @extend_schema(
        operation_id="create_cron_runs_crons_post",
        summary="Create Cron",
        tags=["Crons"],
        request=InputCronCreateSerializer,
        responses={200: CronSerializer, **errors(404, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputCronCreateSerializer, json_body(request))
        await _authorize_create(None, payload)
        return json_response(await db(_cron_create, None, payload))


class ThreadCronCreateApi(AsyncApi):
    @extend_schema(
        operation_id="create_thread_cron_threads__thread_id__runs_crons_post",
        summary="Create Thread Cron",
        tags=["Crons"],
        parameters=[THREAD_ID],
        request=InputThreadCronCreateSerializer,
        responses={200: CronSerializer, **errors(404, 422)},
    )
    async def post(self, request: HttpRequest, thread_id: str) -> HttpResponse:
        tid = parse_path_id(thread_id, "thread")
        payload = validated(InputThreadCronCreateSerializer, json_body(request))
        await _authorize_create(tid, payload)
        return json_response(await db(_cron_create, tid, payload))


class CronDetailApi(AsyncApi):
    @extend_schema(
        operation_id="get_cron_runs_crons__cron_id__get",
        summary="Get Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        responses={200: CronSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, cron_id: str) -> HttpResponse:
        cid = parse_path_id(cron_id, "cron")
        await authorize("crons", "read", {"cron_id": cid})
        return json_response(await db(_cron_json, cid))

    @extend_schema(
        operation_id="patch_cron_runs_crons__cron_id__patch",
        summary="Update Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        request=InputCronPatchSerializer,
        responses={200: CronSerializer, **errors(400, 404, 422)},
    )
    async def patch(self, request: HttpRequest, cron_id: str) -> HttpResponse:
        cid = parse_path_id(cron_id, "cron")
        body = json_body(request)
        if body == {}:
            raise EmptyPatch()
        patch = validated(InputCronPatchSerializer, body)
        if not patch:
            raise EmptyPatch("No fields to update")
        value = {"cron_id": cid, **patch, "metadata": dict(patch.get("metadata") or {})}
        await authorize("crons", "update", value)
        if patch.get("metadata") is not None or value["metadata"]:
            patch["metadata"] = value["metadata"]
        if "config" in patch:
            patch["config"] = config_with_caller(patch["config"])
        return json_response(await db(_cron_update, cid, patch))

    @extend_schema(
        operation_id="delete_cron_runs_crons__cron_id__delete",
        summary="Delete Cron",
        tags=["Crons"],
        parameters=[CRON_ID],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    async def delete(self, request: HttpRequest, cron_id: str) -> HttpResponse:
        cid = parse_path_id(cron_id, "cron")
        await authorize("crons", "delete", {"cron_id": cid})
        await db(services.cron_delete, cron_id=cid)
        return no_content()


class CronSearchApi(AsyncApi):
    @extend_schema(
        operation_id="search_crons_runs_crons_post",
        summary="Search Crons",
        tags=["Crons"],
        request=InputCronSearchSerializer,
        responses={200: SelectedCronSerializer(many=True), **errors(422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        params = validated(InputCronSearchSerializer, json_body(request, required=False))
        select = params.pop("select", None)
        await authorize("crons", "search", _search_value(params))
        crons, total = await db(_cron_search, params, select)
        headers = {"X-Pagination-Total": str(total)}
        if params["offset"] + len(crons) < total:
            headers["X-Pagination-Next"] = str(params["offset"] + params["limit"])
        return json_response(crons, headers=headers)


class CronCountApi(AsyncApi):
    @extend_schema(
        operation_id="count_crons_runs_crons_count_post",
        summary="Count Crons",
        tags=["Crons"],
        request=InputCronCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(404, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        params = validated(InputCronCountSerializer, json_body(request, required=False))
        await authorize("crons", "search", _search_value({"limit": 0, "offset": 0, **params}))
        return json_response(await db(selectors.cron_count, **params))
