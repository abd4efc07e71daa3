"""Reads of assistants and their versions, and resolving a run's assistant_id."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTransform
from langgraph.pregel import Pregel

from access.context import current_filter
from access.filters import caller_q
from assistants.graphs import (
    default_assistant_id,
    get_graph,
    graph_drawing,
    graph_ids,
    graph_schemas,
    graph_subgraphs,
)
from assistants.models import SYSTEM_CREATED_BY, Assistant, AssistantVersion
from core.db.sql import model_by_pk
from core.errors import InvalidInput, NotFound, preview

SORT_FIELDS = ("assistant_id", "created_at", "updated_at", "name", "graph_id")
SORT_ORDERS = ("asc", "desc")


def parse_uuid(value: Any) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def assistant_get(assistant_id: uuid.UUID | str, *, detail: str | None = None) -> Assistant:
    """The assistant with this id; NotFound (404, `detail` or "Not Found") otherwise."""
    parsed = parse_uuid(assistant_id)
    if parsed is None:
        raise NotFound(detail)
    if current_filter("assistants") is None:
        assistant = model_by_pk(Assistant, parsed)
    else:
        assistant = Assistant.objects.filter(caller_q("assistants"), pk=parsed).first()
    if assistant is None:
        raise NotFound(detail)
    return assistant


def assistant_resolve(assistant_id_or_graph_id: str) -> Assistant:
    """The assistant a run names: a UUID, or a graph id standing for its system assistant.

    As on the official server, a run may use a system assistant whatever the auth filter
    on assistants says; any other assistant must be visible to the caller."""
    parsed = parse_uuid(assistant_id_or_graph_id)
    if parsed is None:
        known = graph_ids()
        if assistant_id_or_graph_id not in known:
            raise InvalidInput(
                f"Invalid assistant: '{preview(assistant_id_or_graph_id)}'. Must be either:\n"
                "- A valid assistant UUID, or\n"
                f"- One of the registered graphs: {', '.join(known)}"
            )
        parsed = default_assistant_id(assistant_id_or_graph_id)
    detail = "Thread or assistant not found."
    assistant = model_by_pk(Assistant, parsed) if parsed else None
    if assistant is None:
        raise NotFound(detail)
    if (
        assistant.metadata.get("created_by") == SYSTEM_CREATED_BY
        or current_filter("assistants") is None
    ):
        return assistant
    return assistant_get(parsed, detail=detail)


def _filtered(
    *, graph_id: str | None, metadata: dict[str, Any] | None, name: str | None
) -> QuerySet[Assistant]:
    queryset = Assistant.objects.filter(caller_q("assistants"))
    if graph_id:
        queryset = queryset.filter(graph_id=graph_id)
    if name:
        queryset = queryset.filter(name__icontains=name)
    if metadata:
        queryset = filter_metadata(queryset, metadata)
    return queryset


def filter_metadata(
    queryset: QuerySet, metadata: dict[str, Any], field: str = "metadata"
) -> QuerySet:
    """Rows whose `field` holds every key of `metadata` with an equal value."""
    if connection.vendor == "postgresql":
        return queryset.filter(**{f"{field}__contains": metadata})
    # SQLite has no JSON containment: compare key by key.
    for index, (key, value) in enumerate(metadata.items()):
        alias = f"_metadata_{index}"
        queryset = queryset.annotate(**{alias: KeyTransform(key, field)}).filter(**{alias: value})
    return queryset


def assistant_search(
    *,
    graph_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> tuple[list[Assistant], int]:
    """One page of matching assistants (newest first unless sorted) and the total count."""
    queryset = _filtered(graph_id=graph_id, metadata=metadata, name=name)
    field = sort_by if sort_by in SORT_FIELDS else "created_at"
    descending = (sort_order or "desc") == "desc"
    expression = F(field).desc() if descending else F(field).asc()
    # The primary key breaks ties, so pages never overlap or skip rows.
    tie = F("assistant_id").desc() if descending else F("assistant_id").asc()
    ordered = queryset.order_by(expression, tie)
    total = queryset.count()
    return list(ordered[offset : offset + limit]), total


def assistant_count(
    *,
    graph_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
) -> int:
    return _filtered(graph_id=graph_id, metadata=metadata, name=name).count()


def assistant_versions(
    *,
    assistant_id: uuid.UUID,
    metadata: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[AssistantVersion]:
    """Versions of an assistant, newest first; NotFound if the assistant does not exist."""
    if not Assistant.objects.filter(caller_q("assistants"), pk=assistant_id).exists():
        raise NotFound(f"Assistant {assistant_id} not found")
    queryset = AssistantVersion.objects.filter(assistant_id=assistant_id)
    if metadata:
        queryset = filter_metadata(queryset, metadata)
    return list(queryset.order_by("-version")[offset : offset + limit])


def _compiled(assistant: Assistant) -> Pregel:
    return get_graph(assistant.graph_id, config=assistant.config)


def assistant_graph(assistant: Assistant, *, xray: bool | int = False) -> dict[str, Any]:
    """The drawable graph ({nodes, edges}) of an assistant."""
    return graph_drawing(_compiled(assistant), xray=xray)


def assistant_schemas(assistant: Assistant) -> dict[str, Any]:
    """The input, output, state, config and context JSON schemas of an assistant's graph."""
    return graph_schemas(assistant.graph_id, _compiled(assistant))


def assistant_subgraphs(
    assistant: Assistant, *, namespace: str | None = None, recurse: bool = False
) -> dict[str, dict[str, Any]]:
    """The schemas of an assistant's subgraphs, by namespace."""
    return graph_subgraphs(
        assistant.graph_id, _compiled(assistant), namespace=namespace, recurse=recurse
    )


def assistant_mermaid(assistant: Assistant) -> str:
    """The assistant's graph as a Mermaid drawing (the admin renders it)."""
    return _compiled(assistant).get_graph().draw_mermaid()
