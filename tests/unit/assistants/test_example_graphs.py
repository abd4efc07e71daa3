"""The example graphs run end to end in-process: weather agent, echo and interruptible."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from examples import weather
from examples.echo import graph as echo_graph
from examples.interruptible import graph as interruptible_graph
from examples.scripted_model import ScriptedChatModel
from examples.weather import graph as weather_graph


def config(thread_id: str = "t", **configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **configurable}}


def shape(messages: list[BaseMessage]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for m in messages:
        calls = [(c["name"], c["args"]) for c in getattr(m, "tool_calls", [])]
        out.append((m.type, m.content, calls) if isinstance(m, AIMessage) else (m.type, m.content))
    return out


async def test_weather_agent_answers_with_the_official_four_messages() -> None:
    graph = weather_graph.copy(update={"checkpointer": InMemorySaver()})
    result = await graph.ainvoke(
        {"messages": [("human", "what's the weather in nyc")]}, config(delay=0)
    )
    assert shape(result["messages"]) == [
        ("human", "what's the weather in nyc"),
        ("ai", "", [("search", {"query": "weather in nyc"})]),
        ("tool", "Search result for 'weather in nyc': sunny, 72F."),
        ("ai", "The weather in nyc is sunny and 72 degrees.", []),
    ]
    tool_message = result["messages"][2]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.name == "search"
    assert tool_message.tool_call_id == result["messages"][1].tool_calls[0]["id"]
    state = await graph.aget_state(config())
    assert state.next == ()
    history = [s async for s in graph.aget_state_history(config())]
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]


async def test_weather_agent_streams_tokens_in_messages_mode() -> None:
    graph = weather_graph.copy(update={"checkpointer": InMemorySaver()})
    events = [
        (chunk, meta["langgraph_node"])
        async for chunk, meta in graph.astream(
            {"messages": [("human", "whats the weather in sf?")]},
            config(delay=0),
            stream_mode="messages",
        )
    ]
    tool_call_chunks = [
        c for c, node in events if node == "agent" and getattr(c, "tool_call_chunks", None)
    ]
    assert tool_call_chunks[0].tool_call_chunks[0]["name"] == "search"
    assert [c.type for c, node in events if node == "tools"] == ["tool"]
    words = [c.content for c, node in events if node == "agent" and c.content]
    assert "".join(words) == "The weather in sf is sunny and 72 degrees."
    assert len(words) == 9


async def test_weather_agent_waits_the_configured_delay_per_step() -> None:
    started = time.monotonic()
    await weather_graph.ainvoke({"messages": [("human", "weather in sf")]}, config(delay=0.1))
    assert 0.3 <= time.monotonic() - started < 2.0


async def test_cancelling_the_task_stops_the_weather_agent_at_once() -> None:
    graph = weather_graph.copy(update={"checkpointer": InMemorySaver()})
    task = asyncio.create_task(
        graph.ainvoke({"messages": [("human", "weather in sf")]}, config(delay=5))
    )
    await asyncio.sleep(0.1)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0


def test_delay_comes_from_configurable_with_a_default() -> None:
    assert weather.step_delay({"configurable": {"delay": 0}}) == 0.0
    assert weather.step_delay({"configurable": {"delay": "0.25"}}) == 0.25
    assert weather.step_delay({"configurable": {}}) == 1.5
    assert weather.step_delay({}) == 1.5
    assert weather.step_delay({"configurable": {"delay": "soon"}}) == 1.5


def test_spindle_model_switches_to_init_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    fake = types.ModuleType("langchain.chat_models")
    fake.init_chat_model = lambda name: asked.append(name) or ScriptedChatModel(tool_name="fake")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", types.ModuleType("langchain"))
    monkeypatch.setitem(sys.modules, "langchain.chat_models", fake)
    monkeypatch.setenv("SPINDLE_MODEL", "anthropic:claude-test")
    weather._chat_model.cache_clear()
    try:
        assert cast(ScriptedChatModel, weather.chat_model()).tool_name == "fake"
        assert asked == ["anthropic:claude-test"]
    finally:
        weather._chat_model.cache_clear()
    monkeypatch.delenv("SPINDLE_MODEL")
    assert cast(ScriptedChatModel, weather.chat_model()).tool_name == "search"


async def test_echo_appends_the_last_human_message() -> None:
    result = await echo_graph.ainvoke(
        {"messages": [HumanMessage("one"), AIMessage("x"), HumanMessage("two")]}
    )
    assert shape(result["messages"])[-1] == ("ai", "two", [])
    assert len(result["messages"]) == 4


async def test_interruptible_asks_then_resumes_with_the_answer() -> None:
    graph = interruptible_graph.copy(update={"checkpointer": InMemorySaver()})
    first = await graph.ainvoke({"messages": [("human", "go")]}, config("i"))
    assert [i.value for i in first["__interrupt__"]] == ["approve?"]
    state = await graph.aget_state(config("i"))
    assert state.next == ("ask",)
    assert [i.value for i in state.interrupts] == ["approve?"]

    second = await graph.ainvoke(Command(resume="yes"), config("i"))
    assert shape(second["messages"]) == [
        ("human", "go"),
        ("ai", "approved: yes", []),
        ("ai", "done", []),
    ]
    assert (await graph.aget_state(config("i"))).next == ()
