"""LangGraph chunks to SSE (event, data) pairs, per stream mode (runs/events.py)."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph

from examples.weather import graph as weather_graph
from runs.events import (
    ChunkConverter,
    config_to_checkpoint,
    debug_checkpoint,
    event_mode,
    event_wanted,
    graph_stream_modes,
)

META = {"langgraph_node": "agent", "langgraph_step": 1, "langgraph_triggers": ("branch:to:agent",)}


def names(pairs: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in pairs]


# --- modes and event names ------------------------------------------------------------


def test_both_message_modes_come_from_the_langgraph_messages_mode() -> None:
    assert graph_stream_modes(["messages-tuple", "values", "messages"]) == ["messages", "values"]


def test_events_alone_still_runs_the_graph_with_a_mode() -> None:
    assert graph_stream_modes(["events"]) == ["values"]
    assert graph_stream_modes([]) == ["values"]


def test_event_names_map_back_to_their_stream_mode() -> None:
    assert event_mode("values") == "values"
    assert event_mode("messages") == "messages-tuple"
    assert event_mode("messages/partial") == "messages"
    assert event_mode("messages/metadata") == "messages"
    assert event_mode("updates|child:1234") == "updates"
    assert event_mode("messages|a:1|b:2") == "messages-tuple"
    assert event_mode("metadata") is None
    assert event_mode("error") is None


def test_a_join_filter_keeps_metadata_and_errors() -> None:
    assert event_wanted("values", None)
    assert event_wanted("metadata", ["updates"])
    assert event_wanted("error", ["updates"])
    assert event_wanted("updates|child:1", ["updates"])
    assert not event_wanted("values", ["updates"])
    assert not event_wanted("messages/partial", ["messages-tuple"])


# --- one chunk at a time ----------------------------------------------------------------


def test_values_and_updates_pass_through_as_plain_json() -> None:
    converter = ChunkConverter(["values", "updates"])
    message = AIMessage(content="hi", id="m1")
    assert converter.convert((), "values", {"messages": [message]}) == [
        ("values", {"messages": [message.model_dump()]})
    ]
    assert converter.convert((), "updates", {"agent": {"messages": [message]}}) == [
        ("updates", {"agent": {"messages": [message.model_dump()]}})
    ]


def test_chunks_of_modes_not_requested_are_dropped() -> None:
    converter = ChunkConverter(["updates"])
    assert converter.convert((), "values", {"messages": []}) == []
    assert converter.convert((), "messages", (AIMessageChunk(content="x", id="m"), META)) == []


def test_custom_tasks_and_checkpoints_are_sent_unchanged() -> None:
    converter = ChunkConverter(["custom", "tasks", "checkpoints"])
    assert converter.convert((), "custom", {"progress": 1}) == [("custom", {"progress": 1})]
    assert converter.convert((), "custom", "plain text") == [("custom", "plain text")]
    task = {
        "id": "t",
        "name": "agent",
        "input": {},
        "triggers": ("branch:to:agent",),
        "metadata": {},
    }
    assert converter.convert((), "tasks", task) == [
        ("tasks", {**task, "triggers": ["branch:to:agent"]})
    ]
    checkpoint: dict[str, Any] = {
        "config": {},
        "metadata": {},
        "values": {},
        "next": [],
        "parent_config": None,
        "tasks": [],
    }
    assert converter.convert((), "checkpoints", checkpoint) == [("checkpoints", checkpoint)]


def test_subgraph_chunks_carry_their_namespace_in_the_event_name() -> None:
    converter = ChunkConverter(["updates", "messages-tuple"])
    pairs = converter.convert(("child:1", "grandchild:2"), "updates", {"step": None})
    assert pairs == [("updates|child:1|grandchild:2", {"step": None})]
    pairs = converter.convert(("child:1",), "messages", (AIMessageChunk(content="x", id="m"), META))
    assert names(pairs) == ["messages|child:1"]


def test_chunk_unpacks_astream_items_with_and_without_subgraphs() -> None:
    converter = ChunkConverter(["values"])
    assert converter.chunk(("values", {"a": 1}), subgraphs=False) == [("values", {"a": 1})]
    assert converter.chunk((("child:1",), "values", {"a": 1}), subgraphs=True) == [
        ("values|child:1", {"a": 1})
    ]


def test_messages_tuple_sends_each_chunk_with_its_metadata() -> None:
    converter = ChunkConverter(["messages-tuple"])
    chunk = AIMessageChunk(content="The ", id="m1")
    [(name, data)] = converter.convert((), "messages", (chunk, META))
    assert name == "messages"
    assert data[0]["type"] == "AIMessageChunk"
    assert data[0]["content"] == "The "
    assert data[1] == {**META, "langgraph_triggers": ["branch:to:agent"]}


def test_older_messages_mode_sends_metadata_once_then_the_accumulated_message() -> None:
    converter = ChunkConverter(["messages"])
    first = converter.convert((), "messages", (AIMessageChunk(content="The ", id="m1"), META))
    second = converter.convert((), "messages", (AIMessageChunk(content="weather", id="m1"), META))
    assert names(first) == ["messages/metadata", "messages/partial"]
    assert first[0][1] == {"m1": {"metadata": {**META, "langgraph_triggers": ["branch:to:agent"]}}}
    assert first[1][1][0]["content"] == "The "
    assert names(second) == ["messages/partial"]
    [message] = second[0][1]
    assert (message["type"], message["content"], message["id"]) == ("ai", "The weather", "m1")


def test_older_messages_mode_sends_a_message_that_came_whole_as_complete() -> None:
    converter = ChunkConverter(["messages"])
    tool = ToolMessage(content="sunny", tool_call_id="call_1", id="t1", name="search")
    pairs = converter.convert((), "messages", (tool, META))
    assert names(pairs) == ["messages/metadata", "messages/complete"]
    [message] = pairs[1][1]
    assert (message["type"], message["content"], message["tool_call_id"]) == (
        "tool",
        "sunny",
        "call_1",
    )


def test_older_messages_mode_accumulates_tool_call_chunks_into_tool_calls() -> None:
    converter = ChunkConverter(["messages"])
    call = {"name": "search", "args": '{"query": "weather in sf"}', "id": "call_1", "index": 0}
    converter.convert(
        (), "messages", (AIMessageChunk(content="", id="m1", tool_call_chunks=[call]), META)
    )
    pairs = converter.convert((), "messages", (AIMessageChunk(content="", id="m1"), META))
    [message] = pairs[-1][1]
    assert message["tool_calls"][0]["args"] == {"query": "weather in sf"}


def test_both_message_forms_when_both_are_requested() -> None:
    converter = ChunkConverter(["messages-tuple", "messages"])
    pairs = converter.convert((), "messages", (AIMessageChunk(content="x", id="m1"), META))
    assert names(pairs) == ["messages", "messages/metadata", "messages/partial"]


def test_debug_checkpoints_also_name_their_checkpoint_and_parent() -> None:
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c2"}}
    parent = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    payload = {
        "config": config,
        "parent_config": parent,
        "values": {},
        "metadata": {"step": 1},
        "next": ["child"],
        "tasks": [
            {
                "id": "x",
                "name": "child",
                "interrupts": (),
                "state": {"configurable": {"checkpoint_ns": "child:x"}},
            },
            {"id": "y", "name": "other", "interrupts": (), "state": None},
        ],
    }
    converted = debug_checkpoint(payload)
    assert converted["checkpoint"] == {"checkpoint_id": "c2", "thread_id": "t", "checkpoint_ns": ""}
    assert converted["parent_checkpoint"] == {
        "checkpoint_id": "c1",
        "thread_id": "t",
        "checkpoint_ns": "",
    }
    assert converted["tasks"][0] == {
        "id": "x",
        "name": "child",
        "interrupts": (),
        "checkpoint": {"checkpoint_ns": "child:x"},
    }
    assert converted["tasks"][1]["state"] is None
    assert converted["config"] == config
    assert config_to_checkpoint(None) is None
    assert debug_checkpoint(None) is None

    converter = ChunkConverter(["debug"])
    chunk = {"step": 1, "timestamp": "now", "type": "checkpoint", "payload": payload}
    [(name, data)] = converter.convert((), "debug", chunk)
    assert name == "debug"
    assert data["payload"]["checkpoint"]["checkpoint_id"] == "c2"
    task = {"step": 1, "timestamp": "now", "type": "task", "payload": {"id": "x", "name": "agent"}}
    assert converter.convert((), "debug", task) == [("debug", task)]


# --- astream_events items ---------------------------------------------------------------


def event(kind: str, run_id: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "name": "n",
        "run_id": run_id,
        "tags": [],
        "metadata": {},
        "data": data,
        "parent_ids": [],
        **extra,
    }


def test_root_stream_events_carry_the_other_modes_and_the_rest_are_events() -> None:
    converter = ChunkConverter(["events", "values"], root_run_id="root")
    root_chunk = event("on_chain_stream", "root", {"chunk": ("values", {"a": 1})})
    assert converter.event(root_chunk, subgraphs=False) == [("values", {"a": 1})]
    start = event("on_chain_start", "root", {"input": {"messages": [HumanMessage("hi", id="h")]}})
    [(name, data)] = converter.event(start, subgraphs=False)
    assert name == "events"
    assert data["event"] == "on_chain_start"
    assert data["data"]["input"]["messages"][0]["type"] == "human"
    node_chunk = event("on_chain_stream", "node", {"chunk": {"a": 1}}, parent_ids=["root"])
    assert names(converter.event(node_chunk, subgraphs=False)) == ["events"]


def test_hidden_events_and_events_not_requested_are_dropped() -> None:
    hidden = event("on_chain_start", "x", {}, tags=["langsmith:hidden"])
    assert ChunkConverter(["events"], root_run_id="root").event(hidden, subgraphs=False) == []
    plain = event("on_chain_start", "x", {})
    assert ChunkConverter(["values"], root_run_id="root").event(plain, subgraphs=False) == []


def test_without_a_root_id_the_root_is_the_event_without_parents() -> None:
    converter = ChunkConverter(["updates"])
    root_chunk = event("on_chain_stream", "any", {"chunk": ((), "updates", {"n": {}})})
    assert converter.event(root_chunk, subgraphs=True) == [("updates", {"n": {}})]


# --- a real graph through the converter ---------------------------------------------------


async def collect(
    modes: list[str], *, events: bool = False, graph: Any = None, subgraphs: bool = False
) -> list:
    graph = (graph or weather_graph).copy(update={"checkpointer": InMemorySaver()})
    run_id = uuid.uuid4()
    config = {"configurable": {"thread_id": str(run_id), "delay": 0}, "run_id": run_id}
    converter = ChunkConverter(modes, root_run_id=str(run_id))
    options = {"stream_mode": graph_stream_modes(modes), "subgraphs": subgraphs}
    graph_input = {"messages": [("human", "weather in sf?")]}
    pairs: list[tuple[str, Any]] = []
    if events:
        async for item in graph.astream_events(graph_input, config, version="v2", **options):
            pairs += converter.event(item, subgraphs=subgraphs)
    else:
        async for item in graph.astream(graph_input, config, **options):
            pairs += converter.chunk(item, subgraphs=subgraphs)
    return pairs


async def test_the_weather_agent_sends_four_values_and_three_updates() -> None:
    pairs = await collect(["values", "updates"])
    values = [data for name, data in pairs if name == "values"]
    assert [len(v["messages"]) for v in values] == [1, 2, 3, 4]
    assert [next(iter(data)) for name, data in pairs if name == "updates"] == [
        "agent",
        "tools",
        "agent",
    ]
    # execution order: each step's update comes before that step's values
    assert names(pairs)[:3] == ["values", "updates", "values"]


async def test_the_weather_agent_streams_its_answer_one_word_per_chunk() -> None:
    pairs = await collect(["messages-tuple"])
    chunks = [
        data[0]
        for name, data in pairs
        if name == "messages" and data[0]["type"] == "AIMessageChunk"
    ]
    words = [c["content"] for c in chunks if c["content"]]
    assert "".join(words) == "The weather in sf is sunny and 72 degrees."
    assert len(words) == 9
    assert chunks[0]["tool_call_chunks"][0]["name"] == "search"
    tools = [data[0] for name, data in pairs if name == "messages" and data[0]["type"] == "tool"]
    assert len(tools) == 1
    assert pairs[0][1][1]["langgraph_node"] == "agent"


async def test_the_weather_agent_in_the_older_messages_mode() -> None:
    pairs = await collect(["messages"])
    assert names(pairs).count("messages/metadata") == 3  # tool call, tool result, answer
    assert names(pairs).count("messages/complete") == 1
    last = [data for name, data in pairs if name == "messages/partial"][-1]
    assert last[0]["content"] == "The weather in sf is sunny and 72 degrees."


async def test_the_weather_agent_events_run_from_chain_start_to_chain_end() -> None:
    pairs = await collect(["events", "values"], events=True)
    kinds = [data["event"] for name, data in pairs if name == "events"]
    assert kinds[0] == "on_chain_start"
    assert kinds[-1] == "on_chain_end"
    assert {
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
        "on_tool_start",
    } <= set(kinds)
    assert names(pairs).count("values") == 4
    first = next(data for name, data in pairs if name == "events")
    assert set(first) == {"event", "name", "run_id", "tags", "metadata", "data", "parent_ids"}


async def test_debug_mode_steps_through_checkpoints_tasks_and_results() -> None:
    pairs = await collect(["debug"])
    kinds = [(data["type"], data["step"]) for _, data in pairs]
    assert kinds[:2] == [("checkpoint", -1), ("checkpoint", 0)]
    assert kinds[2:5] == [("task", 1), ("task_result", 1), ("checkpoint", 1)]
    assert kinds[-1] == ("checkpoint", 3)


async def child_step(state: MessagesState) -> dict[str, list]:
    get_stream_writer()({"progress": "child"})
    return {"messages": [AIMessage(content="from the child")]}


async def test_subgraph_events_are_namespaced_and_custom_values_pass_through() -> None:
    child = StateGraph(MessagesState)
    child.add_node("step", child_step)
    child.add_edge(START, "step")
    child.add_edge("step", END)
    parent = StateGraph(MessagesState)
    parent.add_node("child", child.compile())
    parent.add_edge(START, "child")
    parent.add_edge("child", END)
    pairs = await collect(["updates", "custom"], graph=parent.compile(), subgraphs=True)
    assert [name.split(":")[0] for name in names(pairs)] == [
        "custom|child",
        "updates|child",
        "updates",
    ]
    assert pairs[0][1] == {"progress": "child"}
