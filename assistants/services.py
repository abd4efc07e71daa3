"""Every write to assistants: create, update (a new version), delete, switch version, system defaults."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import Max

from access.filters import caller_q
from assistants.graphs import GraphNotFound, default_assistant_id, graph_ids
from assistants.models import SYSTEM_CREATED_BY, Assistant, AssistantVersion
from core.errors import Conflict, NotFound
from core.timestamps import created_as_updated

logger = logging.getLogger(__name__)

SYSTEM_METADATA = {"created_by": SYSTEM_CREATED_BY}


def _require_graph(graph_id: str) -> None:
    known = graph_ids()
    if graph_id not in known:
        raise GraphNotFound(graph_id, known)


def _context_for(config: dict[str, Any], context: dict[str, Any] | None) -> dict[str, Any]:
    # Before LangGraph 0.6 the static context lived in config["configurable"]; the
    # official server mirrors it into `context` when no context is given.
    if context:
        return context
    configurable = config.get("configurable")
    return dict(configurable) if isinstance(configurable, dict) else {}


def _snapshot(assistant: Assistant) -> AssistantVersion:
    return AssistantVersion.objects.create(
        assistant=assistant,
        version=assistant.version,
        graph_id=assistant.graph_id,
        name=assistant.name,
        description=assistant.description,
        config=assistant.config,
        context=assistant.context,
        metadata=assistant.metadata,
    )


def assistant_ensure_defaults() -> None:
    """Create the system assistant of every registered graph that lacks one.

    Safe to run from several processes at once: get_or_create retries a lost insert
    race as a read.
    """
    for graph_id in graph_ids():
        with transaction.atomic():
            assistant, created = Assistant.objects.get_or_create(
                assistant_id=default_assistant_id(graph_id),
                defaults={
                    "graph_id": graph_id,
                    "name": graph_id,
                    "metadata": dict(SYSTEM_METADATA),
                    "config": {},
                    "context": {},
                    "version": 1,
                },
            )
            if created:
                _snapshot(assistant)
                logger.info("Created system assistant %s for graph %s", assistant.pk, graph_id)


def _existing(assistant: Assistant, if_exists: str) -> Assistant:
    # An assistant the caller's auth filter hides is not handed out by do_nothing.
    visible = Assistant.objects.filter(caller_q("assistants"), pk=assistant.pk)
    if if_exists == "do_nothing" and visible.exists():
        return assistant
    raise Conflict(f"Assistant {assistant.assistant_id} already exists")


def assistant_create(
    *,
    graph_id: str,
    assistant_id: uuid.UUID | None = None,
    config: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    if_exists: Literal["raise", "do_nothing"] = "raise",
) -> Assistant:
    """Create an assistant at version 1; an existing id is a Conflict, or returned as is
    with if_exists="do_nothing"."""
    _require_graph(graph_id)
    config = dict(config or {})
    assistant_id = assistant_id or uuid.uuid4()
    existing = Assistant.objects.filter(pk=assistant_id).first()
    if existing is not None:
        return _existing(existing, if_exists)
    try:
        with transaction.atomic():
            assistant = Assistant.objects.create(
                assistant_id=assistant_id,
                graph_id=graph_id,
                name="Untitled" if name is None else name,
                description=description,
                config=config,
                context=_context_for(config, context),
                metadata=dict(metadata or {}),
                version=1,
            )
            created_as_updated(assistant, "updated_at")
            _snapshot(assistant)
    except IntegrityError:
        # A concurrent create won the insert between our read and our write.
        existing = Assistant.objects.filter(pk=assistant_id).first()
        if existing is None:
            raise
        return _existing(existing, if_exists)
    logger.info("Created assistant %s for graph %s", assistant.pk, graph_id)
    return assistant


def assistant_update(
    *,
    assistant_id: uuid.UUID,
    graph_id: str | None = None,
    config: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Assistant:
    """Write a new version: named fields replace the current ones (metadata is merged),
    the rest is kept."""
    if graph_id is not None:
        _require_graph(graph_id)
    with transaction.atomic():
        assistant = (
            Assistant.objects.select_for_update()
            .filter(caller_q("assistants"), pk=assistant_id)
            .first()
        )
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        if graph_id is not None:
            assistant.graph_id = graph_id
        if config is not None:
            assistant.config = dict(config)
        if context is not None:
            assistant.context = dict(context)
        elif config is not None and isinstance(config.get("configurable"), dict):
            assistant.context = _context_for(config, None)
        if metadata is not None:
            assistant.metadata = {**assistant.metadata, **metadata}
        if name is not None:
            assistant.name = name
        if description is not None:
            assistant.description = description
        # After set_latest the current version may be older than the newest one.
        newest = assistant.versions.aggregate(newest=Max("version"))["newest"] or 0
        assistant.version = max(newest, assistant.version) + 1
        assistant.save()
        _snapshot(assistant)
    logger.info("Updated assistant %s to version %s", assistant.pk, assistant.version)
    return assistant


def assistant_delete(*, assistant_id: uuid.UUID) -> None:
    """Delete an assistant and all its versions."""
    with transaction.atomic():
        deleted, _ = Assistant.objects.filter(caller_q("assistants"), pk=assistant_id).delete()
    if not deleted:
        raise NotFound(f"Assistant with ID {assistant_id} not found")
    logger.info("Deleted assistant %s", assistant_id)


def assistant_set_latest(*, assistant_id: uuid.UUID, version: int) -> Assistant:
    """Make an earlier (or later) version the current one, without writing a new version."""
    with transaction.atomic():
        assistant = (
            Assistant.objects.select_for_update()
            .filter(caller_q("assistants"), pk=assistant_id)
            .first()
        )
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        chosen = assistant.versions.filter(version=version).first()
        if chosen is None:
            raise NotFound(f"Version {version} not found for assistant {assistant_id}")
        assistant.graph_id = chosen.graph_id
        assistant.name = chosen.name
        assistant.description = chosen.description
        assistant.config = chosen.config
        assistant.context = chosen.context
        assistant.metadata = chosen.metadata
        assistant.version = chosen.version
        assistant.save()
    logger.info("Assistant %s now at version %s", assistant_id, version)
    return assistant
