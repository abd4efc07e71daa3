"""Views of the assistants API: parse, call one service or selector, render."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.handlers import authorize_sync
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
from core.http import json_body, validated
from core.ids import parse_path_id
from core.openapi import ASSISTANT_ID, errors

logger = logging.getLogger(__name__)


def _assistant_uuid(raw: str) -> uuid.UUID:
    return parse_path_id(raw, "assistant")


def _assistant_or_graph(raw: str) -> Assistant:
    """Introspection endpoints also accept a graph id for its system assistant."""
    if selectors.parse_uuid(raw) is None and raw in graph_ids():
        assistant_id = default_assistant_id(raw)
    else:
        assistant_id = _assistant_uuid(raw)
    authorize_sync("assistants", "read", {"assistant_id": assistant_id})
    return selectors.assistant_get(assistant_id)


def _search_value(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "graph_id": data.get("graph_id"),
        "metadata": data.get("metadata") or {},
        "limit": data.get("limit", 10),
        "offset": data.get("offset", 0),
    }


def _render(assistant: Assistant) -> dict[str, Any]:
    return OutputAssistantSerializer(assistant).data


class AssistantCreateApi(APIView):
    @extend_schema(
        operation_id="create_assistant_assistants_post",
        summary="Create Assistant",
        tags=["Assistants"],
        request=InputAssistantCreateSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 409, 422)},
    )
    def post(self, request: Request) -> Response:
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
        authorize_sync("assistants", "create", value)
        data["metadata"] = value["metadata"]
        assistant = services.assistant_create(**data)
        return Response(_render(assistant))


class AssistantSearchApi(APIView):
    @extend_schema(
        operation_id="search_assistants_assistants_search_post",
        summary="Search Assistants",
        tags=["Assistants"],
        request=InputAssistantSearchSerializer,
        responses={200: SelectedAssistantSerializer(many=True), **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(InputAssistantSearchSerializer, json_body(request))
        select = data.pop("select", None)
        authorize_sync("assistants", "search", _search_value(data))
        assistants, total = selectors.assistant_search(**data)
        body = [_render(a) for a in assistants]
        if select:
            body = [{k: v for k, v in item.items() if k in select} for item in body]
        headers = {"X-Pagination-Total": str(total)}
        next_offset = data["offset"] + len(assistants)
        if assistants and next_offset < total:
            headers["X-Pagination-Next"] = str(next_offset)
        return Response(body, headers=headers)


class AssistantCountApi(APIView):
    @extend_schema(
        operation_id="count_assistants_assistants_count_post",
        summary="Count Assistants",
        tags=["Assistants"],
        request=InputAssistantCountSerializer,
        responses={200: OpenApiTypes.INT, **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(InputAssistantCountSerializer, json_body(request))
        authorize_sync("assistants", "search", _search_value(data))
        return Response(selectors.assistant_count(**data))


class AssistantDetailApi(APIView):
    @extend_schema(
        operation_id="get_assistant_assistants__assistant_id__get",
        summary="Get Assistant",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, assistant_id: str) -> Response:
        parsed = _assistant_uuid(assistant_id)
        authorize_sync("assistants", "read", {"assistant_id": parsed})
        return Response(_render(selectors.assistant_get(parsed)))

    @extend_schema(
        operation_id="patch_assistant_assistants__assistant_id__patch",
        summary="Patch Assistant",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantUpdateSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    def patch(self, request: Request, assistant_id: str) -> Response:
        parsed = _assistant_uuid(assistant_id)
        data = validated(InputAssistantUpdateSerializer, json_body(request))
        value = {"assistant_id": parsed, **data, "metadata": dict(data.get("metadata") or {})}
        authorize_sync("assistants", "update", value)
        if data.get("metadata") is not None or value["metadata"]:
            data["metadata"] = value["metadata"]
        assistant = services.assistant_update(assistant_id=parsed, **data)
        return Response(_render(assistant))

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
    def delete(self, request: Request, assistant_id: str) -> Response:
        parsed = _assistant_uuid(assistant_id)
        if request.query_params.get("delete_threads", "").lower() in ("true", "1"):
            # Deleting the threads means cancelling their runs: that belongs to the runs
            # app, which does not offer it yet.
            logger.warning("delete_threads is not supported; threads of %s are kept", parsed)
        authorize_sync("assistants", "delete", {"assistant_id": parsed})
        services.assistant_delete(assistant_id=parsed)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssistantGraphApi(APIView):
    @extend_schema(
        operation_id="get_assistant_graph_assistants__assistant_id__graph_get",
        summary="Get Assistant Graph",
        tags=["Assistants"],
        parameters=[
            OpenApiParameter(
                "assistant_id",
                str,
                OpenApiParameter.PATH,
                description="An assistant ID or a graph name.",
            ),
            OpenApiParameter(
                "xray",
                {"oneOf": [{"type": "boolean"}, {"type": "integer", "minimum": 0}]},
                OpenApiParameter.QUERY,
            ),
        ],
        responses={200: GRAPH_DRAWING, **errors(404, 422)},
    )
    def get(self, request: Request, assistant_id: str) -> Response:
        assistant = _assistant_or_graph(assistant_id)
        data = validated(InputGraphSerializer, request.query_params)
        return Response(selectors.assistant_graph(assistant, xray=data["xray"]))


class AssistantSchemasApi(APIView):
    @extend_schema(
        operation_id="get_assistant_schemas_assistants__assistant_id__schemas_get",
        summary="Get Assistant Schemas",
        tags=["Assistants"],
        parameters=[
            OpenApiParameter(
                "assistant_id",
                str,
                OpenApiParameter.PATH,
                description="An assistant ID or a graph name.",
            )
        ],
        responses={200: GraphSchemaSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, assistant_id: str) -> Response:
        assistant = _assistant_or_graph(assistant_id)
        return Response(selectors.assistant_schemas(assistant))


class AssistantSubgraphsApi(APIView):
    @extend_schema(
        summary="Get Assistant Subgraphs",
        tags=["Assistants"],
        parameters=[
            OpenApiParameter(
                "assistant_id",
                str,
                OpenApiParameter.PATH,
                description="An assistant ID or a graph name.",
            ),
            OpenApiParameter("recurse", OpenApiTypes.BOOL, OpenApiParameter.QUERY, default=False),
        ],
        responses={200: SubgraphsSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, assistant_id: str, namespace: str | None = None) -> Response:
        assistant = _assistant_or_graph(assistant_id)
        data = validated(InputSubgraphsSerializer, request.query_params)
        subgraphs = selectors.assistant_subgraphs(
            assistant, namespace=namespace, recurse=data["recurse"]
        )
        return Response(subgraphs)


@extend_schema_view(
    get=extend_schema(
        operation_id="get_assistant_subgraphs_assistants__assistant_id__subgraphs__namespace__get",
        summary="Get Assistant Subgraphs by Namespace",
    )
)
class AssistantSubgraphsByNamespaceApi(AssistantSubgraphsApi):
    pass


@extend_schema_view(
    get=extend_schema(
        operation_id="get_assistant_subgraphs_assistants__assistant_id__subgraphs_get"
    )
)
class AssistantSubgraphsRootApi(AssistantSubgraphsApi):
    pass


class AssistantVersionsApi(APIView):
    @extend_schema(
        operation_id="get_assistant_versions_assistants__assistant_id__versions_get",
        summary="Get Assistant Versions",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantVersionsSerializer,
        responses={200: OutputAssistantVersionSerializer(many=True), **errors(404, 422)},
    )
    def post(self, request: Request, assistant_id: str) -> Response:
        parsed = _assistant_uuid(assistant_id)
        data = validated(InputAssistantVersionsSerializer, json_body(request, required=False))
        authorize_sync("assistants", "read", {"assistant_id": parsed})
        versions = selectors.assistant_versions(assistant_id=parsed, **data)
        return Response(OutputAssistantVersionSerializer(versions, many=True).data)


class AssistantSetLatestApi(APIView):
    @extend_schema(
        operation_id="set_latest_assistant_version_assistants__assistant_id__versions_post",
        summary="Set Latest Assistant Version",
        tags=["Assistants"],
        parameters=[ASSISTANT_ID],
        request=InputAssistantSetLatestSerializer,
        responses={200: OutputAssistantSerializer, **errors(404, 422)},
    )
    def post(self, request: Request, assistant_id: str) -> Response:
        parsed = _assistant_uuid(assistant_id)
        body = json_body(request, required=False)
        # The SDK sends {"version": n} in the body; the OpenAPI document has ?version=n.
        if isinstance(body, dict) and "version" not in body and "version" in request.query_params:
            body = {**body, "version": request.query_params["version"]}
        data = validated(InputAssistantSetLatestSerializer, body)
        authorize_sync("assistants", "update", {"assistant_id": parsed, "version": data["version"]})
        assistant = services.assistant_set_latest(assistant_id=parsed, version=data["version"])
        return Response(_render(assistant))
