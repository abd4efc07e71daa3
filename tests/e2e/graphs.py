"""Graphs that only the end-to-end tests serve: two stuck in synchronous code, one that raises,
one with a subgraph that writes custom stream events, one that ticks custom events steadily."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, TypedDict

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store, get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph_sdk.runtime import ServerRuntime


def block(state: MessagesState, config: RunnableConfig) -> dict[str, list]:
    # Synchronous sleep: cancellation cannot reach it at an await.
    time.sleep(float((config.get("configurable") or {}).get("sleep", 60)))
    return {"messages": [AIMessage(content="woke up")]}


def first(state: MessagesState) -> dict[str, list]:
    return {"messages": [AIMessage(content="about to block")]}


def _first_then_block(blocking_node: object) -> object:
    """first -> block: the first node checkpoints, the second never returns in time."""
    builder = StateGraph(MessagesState)
    builder.add_node("first", first)
    builder.add_node("block", blocking_node)
    builder.add_edge(START, "first")
    builder.add_edge("first", "block")
    builder.add_edge("block", END)
    return builder.compile()


sleeper = _first_then_block(block)


async def block_the_loop(state: MessagesState, config: RunnableConfig) -> dict[str, list]:
    # Synchronous sleep inside an async node: the event loop itself is blocked.
    time.sleep(float((config.get("configurable") or {}).get("sleep", 60)))
    return {"messages": [AIMessage(content="woke up")]}


blocker = _first_then_block(block_the_loop)


async def explode(state: MessagesState) -> dict[str, list]:
    raise ValueError("the graph raised on purpose")


_raiser = StateGraph(MessagesState)
_raiser.add_node("explode", explode)
_raiser.add_edge(START, "explode")
_raiser.add_edge("explode", END)
raiser = _raiser.compile()


async def parent_step(state: MessagesState) -> dict[str, list]:
    get_stream_writer()({"progress": "parent working"})
    return {"messages": [AIMessage(content="from the parent")]}


async def child_step(state: MessagesState) -> dict[str, list]:
    get_stream_writer()({"progress": "child working"})
    return {"messages": [AIMessage(content="from the child")]}


_child = StateGraph(MessagesState)
_child.add_node("child_step", child_step)
_child.add_edge(START, "child_step")
_child.add_edge("child_step", END)

_nested = StateGraph(MessagesState)
_nested.add_node("parent_step", parent_step)
_nested.add_node("child", _child.compile())
_nested.add_edge(START, "parent_step")
_nested.add_edge("parent_step", "child")
_nested.add_edge("child", END)
nested = _nested.compile()


# --- the store inside graphs ---------------------------------------------------------


class MemoryState(TypedDict, total=False):
    user: str
    seen: Annotated[list, operator.add]


def read_with_parameter(state: MemoryState, store: BaseStore) -> dict[str, list]:
    # A synchronous node: the store's sync batch.
    item = store.get(("memories", state["user"]), "profile")
    return {"seen": [{"profile": item.value if item else None}]}


async def write_with_get_store(state: MemoryState) -> dict[str, list]:
    # An async node: the store's async batch.
    await get_store().aput(
        ("memories", state["user"]), "from_graph", {"note": "written by the graph"}
    )
    return {"seen": ["wrote"]}


async def read_with_runtime(state: MemoryState, runtime: Runtime) -> dict[str, list]:
    items = await runtime.store.asearch(("memories", state["user"]))
    return {"seen": [{"keys": sorted(item.key for item in items)}]}


_memory = StateGraph(MemoryState)
_memory.add_node("read_with_parameter", read_with_parameter)
_memory.add_node("write_with_get_store", write_with_get_store)
_memory.add_node("read_with_runtime", read_with_runtime)
_memory.add_edge(START, "read_with_parameter")
_memory.add_edge("read_with_parameter", "write_with_get_store")
_memory.add_edge("write_with_get_store", "read_with_runtime")
_memory.add_edge("read_with_runtime", END)
memory = _memory.compile()


def make_store_graph(config: RunnableConfig, runtime: ServerRuntime) -> object:
    """A factory as the official server calls it: config and a ServerRuntime."""

    async def record(state: MemoryState) -> dict[str, list]:
        execution = runtime.execution_runtime
        await runtime.store.aput(
            ("factory", state["user"]),
            "made",
            {
                "access_context": runtime.access_context,
                "context": execution.context if execution else None,
                "assistant_id": config["configurable"].get("assistant_id"),
            },
        )
        return {"seen": ["recorded"]}

    builder = StateGraph(MemoryState)
    builder.add_node("record", record)
    builder.add_edge(START, "record")
    builder.add_edge("record", END)
    return builder.compile()


async def tick(state: MessagesState, config: RunnableConfig) -> dict[str, list]:
    # A steady stream of numbered custom events, like tokens from a slow model.
    configurable = config.get("configurable") or {}
    write = get_stream_writer()
    for n in range(int(configurable.get("ticks", 10))):
        write({"tick": n})
        await asyncio.sleep(float(configurable.get("interval", 0.2)))
    return {"messages": [AIMessage(content="ticked")]}


_ticker = StateGraph(MessagesState)
_ticker.add_node("tick", tick)
_ticker.add_edge(START, "tick")
_ticker.add_edge("tick", END)
ticker = _ticker.compile()
