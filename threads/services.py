"""Every write to threads: create, update, delete, copy, update_state and the cached-state sync."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Literal, cast

from django.db import IntegrityError, transaction
from django.utils import timezone
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import Command, StateSnapshot, StateUpdate

from access.filters import caller_q
from core.errors import Conflict, NotFound, SpindleError
from core.json import to_jsonable
from core.timestamps import created_as_updated
from runs.models import ACTIVE_STATUSES, Run
from threads.checkpointer import DjangoSaver
from threads.locks import lock_thread
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread, ThreadStatus
from threads.selectors import thread_graph, thread_graph_id
from threads.state import snapshot_thread_interrupts, snapshot_thread_values

logger = logging.getLogger(__name__)


class ThreadStateError(SpindleError):
    """The graph refused a state update (bad values, unknown node): the client's mistake."""

    status_code = 400
    default_detail = "Bad Request"


def thread_create(
    *,
    thread_id: uuid.UUID | None = None,
    metadata: Mapping[str, Any] | None = None,
    if_exists: Literal["raise", "do_nothing"] = "raise",
    supersteps: list[Mapping[str, Any]] | None = None,
) -> Thread:
    """Create a thread; an existing id raises Conflict, or returns that thread with do_nothing.

    Without an id the thread gets a UUIDv7, as on the official server. `supersteps`
    (lists of {values, as_node, command} updates) are applied to the new thread through
    its graph (metadata.graph_id); if that fails, the thread is not created either.
    """
    with transaction.atomic():
        existing = Thread.objects.filter(pk=thread_id).first() if thread_id is not None else None
        if existing is not None:
            return _existing_thread(existing, if_exists)
        try:
            with transaction.atomic():
                fields: dict[str, Any] = {"metadata": dict(metadata or {})}
                if thread_id is not None:
                    fields["thread_id"] = thread_id
                thread = Thread.objects.create(**fields)
                created_as_updated(thread, "updated_at", "state_updated_at")
        except IntegrityError:
            # Another request created the same id between our read and our insert.
            existing = (
                Thread.objects.filter(pk=thread_id).first() if thread_id is not None else None
            )
            if existing is None:
                raise
            return _existing_thread(existing, if_exists)
        if supersteps:
            _apply_supersteps(thread, supersteps)
    return thread


def _existing_thread(existing: Thread, if_exists: str) -> Thread:
    """do_nothing answers with the existing thread, unless the caller's auth filter hides
    it: then, as without do_nothing, the id is taken (Conflict)."""
    if (
        if_exists == "do_nothing"
        and Thread.objects.filter(caller_q("threads"), pk=existing.pk).exists()
    ):
        return existing
    raise Conflict(f"Thread with ID {existing.pk} already exists")


def _as_update(update: Mapping[str, Any]) -> StateUpdate:
    command = update.get("command")
    if command:
        fields = {k: command[k] for k in ("update", "resume", "goto") if k in command}
        # bulk_update_state takes a Command as the values; StateUpdate's hint says dict only.
        return StateUpdate(Command(**fields), update.get("as_node"))  # type: ignore[arg-type]
    return StateUpdate(update.get("values"), update.get("as_node"))


def _apply_supersteps(thread: Thread, supersteps: list[Mapping[str, Any]]) -> None:
    graph = thread_graph(thread)
    if graph is None:
        raise ThreadStateError(_no_graph_detail(thread.pk))
    config: RunnableConfig = {
        "configurable": {
            "thread_id": str(thread.pk),
            "checkpoint_ns": "",
            "graph_id": thread_graph_id(thread),
        }
    }
    steps = [[_as_update(u) for u in step.get("updates") or []] for step in supersteps]
    try:
        graph.bulk_update_state(config, steps)
    except (InvalidUpdateError, ValueError, TypeError) as exc:
        raise ThreadStateError(str(exc)) from exc
    snapshot = graph.get_state({"configurable": {"thread_id": str(thread.pk)}})
    _store_snapshot(thread, snapshot)
    thread.status = ThreadStatus.INTERRUPTED if snapshot.next else ThreadStatus.IDLE
    thread.save(update_fields=["values", "interrupts", "status", "state_updated_at", "updated_at"])


def _no_graph_detail(thread_id: uuid.UUID) -> str:
    return (
        f"Thread '{thread_id}' has no assigned graph ID. This usually occurs when no runs "
        "have been made on this particular thread. This operation requires a graph ID. "
        "Please ensure a run has been made for the thread or manually update the thread "
        "metadata (by setting the 'graph_id' field) before running this operation."
    )


def thread_update(*, thread_id: uuid.UUID, metadata: Mapping[str, Any] | None) -> Thread:
    """Merge `metadata` into the thread's metadata."""
    with transaction.atomic():
        try:
            thread = lock_thread(thread_id)
        except NotFound:
            # The official server answers a PATCH of an unknown thread with a bare "Not Found".
            raise NotFound() from None
        thread.metadata = {**(thread.metadata or {}), **(metadata or {})}
        thread.save(update_fields=["metadata", "updated_at"])
    return thread


