"""One more step on a long thread writes about as much as one more step on a short one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from threads.checkpointer import DjangoSaver
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "The quick brown fox jumps over the lazy dog while the checkpointer keeps score. " * 2


def chat_graph(saver: DjangoSaver) -> Any:
    def chat(state: MessagesState) -> dict:
        return {"messages": [AIMessage(f"{len(state['messages'])}: {TEXT}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def history(count: int) -> list[BaseMessage]:
    return [
        HumanMessage(f"{i}: {TEXT}") if i % 2 == 0 else AIMessage(f"{i}: {TEXT}")
        for i in range(count)
    ]


def max_pks() -> dict[type, int]:
    return {
        model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for model in (Checkpoint, CheckpointBlob, CheckpointWrite)
    }


def written_since(marks: dict[type, int], thread_id: str) -> dict[str, int]:
    """Rows and bytes (blob, checkpoint and metadata payloads) inserted after `marks`."""
    rows = bytes_ = 0
    for checkpoint, metadata in Checkpoint.objects.filter(
        pk__gt=marks[Checkpoint], thread_id=thread_id
    ).values_list("checkpoint", "metadata"):
        rows += 1
        bytes_ += len(checkpoint) + len(json.dumps(metadata))
    for model in (CheckpointBlob, CheckpointWrite):
        for (blob,) in model.objects.filter(pk__gt=marks[model], thread_id=thread_id).values_list(
            "blob"
        ):
            rows += 1
            bytes_ += len(blob or b"")
    return {"rows": rows, "bytes": bytes_}


async def one_more_step(message_count: int) -> dict[str, int]:
    saver = DjangoSaver()
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": str(uuid.uuid4()), "run_id": str(uuid.uuid4())}}
    await graph.ainvoke({"messages": history(message_count - 1)}, config)
    assert len((await graph.aget_state(config)).values["messages"]) == message_count

    marks = await sync_to_async(max_pks)()
    step_config = {"configurable": {**config["configurable"], "run_id": str(uuid.uuid4())}}
    await graph.ainvoke({"messages": [HumanMessage(f"one more: {TEXT}")]}, step_config)
    cost = await sync_to_async(written_since)(marks, config["configurable"]["thread_id"])

    messages = (await graph.aget_state(config)).values["messages"]
    assert len(messages) == message_count + 2
    assert messages[-2].content == f"one more: {TEXT}"
    assert messages[-1].content == f"{message_count + 1}: {TEXT}"
    assert [m.content for m in messages[: message_count - 1]] == [
        m.content for m in history(message_count - 1)
    ]
    cost["history_bytes"] = len(saver.serde.dumps_typed(messages)[1])
    return cost


async def test_one_more_step_costs_the_same_with_10_or_1000_messages() -> None:
    short = await one_more_step(10)
    long = await one_more_step(1000)
    ratio = long["bytes"] / short["bytes"]
    print(
        f"\none more step (one run: input, chat node) on a thread with 10 messages: "
        f"{short['rows']} rows, {short['bytes']} bytes (the whole history is {short['history_bytes']} bytes)"
        f"\none more step on a thread with 1000 messages: "
        f"{long['rows']} rows, {long['bytes']} bytes (the whole history is {long['history_bytes']} bytes)"
        f"\nratio long/short: {ratio:.2f}"
    )
    assert long["rows"] == short["rows"]
    assert 0.5 <= ratio <= 2.0
    assert long["bytes"] < long["history_bytes"] / 10
