"""An offline tool-calling weather agent (agent -> tools -> agent) served as graph "agent"."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition

from examples.scripted_model import ScriptedChatModel

logger = logging.getLogger(__name__)

DEFAULT_DELAY = 1.5


@tool
def search(query: str) -> str:
    """Search the web for `query`."""
    return f"Search result for '{query}': sunny, 72F."


TOOLS = [search]
TOOLS_BY_NAME = {t.name: t for t in TOOLS}


@functools.lru_cache(maxsize=4)
def _chat_model(name: str | None) -> BaseChatModel:
    if not name:
        return ScriptedChatModel()
    # Imported only when configured: `langchain` and the provider packages are optional.
    from langchain.chat_models import init_chat_model

    logger.info("Weather agent uses chat model %s", name)
    return init_chat_model(name)


def chat_model() -> BaseChatModel:
    """The scripted model, or SPINDLE_MODEL (e.g. "anthropic:claude-...") when set."""
    return _chat_model(os.environ.get("SPINDLE_MODEL") or None)


def step_delay(config: RunnableConfig) -> float:
    """Seconds each node waits: configurable "delay", else the run context's, else 1.5."""
    delay: Any = (config.get("configurable") or {}).get("delay")
    if delay is None:
        try:
            from langgraph.runtime import get_runtime

            context = get_runtime().context
        except Exception:
            context = None
        if isinstance(context, dict):
            delay = context.get("delay")
    try:
        return max(0.0, float(DEFAULT_DELAY if delay is None else delay))
    except (TypeError, ValueError):
        return DEFAULT_DELAY


async def agent(state: MessagesState, config: RunnableConfig) -> dict[str, list]:
    await asyncio.sleep(step_delay(config))
    response = await chat_model().bind_tools(TOOLS).ainvoke(state["messages"], config)
    return {"messages": [response]}


async def tools(state: MessagesState, config: RunnableConfig) -> dict[str, list]:
    await asyncio.sleep(step_delay(config))
    last = state["messages"][-1]
    calls = last.tool_calls if isinstance(last, AIMessage) else []
    results: list[ToolMessage] = []
    for call in calls:
        chosen = TOOLS_BY_NAME.get(call["name"])
        if chosen is None:
            results.append(
                ToolMessage(
                    content=f"Error: unknown tool {call['name']!r}",
                    name=call["name"],
                    tool_call_id=call["id"] or "",
                    status="error",
                )
            )
            continue
        results.append(await chosen.ainvoke(call, config))
    return {"messages": results}


builder = StateGraph(MessagesState)
builder.add_node("agent", agent)
builder.add_node("tools", tools)
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: END})
builder.add_edge("tools", "agent")

graph = builder.compile()
