"""Views of the assistants API: parse, call one service or selector, render."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from access.handlers import authorize
from assistants import selectors, services
from assistants.api.serializers import (
    GRAPH_DRAWING,
    GraphSchemaSerializer,
    InputAssistantCountSerializer,
    InputAssistantCreateSerializer,
    InputAssistantSearchSerializer,
    InputAssistantSetLatestSerializer,
    InputAssistantUpdateSerializer,
    InputAssistantVersionsSerializer,
    InputGraphSerializer,
    InputSubgraphsSerializer,
    OutputAssistantSerializer,
    OutputAssistantVersionSerializer,
    SelectedAssistantSerializer,
    SubgraphsSerializer,
)
from assistants.graphs import default_assistant_id, graph_ids
from assistants.models import Assistant
from core.db.asyncdb import db
from core.http import json_body, json_response, validated
from core.ids import parse_path_id
from core.openapi import ASSISTANT_ID, errors
from core.views import AsyncApi, no_content

logger = logging.getLogger(__name__)


def _assistant_uuid(raw: str) -> uuid.UUID:
    return parse_path_id(raw, "assistant")


async def _assistant_or_graph_id(raw: str) -> uuid.UUID:
    """Introspection endpoints also accept a graph id for its system assistant: the id, once
    the auth handler allowed reading it."""
    if selectors.parse_uuid(raw) is None and raw in graph_ids():
        assistant_id = default_assistant_id(raw)
    else:
        assistant_id = _assistant_uuid(raw)
    await authorize("assistants", "read", {"assistant_id": assistant_id})
    return assistant_id


def _search_value(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "graph_id": data.get("graph_id"),
        "metadata": data.get("metadata") or {},
        "limit": data.get("limit", 10),
        "offset": data.get("offset", 0),
    }


def _render(assistant: Assistant) -> dict[str, Any]:
    return OutputAssistantSerializer(assistant).data


def _assistant_json(assistant_id: uuid.UUID) -> dict[str, Any]:
    return _render(selectors.assistant_get(assistant_id))


def _assistant_create(data: dict[str, Any]) -> dict[str, Any]:
    return _render(services.assistant_create(**data))


def _assistant_search(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    assistants, total = selectors.assistant_search(**data)
    return [_render(a) for a in assistants], total


def _assistant_update(assistant_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    return _render(services.assistant_update(assistant_id=assistant_id, **data))


def _assistant_set_latest(assistant_id: uuid.UUID, version: int) -> dict[str, Any]:
    return _render(services.assistant_set_latest(assistant_id=assistant_id, version=version))


def _assistant_graph(assistant_id: uuid.UUID, query: Any) -> dict[str, Any]:
    assistant = selectors.assistant_get(assistant_id)
    data = validated(InputGraphSerializer, query)
    return selectors.assistant_graph(assistant, xray=data["xray"])


def _assistant_schemas(assistant_id: uuid.UUID) -> dict[str, Any]:
    return selectors.assistant_schemas(selectors.assistant_get(assistant_id))


def _assistant_subgraphs(
    assistant_id: uuid.UUID, query: Any, namespace: str | None
) -> dict[str, dict[str, Any]]:
    assistant = selectors.assistant_get(assistant_id)
    data = validated(InputSubgraphsSerializer, query)
    return selectors.assistant_subgraphs(assistant, namespace=namespace, recurse=data["recurse"])


def _assistant_versions(assistant_id: uuid.UUID, data: dict[str, Any]) -> Any:
    versions = selectors.assistant_versions(assistant_id=assistant_id, **data)
    return OutputAssistantVersionSerializer(versions, many=True).data


class AssistantCreateApi(AsyncApi):
    @extend_schema(
        operation_id="create_assistant_assistants_post",
        summary="Create Assistant",
        tags=["Assistants"],
        request=InputAssistantCreateSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 409, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        data = validated(InputAssistantCreateSerializer, json_body(request))
        value = {
            "assistant_id": data.get("assistant_id"),
            "graph_id": data["graph_id"],
            "config": data.get("config") or {},
            "context": data.get("context"),
            "metadata": dict(data.get("metadata") or {}),
            "if_exists": data.get("if_exists", "raise"),
            "name": data.get("name"),
        }
        await authorize("assistants", "create", value)
        data["metadata"] = value["metadata"]
        return json_response(await db(_assistant_create, data))


class AssistantSearchApi(AsyncApi):
    @extend_schema(
        operation_id="search_assistants_assistants_search_post",
        summary="Search Assistants",
        tags=["Assistants"],
        request=InputAssistantSearchSerializer,
        responses={200: SelectedAssistantSerializer(many=True), **errors(404, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        data = validated(InputAssistantSearchSerializer, json_body(request))
        select = data.pop("select", None)
        await authorize("assistants", "search", _search_value(data))
        body, total = await db(_assistant_search, data)
        if select:
            body = [{k: v for k, v in item.items() if k in select} for item in body]
        headers = {"X-Pagination-Total": str(total)}
        next_offset = data["offset"] + len(body)
        if body and next_offset < total:
            headers["X-Pagination-Next"] = str(next_offset)
        return json_response(body, headers=headers)


class AssistantCountApi(AsyncApi):
    @extend_schema(
        operation_id="count_assistants_assistants_count_post",
        summary="Count Assistants",
        tags=["Assistants"],
        request=InputAssistantCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(404, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        data = validated(InputAssistantCountSerializer, json_body(request))
        await authorize("assistants", "search", _search_value(data))
        return json_response(await db(selectors.assistant_count, **data))


class AssistantDetailApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_assistants__assistant_id__get",
        summary="Get Assistant",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = _assistant_uuid(assistant_id)
        await authorize("assistants", "read", {"assistant_id": parsed})
        return json_response(await db(_assistant_json, parsed))

    @extend_schema(
        operation_id="patch_assistant_assistants__assistant_id__patch",
        summary="Patch Assistant",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantUpdateSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    async def patch(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = _assistant_uuid(assistant_id)
        data = validated(InputAssistantUpdateSerializer, json_body(request))
        value = {"assistant_id": parsed, **data, "metadata": dict(data.get("metadata") or {})}
        await authorize("assistants", "update", value)
        if data.get("metadata") is not None or value["metadata"]:
            data["metadata"] = value["metadata"]
        return json_response(await db(_assistant_update, parsed, data))

    @extend_schema(
        operation_id="delete_assistant_assistants__assistant_id__delete",
        summary="Delete Assistant",
        tags=["Assistants"],
        parameters=[
            ASSISTANT_ID,
            OpenApiParameter(
                "delete_threads", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False
            ),
        ],
        responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    async def delete(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = _assistant_uuid(assistant_id)
        if request.GET.get("delete_threads", "").lower() in ("true", "1"):
            # Deleting the threads means cancelling their runs: that belongs to the runs
            # app, which does not offer it yet.
            logger.warning("delete_threads is not supported; threads of %s are kept", parsed)
        await authorize("assistants", "delete", {"assistant_id": parsed})
        await db(services.assistant_delete, assistant_id=parsed)
        return no_content()


# The graph endpoints take an assistant id or a graph name.
ASSISTANT_OR_GRAPH_ID = OpenApiParameter(
    "assistant_id", str, OpenApiParameter.PATH, description="An assistant ID or a graph name."
)


class AssistantGraphApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_graph_assistants__assistant_id__graph_get",
        summary="Get Assistant Graph",
        tags=["Assistants"],
        parameters=[
            ASSISTANT_OR_GRAPH_ID,
            OpenApiParameter(
                "xray",
                {"oneOf": [{"type": "boolean"}, {"type": "integer", "minimum": 0}]},
                OpenApiParameter.QUERY,
            ),
        ],
        responses={200: GRAPH_DRAWING, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = await _assistant_or_graph_id(assistant_id)
        return json_response(await db(_assistant_graph, parsed, request.GET))


class AssistantSchemasApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_schemas_assistants__assistant_id__schemas_get",
        summary="Get Assistant Schemas",
        tags=["Assistants"],
        parameters=[ASSISTANT_OR_GRAPH_ID],
        responses={200: GraphSchemaSerializer, **errors(404, 422)},
    )
    async def get(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = await _assistant_or_graph_id(assistant_id)
        return json_response(await db(_assistant_schemas, parsed))


SUBGRAPHS_PARAMETERS = [
    ASSISTANT_OR_GRAPH_ID,
    OpenApiParameter("recurse", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False),
]
SUBGRAPHS_RESPONSES = {200: SubgraphsSerializer, **errors(404, 422)}


class AssistantSubgraphsApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_subgraphs_assistants__assistant_id__subgraphs_get",
        summary="Get Assistant Subgraphs",
        tags=["Assistants"],
        parameters=SUBGRAPHS_PARAMETERS,
        responses=SUBGRAPHS_RESPONSES,
    )
    async def get(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = await _assistant_or_graph_id(assistant_id)
        return json_response(await db(_assistant_subgraphs, parsed, request.GET, None))


class AssistantSubgraphsByNamespaceApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_subgraphs_assistants__assistant_id__subgraphs__namespace__get",
        summary="Get Assistant Subgraphs by Namespace",
        tags=["Assistants"],
        parameters=SUBGRAPHS_PARAMETERS,
        responses=SUBGRAPHS_RESPONSES,
    )
    async def get(self, request: HttpRequest, assistant_id: str, namespace: str) -> HttpResponse:
        parsed = await _assistant_or_graph_id(assistant_id)
        return json_response(await db(_assistant_subgraphs, parsed, request.GET, namespace))


class AssistantVersionsApi(AsyncApi):
    @extend_schema(
        operation_id="get_assistant_versions_assistants__assistant_id__versions_get",
        summary="Get Assistant Versions",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantVersionsSerializer,
        responses={200: OutputAssistantVersionSerializer(many=True), **errors(404, 422)},
    )
    async def post(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = _assistant_uuid(assistant_id)
        data = validated(InputAssistantVersionsSerializer, json_body(request, required=False))
        await authorize("assistants", "read", {"assistant_id": parsed})
        return json_response(await db(_assistant_versions, parsed, data))


class AssistantSetLatestApi(AsyncApi):
    @extend_schema(
        operation_id="set_latest_assistant_version_assistants__assistant_id__versions_post",
        summary="Set Latest Assistant Version",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantSetLatestSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    async def post(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        parsed = _assistant_uuid(assistant_id)
        body = json_body(request, required=False)
        # The SDK sends {"version": n} in the body; the OpenAPI document has ?version=n.
        if isinstance(body, dict) and "version" not in body and "version" in request.GET:
            body = {**body, "version": request.GET["version"]}
        data = validated(InputAssistantSetLatestSerializer, body)
        await authorize(
            "assistants", "update", {"assistant_id": parsed, "version": data["version"]}
        )
        return json_response(await db(_assistant_set_latest, parsed, data["version"]))
