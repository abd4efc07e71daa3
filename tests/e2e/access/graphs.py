"""Graphs that answer with who called them, as their config tells them: `whoami` in its
state, `chat` in a message (for the agent protocols, which speak in messages)."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph


class State(TypedDict, total=False):
    user_id: str
    display_name: str
    permissions: list[str]


def whoami_node(state: State, config: RunnableConfig) -> dict[str, Any]:
    configurable = config.get("configurable") or {}
    user = configurable.get("langgraph_auth_user")
    name = user.get("display_name") if user is not None else None
    return {
        "user_id": configurable.get("langgraph_auth_user_id"),
        "display_name": name,
        "permissions": list(configurable.get("langgraph_auth_permissions") or []),
    }


builder = StateGraph(State)
builder.add_node("whoami", whoami_node)
builder.add_edge(START, "whoami")
builder.add_edge("whoami", END)
whoami = builder.compile()


def chat_node(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    user_id = (config.get("configurable") or {}).get("langgraph_auth_user_id")
    return {"messages": [AIMessage(content=f"hello {user_id}")]}


_chat = StateGraph(MessagesState)
_chat.add_node("chat", chat_node)
_chat.add_edge(START, "chat")
_chat.add_edge("chat", END)
chat = _chat.compile()
