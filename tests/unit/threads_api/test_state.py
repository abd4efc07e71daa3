"""StateSnapshot -> official ThreadState JSON, on local graphs with an in-memory saver."""

from __future__ import annotations

import json
from typing import TypedDict

from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import StateSnapshot, interrupt
from langgraph_sdk.schema import ThreadState, ThreadTask

from tests.sdk_shapes import OFFICIAL_EXTRAS, declared_keys, shape_errors
from threads.state import (
    config_to_checkpoint,
    empty_thread_state,
    snapshot_thread_interrupts,
    snapshot_thread_values,
    snapshot_to_thread_state,
)

# The SDK's keys, and those the official server adds (tests/sdk_shapes.py).
STATE_KEYS = set(declared_keys(ThreadState)[0]) | OFFICIAL_EXTRAS[ThreadState]
TASK_KEYS = set(declared_keys(ThreadTask)[0]) | OFFICIAL_EXTRAS[ThreadTask]


def _ask(state: MessagesState) -> dict[str, list]:
    answer = interrupt("approve?")
    return {"messages": [AIMessage(content=f"approved: {answer}")]}


def _interruptible():
    builder = StateGraph(MessagesState)
    builder.add_node("ask", _ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


class Counter(TypedDict):
    x: int


def _boom(state: Counter) -> Counter:
    raise ValueError("bad x")


def test_empty_state_matches_the_official_shape() -> None:
    empty = empty_thread_state()

    assert shape_errors(empty, ThreadState) == []
    assert set(empty) == STATE_KEYS
    # Collections empty, everything else null.
    assert empty == {
        **dict.fromkeys(STATE_KEYS),
        "values": {},
        "next": [],
        "tasks": [],
        "interrupts": [],
    }


def test_config_without_checkpoint_id_is_no_checkpoint() -> None:
    assert config_to_checkpoint(None) is None
    assert config_to_checkpoint({"configurable": {"thread_id": "t"}}) is None
    assert config_to_checkpoint(
        {"configurable": {"thread_id": "t", "checkpoint_id": "c", "checkpoint_ns": None}}
    ) == {"checkpoint_id": "c", "thread_id": "t", "checkpoint_ns": ""}


def test_interrupted_snapshot_becomes_thread_state_with_interrupts() -> None:
    graph = _interruptible()
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"messages": [{"role": "human", "content": "hi"}]}, config)
    snapshot = graph.get_state(config)

    state = snapshot_to_thread_state(snapshot)

    assert set(state) == STATE_KEYS
    json.dumps(state)  # plain JSON all the way down
    assert state["next"] == ["ask"]
    [message] = state["values"]["messages"]
    assert (message["type"], message["content"]) == ("human", "hi")
    [task] = state["tasks"]
    assert set(task) == TASK_KEYS
    assert task["name"] == "ask"
    assert task["path"] == ["__pregel_pull", "ask"]
    assert task["interrupts"] == [{"id": snapshot.tasks[0].interrupts[0].id, "value": "approve?"}]
    assert (task["error"], task["checkpoint"], task["state"], task["result"]) == (
        None,
        None,
        None,
        None,
    )
    assert state["interrupts"] == task["interrupts"]
    assert state["checkpoint"] == {
        "checkpoint_id": snapshot.config["configurable"]["checkpoint_id"],
        "thread_id": "t1",
        "checkpoint_ns": "",
    }
    assert state["checkpoint_id"] == snapshot.config["configurable"]["checkpoint_id"]
    assert state["parent_checkpoint"]["checkpoint_id"] == state["parent_checkpoint_id"]
    assert state["metadata"] == {"source": "loop", "step": 0, "parents": {}}
    assert state["created_at"] == snapshot.created_at

    assert snapshot_thread_interrupts(snapshot) == {task["id"]: task["interrupts"]}
    assert snapshot_thread_values(snapshot) == state["values"]


def test_first_checkpoint_has_no_parent() -> None:
    graph = _interruptible()
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"messages": []}, config)
    oldest = list(graph.get_state_history(config))[-1]

    state = snapshot_to_thread_state(oldest)

    assert state["metadata"]["source"] == "input"
    assert state["parent_checkpoint"] is None
    assert state["parent_checkpoint_id"] is None


def test_failed_task_shows_its_error() -> None:
    builder = StateGraph(Counter)
    builder.add_node("boom", _boom)
    builder.add_edge(START, "boom")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    try:
        graph.invoke({"x": 1}, config)
    except ValueError:
        pass

    state = snapshot_to_thread_state(graph.get_state(config))

    assert state["values"] == {"x": 1}
    assert state["tasks"][0]["error"] == "ValueError('bad x')"
    assert snapshot_thread_interrupts(graph.get_state(config)) == {}


def test_subgraph_task_state_is_nested_when_asked_for() -> None:
    inner = StateGraph(MessagesState)
    inner.add_node("ask", _ask)
    inner.add_edge(START, "ask")
    outer = StateGraph(MessagesState)
    outer.add_node("child", inner.compile())
    outer.add_edge(START, "child")
    graph = outer.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [{"role": "human", "content": "hi"}]}, config)

    flat = snapshot_to_thread_state(graph.get_state(config))
    nested = snapshot_to_thread_state(graph.get_state(config, subgraphs=True))

    [flat_task] = flat["tasks"]
    assert flat_task["state"] is None
    assert flat_task["checkpoint"]["thread_id"] == "t"
    assert flat_task["checkpoint"]["checkpoint_ns"].startswith("child:")
    [nested_task] = nested["tasks"]
    assert nested_task["checkpoint"] is None
    assert set(nested_task["state"]) == STATE_KEYS
    assert nested_task["state"]["next"] == ["ask"]
    assert nested_task["state"]["interrupts"][0]["value"] == "approve?"


def test_root_namespace_is_dropped_from_metadata() -> None:
    snapshot = StateSnapshot(
        values={"a": 1},
        next=(),
        config={"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c"}},
        metadata={"source": "update", "step": 1, "checkpoint_ns": ""},
        created_at="2026-01-01T00:00:00+00:00",
        parent_config=None,
        tasks=(),
        interrupts=(),
    )

    assert snapshot_to_thread_state(snapshot)["metadata"] == {"source": "update", "step": 1}
