"""Pure conversions from LangGraph StateSnapshots to the official ThreadState JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from langgraph.types import StateSnapshot

from core.json import to_jsonable


class CheckpointJson(TypedDict, total=False):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    checkpoint_map: dict[str, Any]


class InterruptJson(TypedDict):
    id: str | None
    value: Any


class ThreadTaskJson(TypedDict):
    id: str
    name: str
    path: list[Any]
    error: Any
    interrupts: list[InterruptJson]
    checkpoint: dict[str, Any] | None
    state: ThreadStateJson | None
    result: Any


class ThreadStateJson(TypedDict):
    values: Any
    next: list[str]
    tasks: list[ThreadTaskJson]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: CheckpointJson | None
    parent_checkpoint: CheckpointJson | None
    interrupts: list[InterruptJson]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


def empty_thread_state() -> ThreadStateJson:
    """The state of a thread that has no checkpoint (never ran, or its graph is unknown)."""
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": None,
        "created_at": None,
        "checkpoint": None,
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }


def config_to_checkpoint(config: Mapping[str, Any] | None) -> CheckpointJson | None:
    """{checkpoint_id, thread_id, checkpoint_ns} of a RunnableConfig; None without a checkpoint id."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("thread_id") or not configurable.get("checkpoint_id"):
        return None
    checkpoint: CheckpointJson = {
        "checkpoint_id": str(configurable["checkpoint_id"]),
        "thread_id": str(configurable["thread_id"]),
        "checkpoint_ns": str(configurable.get("checkpoint_ns") or ""),
    }
    if "checkpoint_map" in configurable:
        checkpoint["checkpoint_map"] = to_jsonable(configurable["checkpoint_map"])
    return checkpoint


def interrupt_to_json(interrupt: Any) -> InterruptJson:
    """An Interrupt (or its dict form) as the official {id, value}."""
    if isinstance(interrupt, Mapping):
        return {"id": interrupt.get("id"), "value": to_jsonable(interrupt.get("value"))}
    return {
        "id": getattr(interrupt, "id", None),
        "value": to_jsonable(getattr(interrupt, "value", None)),
    }


def interrupts_to_json(interrupts: Iterable[Any]) -> list[InterruptJson]:
    return [interrupt_to_json(i) for i in interrupts]


def _task_to_json(task: Any) -> ThreadTaskJson:
    state = task.state
    return {
        "id": task.id,
        "name": task.name,
        "path": to_jsonable(task.path),
        "error": to_jsonable(task.error),
        "interrupts": interrupts_to_json(task.interrupts),
        # A task's `state` is a subgraph config until subgraph states are asked for.
        "checkpoint": to_jsonable(state["configurable"])
        if state is not None and not isinstance(state, StateSnapshot)
        else None,
        "state": snapshot_to_thread_state(state) if isinstance(state, StateSnapshot) else None,
        "result": to_jsonable(getattr(task, "result", None)),
    }


def snapshot_to_thread_state(snapshot: StateSnapshot) -> ThreadStateJson:
    """A StateSnapshot as the official ThreadState (get_state and history items)."""
    config = snapshot.config or {}
    parent_config = snapshot.parent_config or {}
    metadata = to_jsonable(snapshot.metadata) if snapshot.metadata is not None else None
    # The official server drops the root namespace from the metadata it shows.
    if isinstance(metadata, dict) and metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    return {
        "values": to_jsonable(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [_task_to_json(t) for t in snapshot.tasks],
        "metadata": metadata,
        "created_at": snapshot.created_at,
        "checkpoint": config_to_checkpoint(config),
        "parent_checkpoint": config_to_checkpoint(parent_config),
        "interrupts": interrupts_to_json(getattr(snapshot, "interrupts", ())),
        "checkpoint_id": (config.get("configurable") or {}).get("checkpoint_id"),
        "parent_checkpoint_id": (parent_config.get("configurable") or {}).get("checkpoint_id"),
    }


def snapshot_thread_values(snapshot: StateSnapshot) -> Any:
    """The values to cache on the Thread row."""
    return to_jsonable(snapshot.values)


def snapshot_thread_interrupts(snapshot: StateSnapshot) -> dict[str, list[InterruptJson]]:
    """{task_id: [interrupt]} for the tasks waiting on an interrupt, as Thread.interrupts holds."""
    return {t.id: interrupts_to_json(t.interrupts) for t in snapshot.tasks if t.interrupts}
