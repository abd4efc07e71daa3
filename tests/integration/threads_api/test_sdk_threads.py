"""The official langgraph_sdk client, unchanged, against the threads API (in-process over WSGI)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from langgraph_sdk import schema
from langgraph_sdk.client import SyncLangGraphClient

from assistants.graphs import get_graph
from threads.checkpointer import DjangoSaver
from threads.services import thread_sync_state

pytestmark = pytest.mark.django_db

# The SDK module uses postponed annotations, so NotRequired keys are listed by hand.
THREAD_KEYS = set(schema.Thread.__annotations__) - {"extracted"}
# As officially, `interrupts` (and `error`) appear once a thread's state was written, and a
# copy is answered without `values`.
NEW_THREAD_KEYS = THREAD_KEYS - {"interrupts"} | {"config", "state_updated_at"}
COPY_KEYS = NEW_THREAD_KEYS - {"values"}
STATE_KEYS = set(schema.ThreadState.__annotations__)
TASK_KEYS = set(schema.ThreadTask.__annotations__)
CHECKPOINT_KEYS = set(schema.Checkpoint.__annotations__) - {"checkpoint_map"}
INTERRUPT_KEYS = set(schema.Interrupt.__annotations__) - {"response_schema"}
UPDATE_KEYS = set(schema.ThreadUpdateStateResponse.__annotations__)


@pytest.fixture
def client() -> Iterator[SyncLangGraphClient]:
    # As Django's test client does: keep the test's transaction (and its connection)
    # open across requests instead of closing "old" connections after each one.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    transport = httpx.WSGITransport(app=get_wsgi_application())
    try:
        with httpx.Client(transport=transport, base_url="http://testserver") as http:
            yield SyncLangGraphClient(http)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_sdk_thread_lifecycle_matches_the_typed_dicts(client: SyncLangGraphClient) -> None:
    thread = client.threads.create(metadata={"graph_id": "echo", "user": "ann"})
    assert set(thread) == NEW_THREAD_KEYS
    assert thread["status"] == "idle"

    assert client.threads.get(thread["thread_id"]) == thread
    same = client.threads.create(thread_id=thread["thread_id"], if_exists="do_nothing")
    assert same["thread_id"] == thread["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as conflict:
        client.threads.create(thread_id=thread["thread_id"])
    assert conflict.value.response.status_code == 409

    patched = client.threads.update(thread["thread_id"], metadata={"plan": "pro"})
    assert patched["metadata"] == {"graph_id": "echo", "user": "ann", "plan": "pro"}

    found = client.threads.search(metadata={"user": "ann"}, limit=5)
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]
    assert client.threads.count(metadata={"plan": "pro"}) == 1

    result = client.threads.update_state(
        thread["thread_id"], {"messages": [{"role": "human", "content": "hi"}]}, as_node="echo"
    )
    assert UPDATE_KEYS <= set(result)

    state = client.threads.get_state(thread["thread_id"])
    assert STATE_KEYS <= set(state)
    assert CHECKPOINT_KEYS <= set(state["checkpoint"])
    assert [m["content"] for m in state["values"]["messages"]] == ["hi"]
    at = client.threads.get_state(
        thread["thread_id"], checkpoint_id=state["checkpoint"]["checkpoint_id"]
    )
    assert at == state
    by_checkpoint = client.threads.get_state(thread["thread_id"], checkpoint=state["checkpoint"])
    assert by_checkpoint == state

    client.threads.update_state(
        thread["thread_id"], {"messages": [{"role": "human", "content": "again"}]}, as_node="echo"
    )
    history = client.threads.get_history(thread["thread_id"])
    assert len(history) == 2
    assert all(STATE_KEYS <= set(h) for h in history)
    older = client.threads.get_history(thread["thread_id"], before=history[0]["checkpoint"])
    assert [h["checkpoint"] for h in older] == [history[1]["checkpoint"]]

    copy = client.threads.copy(thread["thread_id"])
    assert set(copy) == COPY_KEYS
    assert len(client.threads.get_history(copy["thread_id"])) == 2

    client.threads.delete(thread["thread_id"])
    with pytest.raises(httpx.HTTPStatusError) as missing:
        client.threads.get(thread["thread_id"])
    assert missing.value.response.status_code == 404
    assert missing.value.response.json() == {
        "detail": f"Thread with ID {thread['thread_id']} not found"
    }


def test_sdk_state_task_keys_match_the_typed_dict(client: SyncLangGraphClient) -> None:
    thread = client.threads.create(metadata={"graph_id": "agent"})
    client.threads.update_state(
        thread["thread_id"], {"messages": [{"role": "human", "content": "sf?"}]}
    )

    state = client.threads.get_state(thread["thread_id"])

    [task] = state["tasks"]
    assert TASK_KEYS <= set(task)
    assert task["name"] == "agent"
    assert CHECKPOINT_KEYS <= set(state["parent_checkpoint"] or state["checkpoint"])


def test_sdk_interrupt_keys_match_the_typed_dict(client: SyncLangGraphClient) -> None:
    thread = client.threads.create(metadata={"graph_id": "interruptible"})
    graph = get_graph("interruptible", checkpointer=DjangoSaver())
    async_to_sync(graph.ainvoke)(
        {"messages": [{"role": "human", "content": "hi"}]},
        {"configurable": {"thread_id": thread["thread_id"]}},
        version="v1",
    )
    thread_sync_state(thread_id=thread["thread_id"], graph=graph)

    state = client.threads.get_state(thread["thread_id"])
    cached = client.threads.get(thread["thread_id"])

    [interrupt] = state["interrupts"]
    assert set(interrupt) == INTERRUPT_KEYS
    assert state["tasks"][0]["interrupts"] == [interrupt]
    assert cached["interrupts"] == {state["tasks"][0]["id"]: [interrupt]}


def test_sdk_sees_json_errors(client: SyncLangGraphClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as invalid:
        client.threads.get("not-a-uuid")
    assert invalid.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as unknown_copy:
        client.threads.copy(str(uuid.uuid4()))
    assert unknown_copy.value.response.json() == {"detail": "Conflict"}
