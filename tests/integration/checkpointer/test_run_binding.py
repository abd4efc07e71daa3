"""A bound DjangoSaver ties checkpoint rows to their Run row: they go with it, and late writes fail."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import END, START, MessagesState, StateGraph

from runs.models import Run
from tests.factories import amake_run, make_run
from threads.checkpointer import DjangoSaver
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

pytestmark = pytest.mark.django_db(transaction=True)

OwnedModel = type[Checkpoint] | type[CheckpointBlob] | type[CheckpointWrite]
MODELS: tuple[OwnedModel, ...] = (Checkpoint, CheckpointBlob, CheckpointWrite)


def chat_graph(saver: DjangoSaver) -> Any:
    def chat(state: MessagesState) -> dict:
        return {"messages": [AIMessage(f"reply to {state['messages'][-1].content}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def run_config(thread: Thread, run: Run) -> dict:
    return {"configurable": {"thread_id": str(thread.pk), "run_id": str(run.pk)}}


def owners() -> dict[OwnedModel, dict[int, uuid.UUID | None]]:
    return {model: dict(model.objects.values_list("pk", "owner_run_id")) for model in MODELS}


async def test_deleting_a_run_deletes_exactly_its_checkpoints_writes_and_blobs() -> None:
    thread = await Thread.objects.acreate()
    first, second = await amake_run(thread), await amake_run(thread)
    graph = chat_graph(DjangoSaver(bind_runs=True))
    thread_config = {"configurable": {"thread_id": str(thread.pk)}}
    await graph.ainvoke({"messages": [HumanMessage("one")]}, run_config(thread, first))
    state_after_first = await graph.aget_state(thread_config)
    first_checkpoints = await Checkpoint.objects.filter(owner_run=first).acount()
    await graph.ainvoke({"messages": [HumanMessage("two")]}, run_config(thread, second))

    before = await sync_to_async(owners)()
    for model, rows in before.items():
        assert first.pk in rows.values(), f"{model.__name__}: no row of the first run"
        assert second.pk in rows.values(), f"{model.__name__}: no row of the second run"
        assert {o async for o in model.objects.values_list("owner_thread_id", flat=True)} == {
            thread.pk
        }
        run_ids = {r async for r in model.objects.values_list("run_id", flat=True)}
        assert run_ids == {str(first.pk), str(second.pk)}

    await Run.objects.filter(pk=second.pk).adelete()

    after = await sync_to_async(owners)()
    for model in MODELS:
        expected = {pk: owner for pk, owner in before[model].items() if owner != second.pk}
        assert after[model] == expected, model.__name__
    assert await Checkpoint.objects.filter(owner_run=first).acount() == first_checkpoints
    state = await graph.aget_state(thread_config)
    assert [m.content for m in state.values["messages"]] == ["one", "reply to one"]
    assert (
        state.config["configurable"]["checkpoint_id"]
        == (state_after_first.config["configurable"]["checkpoint_id"])
    )


async def test_deleting_an_earlier_run_keeps_the_later_runs_state_readable() -> None:
    thread = await Thread.objects.acreate()
    first, second = await amake_run(thread), await amake_run(thread)
    graph = chat_graph(DjangoSaver(bind_runs=True))
    await graph.ainvoke({"messages": [HumanMessage("one")]}, run_config(thread, first))
    await graph.ainvoke({"messages": [HumanMessage("two")]}, run_config(thread, second))

    def rows_of(run: Run) -> dict[type, set[int]]:
        return {
            m: set(m.objects.filter(owner_run=run).values_list("pk", flat=True)) for m in MODELS
        }

    second_rows = await sync_to_async(rows_of)(second)

    await Run.objects.filter(pk=first.pk).adelete()

    assert not await Checkpoint.objects.filter(run_id=str(first.pk)).aexists()
    assert not await CheckpointWrite.objects.filter(run_id=str(first.pk)).aexists()
    assert await sync_to_async(rows_of)(second) == second_rows
    state = await graph.aget_state({"configurable": {"thread_id": str(thread.pk)}})
    assert [m.content for m in state.values["messages"]] == [
        "one",
        "reply to one",
        "two",
        "reply to two",
    ]


def _late_checkpoint(saver: DjangoSaver) -> tuple[dict, dict, dict]:
    checkpoint = empty_checkpoint()
    version = saver.get_next_version(None, None)
    checkpoint["channel_values"] = {"messages": [HumanMessage("late")]}
    checkpoint["channel_versions"] = {"messages": version}
    return checkpoint, {"source": "loop", "step": 9, "parents": {}}, {"messages": version}


def test_a_late_put_or_put_writes_for_a_deleted_run_is_refused() -> None:
    thread = Thread.objects.create()
    run = make_run(thread)
    saver = DjangoSaver(bind_runs=True)
    config = {
        "configurable": {"thread_id": str(thread.pk), "checkpoint_ns": "", "run_id": str(run.pk)}
    }
    stored = saver.put(config, *_late_checkpoint(saver))
    saver.put_writes(stored, [("messages", [AIMessage("one")])], task_id=str(uuid.uuid4()))
    config = {"configurable": {**stored["configurable"], "run_id": str(run.pk)}}

    Run.objects.filter(pk=run.pk).delete()
    assert not any(model.objects.filter(thread_id=str(thread.pk)).exists() for model in MODELS)

    with pytest.raises(IntegrityError):
        saver.put(config, *_late_checkpoint(saver))
    with pytest.raises(IntegrityError):
        saver.put_writes(config, [("messages", [AIMessage("late")])], task_id=str(uuid.uuid4()))
    assert not any(model.objects.filter(thread_id=str(thread.pk)).exists() for model in MODELS)


async def test_a_late_aput_or_aput_writes_for_a_deleted_run_is_refused() -> None:
    thread = await Thread.objects.acreate()
    run = await amake_run(thread)
    saver = DjangoSaver(bind_runs=True)
    config = {
        "configurable": {"thread_id": str(thread.pk), "checkpoint_ns": "", "run_id": str(run.pk)}
    }
    stored = await saver.aput(config, *_late_checkpoint(saver))
    await Run.objects.filter(pk=run.pk).adelete()

    late_config = {"configurable": {**stored["configurable"], "run_id": str(run.pk)}}
    with pytest.raises(IntegrityError):
        await saver.aput(late_config, *_late_checkpoint(saver))
    with pytest.raises(IntegrityError):
        await saver.aput_writes(late_config, [("messages", "late")], task_id=str(uuid.uuid4()))
    assert not await Checkpoint.objects.filter(thread_id=str(thread.pk)).aexists()
    assert not await CheckpointWrite.objects.filter(thread_id=str(thread.pk)).aexists()


def test_bound_saver_without_a_run_id_refuses_to_write() -> None:
    thread = Thread.objects.create()
    saver = DjangoSaver(bind_runs=True)
    with pytest.raises(ValueError, match="run id"):
        saver.put(
            {"configurable": {"thread_id": str(thread.pk), "checkpoint_ns": ""}},
            *_late_checkpoint(saver),
        )
