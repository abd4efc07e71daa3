"""A graph that asks for approval with interrupt() (graph "interruptible")."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt


async def ask(state: MessagesState) -> dict[str, list]:
    answer = interrupt("approve?")
    return {"messages": [AIMessage(content=f"approved: {answer}")]}


async def finish(state: MessagesState) -> dict[str, list]:
    return {"messages": [AIMessage(content="done")]}


builder = StateGraph(MessagesState)
builder.add_node("ask", ask)
builder.add_node("finish", finish)
builder.add_edge(START, "ask")
builder.add_edge("ask", "finish")
builder.add_edge("finish", END)

graph = builder.compile()
