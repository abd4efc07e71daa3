"""Reads of threads: lookups, search and count, and a thread's state and history from its graph."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.db.models import Count, F, Model, QuerySet, Sum, TextField
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce, Length
from django.utils import timezone
from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from access.context import current_filter
from access.filters import caller_q
from assistants.graphs import get_graph
from core.errors import NotFound
from threads.checkpointer import DjangoSaver
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread
from threads.state import ThreadStateJson, empty_thread_state, snapshot_to_thread_state

M = TypeVar("M", bound=Model)

SORT_FIELDS = ("thread_id", "status", "created_at", "updated_at", "state_updated_at")


def visible_threads() -> QuerySet[Thread]:
    """The threads the request's caller may see: every thread unless an auth handler's
    filter narrows them."""
    return Thread.objects.filter(caller_q("threads"))


def thread_get(thread_id: uuid.UUID | str) -> Thread:
    """The thread with this id; NotFound (404) otherwise."""
    try:
        pk = thread_id if isinstance(thread_id, uuid.UUID) else uuid.UUID(str(thread_id))
    except ValueError:
        raise NotFound(f"Thread with ID {thread_id} not found") from None
    thread = visible_threads().filter(pk=pk).first()
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    return thread


def thread_check_access(thread_id: uuid.UUID, *, detail: str) -> None:
    """NotFound(detail) when the thread exists but the caller's auth filter hides it; a
    missing thread is left to the caller (a run may create it)."""
    if current_filter("threads") is None:
        return
    if (
        Thread.objects.filter(pk=thread_id).exists()
        and not visible_threads().filter(pk=thread_id).exists()
    ):
        raise NotFound(detail)


def thread_graph_id(thread: Thread) -> str | None:
    """The graph that owns the thread's checkpoints; None until a run (or the client) set one."""
    graph_id = (thread.metadata or {}).get("graph_id")
    return graph_id if isinstance(graph_id, str) and graph_id else None


def thread_graph(thread: Thread) -> Pregel | None:
    """The thread's graph with the Django checkpointer attached, or None without a graph id."""
    graph_id = thread_graph_id(thread)
    if graph_id is None:
        return None
    return get_graph(
        graph_id,
        config=_thread_config(thread),
        checkpointer=DjangoSaver(),
        access_context="threads.read",
    )


def _thread_config(thread: Thread) -> dict[str, Any]:
    config = dict(thread.config or {})
    config["configurable"] = {**(config.get("configurable") or {}), "thread_id": str(thread.pk)}
    return config


# --- search -----------------------------------------------------------------------


def json_containment(queryset: QuerySet[M], field: str, subset: Mapping[str, Any]) -> QuerySet[M]:
    """Rows whose JSON `field` contains `subset`, like PostgreSQL's `@>` on objects.

    Objects match recursively; any other value (lists included) must be equal.

    Built from one key lookup per leaf (nested objects recurse), because `__contains`
    is not supported on SQLite. Each key path is an aliased KeyTransform rather than a
    `field__key=...` kwarg, so keys holding "__" or a lookup name stay literal, while
    the lookup itself still gets Django's JSON handling of the value (null included).
    """
    leaves: list[tuple[KeyTransform, Any]] = []
    _collect_leaves(F(field), subset, leaves)
    for index, (path, value) in enumerate(leaves):
        name = f"_json_{field}_{index}"
        queryset = queryset.alias(**{name: path})
        if isinstance(value, Mapping):
            # {} is contained in any object: the key only has to be there.
            queryset = queryset.filter(**{f"{name}__isnull": False})
        else:
            queryset = queryset.filter(**{name: value})
    return queryset


def _collect_leaves(
    lhs: Any, subset: Mapping[str, Any], leaves: list[tuple[KeyTransform, Any]]
) -> None:
    for key, value in subset.items():
        path = KeyTransform(str(key), lhs)
        if isinstance(value, Mapping) and value:
            _collect_leaves(path, value, leaves)
        else:
            leaves.append((path, value))


def _filtered(
    *,
    metadata: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    status: str | None = None,
    ids: list[uuid.UUID] | None = None,
) -> QuerySet[Thread]:
    threads = visible_threads()
    if ids is not None:
        threads = threads.filter(pk__in=ids)
    if status:
        threads = threads.filter(status=status)
    if metadata:
        threads = json_containment(threads, "metadata", metadata)
    if values:
        threads = json_containment(threads, "values", values)
    return threads


