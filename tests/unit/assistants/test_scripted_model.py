"""The scripted chat model: a search tool call for a question, an answer for a tool result."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableBinding

from examples.scripted_model import ScriptedChatModel, city_of
from examples.weather import search


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("whats the weather in sf?", "sf"),
        ("what's the weather in nyc", "nyc"),
        ("What is the weather in San Francisco today?", "San Francisco today"),
        ("weather in Paris, please", "Paris"),
        ("hello there", "hello there"),
        ("  tokyo  ", "tokyo"),
    ],
)
def test_city_is_parsed_from_the_question(text: str, city: str) -> None:
    assert city_of(text) == city


def test_a_human_message_gets_a_search_tool_call() -> None:
    reply = ScriptedChatModel().invoke([HumanMessage("whats the weather in sf?")])
    assert isinstance(reply, AIMessage)
    assert reply.content == ""
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert (call["name"], call["args"]) == ("search", {"query": "weather in sf"})
    assert call["id"]


def test_a_tool_result_gets_the_final_answer() -> None:
    messages = [
        HumanMessage("what's the weather in nyc"),
        AIMessage(
            "", tool_calls=[{"name": "search", "args": {"query": "weather in nyc"}, "id": "c1"}]
        ),
        ToolMessage("Search result for 'weather in nyc': sunny, 72F.", tool_call_id="c1"),
    ]
    reply = ScriptedChatModel().invoke(messages)
    assert reply.content == "The weather in nyc is sunny and 72 degrees."
    assert reply.tool_calls == []


def test_the_tool_returns_the_official_text() -> None:
    assert (
        search.invoke({"query": "weather in sf"})
        == "Search result for 'weather in sf': sunny, 72F."
    )


def test_the_tool_call_streams_as_tool_call_chunks() -> None:
    chunks = list(ScriptedChatModel().stream([HumanMessage("what's the weather in nyc")]))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    first = chunks[0]
    assert first.content == ""
    assert [(c["name"], c["args"], c["index"]) for c in first.tool_call_chunks] == [
        ("search", '{"query": "weather in nyc"}', 0)
    ]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        ("search", {"query": "weather in nyc"})
    ]


async def test_the_answer_streams_one_chunk_per_word() -> None:
    messages = [HumanMessage("whats the weather in sf?"), ToolMessage("x", tool_call_id="c1")]
    chunks = [c async for c in ScriptedChatModel().astream(messages)]
    words = [c.content for c in chunks if c.content]
    assert words == ["The ", "weather ", "in ", "sf ", "is ", "sunny ", "and ", "72 ", "degrees."]
    assert len({c.id for c in chunks}) == 1  # one message id across its chunks


def test_bind_tools_returns_a_runnable_that_still_answers() -> None:
    bound = ScriptedChatModel().bind_tools([search])
    assert isinstance(bound, RunnableBinding)
    assert bound.kwargs["tools"][0]["function"]["name"] == "search"
    reply = bound.invoke([HumanMessage("weather in rome")])
    assert reply.tool_calls[0]["args"] == {"query": "weather in rome"}


def test_no_messages_gets_a_plain_answer() -> None:
    assert ScriptedChatModel().invoke([]).tool_calls == []