def thread_copy(*, thread_id: uuid.UUID) -> Thread:
    """A new thread (uuid4) with the same metadata, cached state and full checkpoint history.

    Runs are not copied. An unknown source thread is a Conflict, as the official server
    answers 409 there.
    """
    with transaction.atomic():
        source = Thread.objects.filter(caller_q("threads"), pk=thread_id).first()
        if source is None:
            raise Conflict()
        copy = Thread.objects.create(
            thread_id=uuid.uuid4(),
            metadata=dict(source.metadata or {}),
            config=dict(source.config or {}),
            values=source.values,
            interrupts=dict(source.interrupts or {}),
            # The copy has no runs: it waits on an interrupt like its source, or is idle.
            status=ThreadStatus.INTERRUPTED
            if source.status == ThreadStatus.INTERRUPTED
            else ThreadStatus.IDLE,
        )
        created_as_updated(copy, "updated_at", "state_updated_at")
        DjangoSaver().copy_thread(str(source.pk), str(copy.pk))
        # The copies are bound to no run; binding them to the new thread lets its
        # deletion cascade to them like to any other checkpoint of the thread.
        for model in (Checkpoint, CheckpointBlob, CheckpointWrite):
            model.objects.filter(thread_id=str(copy.pk)).update(owner_thread=copy)
    logger.info("Copied thread %s to %s", thread_id, copy.pk)
    return copy


def _active_run_ids(thread_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        Run.objects.filter(thread_id=thread_id, status__in=ACTIVE_STATUSES)
        .order_by("created_at")
        .values_list("run_id", flat=True)
    )


def thread_update_state(
    *,
    thread_id: uuid.UUID,
    values: Any,
    as_node: str | None = None,
    checkpoint_id: str | None = None,
    checkpoint_ns: str = "",
) -> dict[str, Any]:
    """Write a new checkpoint with `values` (through the graph's reducers), as `as_node`.

    With `checkpoint_id` the new checkpoint forks from that one. Refused with 409 while
    the thread has a pending or running run; the thread's lock is held throughout, so
    no run can be created on it until the update is committed.
    """
    with transaction.atomic():
        thread = lock_thread(thread_id)
        active = _active_run_ids(thread.pk)
        if active:
            raise Conflict(f"Thread {thread_id} has in-flight runs: {[str(r) for r in active]}")
        graph = thread_graph(thread)
        if graph is None:
            raise ThreadStateError(_no_graph_detail(thread.pk))
        configurable: dict[str, Any] = {"thread_id": str(thread.pk), "checkpoint_ns": checkpoint_ns}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
            # thread_graph compiles the graph with the thread's saver.
            saver = cast(BaseCheckpointSaver, graph.checkpointer)
            if saver.get_tuple({"configurable": configurable}) is None:
                raise NotFound(f"Checkpoint {checkpoint_id} not found")
        configurable["graph_id"] = thread_graph_id(thread)
        try:
            next_config = graph.update_state(
                {"configurable": configurable}, values, as_node=as_node
            )
        except (InvalidUpdateError, ValueError, TypeError) as exc:
            raise ThreadStateError(str(exc)) from exc
        snapshot = graph.get_state({"configurable": {"thread_id": str(thread.pk)}})
        _store_snapshot(thread, snapshot)
        # No run is active (checked under the lock), so the status follows the new state.
        thread.status = ThreadStatus.INTERRUPTED if snapshot.next else ThreadStatus.IDLE
        thread.error = None
        thread.save(
            update_fields=[
                "values",
                "interrupts",
                "status",
                "error",
                "state_updated_at",
                "updated_at",
            ]
        )
    checkpoint = to_jsonable(next_config["configurable"])
    return {
        "checkpoint": checkpoint,
        "configurable": checkpoint,
        "checkpoint_id": checkpoint.get("checkpoint_id"),
    }


def _store_snapshot(thread: Thread, snapshot: StateSnapshot) -> None:
    thread.values = snapshot_thread_values(snapshot)
    thread.interrupts = snapshot_thread_interrupts(snapshot)
    thread.state_updated_at = timezone.now()


def _save_synced(thread_id: uuid.UUID | str, snapshot: StateSnapshot) -> bool:
    now = timezone.now()
    updated = Thread.objects.filter(pk=thread_id).update(
        values=snapshot_thread_values(snapshot),
        interrupts=snapshot_thread_interrupts(snapshot),
        state_updated_at=now,
        updated_at=now,
    )
    return updated > 0


def thread_sync_state(*, thread_id: uuid.UUID | str, graph: Pregel) -> None:
    """Cache the latest checkpoint's values and interrupts on the thread row.

    The run engine calls this after a rollback or a run's deletion took checkpoints away
    (runs.services._resync_thread_values). A thread deleted meanwhile is left alone
    (the update matches no row). The status is the run engine's to set, not this one's.
    """
    snapshot = graph.get_state({"configurable": {"thread_id": str(thread_id)}})
    if not _save_synced(thread_id, snapshot):
        logger.info("Thread %s is gone; its state was not cached", thread_id)