def thread_search(
    *,
    metadata: Mapping[str, Any] | None = None,
    ids: list[uuid.UUID] | None = None,
    status: str | None = None,
    values: Mapping[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> tuple[list[Thread], int]:
    """One page of the matching threads (newest first by default) and the total that match."""
    threads = _filtered(metadata=metadata, values=values, status=status, ids=ids)
    field = sort_by if sort_by in SORT_FIELDS else "created_at"
    prefix = "" if sort_order == "asc" else "-"
    # The primary key breaks ties, so pages never repeat or skip a thread.
    order = (
        [f"{prefix}{field}"] if field == "thread_id" else [f"{prefix}{field}", f"{prefix}thread_id"]
    )
    total = threads.count()
    rows = list(threads.order_by(*order)[offset : offset + limit]) if offset < total else []
    return rows, total


def thread_count(
    *,
    metadata: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    status: str | None = None,
) -> int:
    return _filtered(metadata=metadata, values=values, status=status).count()


# --- state and history --------------------------------------------------------------


def _state_config(
    thread: Thread,
    *,
    checkpoint_id: str | None = None,
    checkpoint_ns: str = "",
    extra: Mapping[str, Any] | None = None,
) -> RunnableConfig:
    configurable: dict[str, Any] = {
        **(extra or {}),
        "thread_id": str(thread.pk),
        "checkpoint_ns": checkpoint_ns,
    }
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def thread_state_get(
    *,
    thread: Thread,
    checkpoint_id: str | None = None,
    checkpoint_ns: str = "",
    subgraphs: bool = False,
) -> ThreadStateJson:
    """The thread's state (latest, or at `checkpoint_id`) as the official ThreadState.

    A thread without a graph id (it never ran) has the empty state and no checkpoints;
    an unknown `checkpoint_id` is NotFound.
    """
    graph = thread_graph(thread)
    if graph is None:
        return _no_graph_state(checkpoint_id)
    config = _state_config(thread, checkpoint_id=checkpoint_id, checkpoint_ns=checkpoint_ns)
    return _state_json(graph.get_state(config, subgraphs=subgraphs), checkpoint_id)


def _no_graph_state(checkpoint_id: str | None) -> ThreadStateJson:
    if checkpoint_id:
        raise NotFound(f"Checkpoint {checkpoint_id} not found")
    return empty_thread_state()


def _state_json(snapshot: StateSnapshot, checkpoint_id: str | None) -> ThreadStateJson:
    # LangGraph answers an unknown checkpoint id with an empty snapshot that still names
    # it; every stored checkpoint has a timestamp, so that one is told apart and refused.
    if checkpoint_id and snapshot.created_at is None:
        raise NotFound(f"Checkpoint {checkpoint_id} not found")
    return snapshot_to_thread_state(snapshot)


def checkpoint_id_of(before: str | Mapping[str, Any] | None) -> str | None:
    """A checkpoint id from any form clients send: "id", {"checkpoint_id"} or {"configurable": {...}}."""
    if before is None:
        return None
    if isinstance(before, str):
        return before or None
    configurable = before.get("configurable")
    inner = configurable if isinstance(configurable, Mapping) else before
    value = inner.get("checkpoint_id")
    return str(value) if value else None


def _history_args(
    thread: Thread,
    *,
    limit: int,
    before: str | Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    checkpoint: Mapping[str, Any] | None,
) -> dict[str, Any]:
    checkpoint = dict(checkpoint or {})
    checkpoint_ns = str(checkpoint.pop("checkpoint_ns", "") or "")
    checkpoint_id = checkpoint.pop("checkpoint_id", None)
    checkpoint.pop("thread_id", None)
    config = _state_config(
        thread, checkpoint_id=checkpoint_id, checkpoint_ns=checkpoint_ns, extra=checkpoint
    )
    before_id = checkpoint_id_of(before)
    before_config = (
        _state_config(thread, checkpoint_id=before_id, checkpoint_ns=checkpoint_ns)
        if before_id
        else None
    )
    return {
        "config": config,
        "limit": limit,
        "before": before_config,
        "filter": dict(metadata) if metadata else None,
    }


def thread_history(
    *,
    thread: Thread,
    limit: int = 10,
    before: str | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
) -> list[ThreadStateJson]:
    """The thread's checkpoints as ThreadStates, newest first."""
    graph = thread_graph(thread)
    if graph is None:
        return []
    args = _history_args(
        thread, limit=limit, before=before, metadata=metadata, checkpoint=checkpoint
    )
    return [snapshot_to_thread_state(s) for s in graph.get_state_history(**args)]


def threads_select(
    *,
    ids: Sequence[uuid.UUID] = (),
    idle_for: timedelta | None = None,
    statuses: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> QuerySet[Thread]:
    """Threads for bulk maintenance (prune_threads): by id, by time since their last
    update, by status and by metadata (each given criterion must hold), in id order."""
    threads = Thread.objects.all()
    if ids:
        threads = threads.filter(pk__in=list(ids))
    if idle_for is not None:
        threads = threads.filter(updated_at__lt=timezone.now() - idle_for)
    if statuses:
        threads = threads.filter(status__in=list(statuses))
    if metadata:
        threads = json_containment(threads, "metadata", metadata)
    return threads.order_by("thread_id")


# --- storage ----------------------------------------------------------------------


def thread_storage(*, thread: Thread) -> dict[str, Any]:
    """Bytes the thread's checkpoints occupy as stored: checkpoint rows (serialized
    checkpoint plus metadata), channel values per channel (a message list stored as a
    delta counts the delta), and pending writes. Subgraph namespaces included."""
    tid = str(thread.pk)
    checkpoints = Checkpoint.objects.filter(thread_id=tid).aggregate(
        count=Count("id"),
        bytes=Coalesce(Sum(Length("checkpoint")), 0)
        + Coalesce(Sum(Length(Cast("metadata", TextField()))), 0),
    )
    by_channel = {
        row["channel"]: {"versions": row["versions"], "bytes": row["bytes"]}
        for row in CheckpointBlob.objects.filter(thread_id=tid)
        .values("channel")
        .annotate(versions=Count("id"), bytes=Coalesce(Sum(Length("blob")), 0))
        .order_by("channel")
    }
    writes = CheckpointWrite.objects.filter(thread_id=tid).aggregate(
        count=Count("id"), bytes=Coalesce(Sum(Length("blob")), 0)
    )
    channel_bytes = sum(entry["bytes"] for entry in by_channel.values())
    return {
        "thread_id": tid,
        "total_bytes": checkpoints["bytes"] + channel_bytes + writes["bytes"],
        "checkpoints": {"count": checkpoints["count"], "bytes": checkpoints["bytes"]},
        "channel_values": {
            "count": sum(entry["versions"] for entry in by_channel.values()),
            "bytes": channel_bytes,
            "by_channel": by_channel,
        },
        "pending_writes": {"count": writes["count"], "bytes": writes["bytes"]},
    }
