"""Every response shape the API answers, object by object, against langgraph_sdk's TypedDicts.

The objects are real: made through the API (and, for checkpoints, by running a graph on
the Django checkpointer), then read back through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from langgraph_sdk import schema
from rest_framework.test import APIClient

from assistants.graphs import get_graph
from assistants.services import assistant_ensure_defaults
from tests.sdk_shapes import shape_errors
from threads.checkpointer import DjangoSaver
from threads.services import thread_sync_state

# Committed: run creation reads the thread on its own connection. The runs' tasks go to the
# test Redis's queue, where no worker takes them (as in tests/integration/crons).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def example_graphs(settings: Any) -> None:
    settings.LANGGRAPH_CONFIG = str(Path(django_settings.BASE_DIR) / "langgraph.json")
    assistant_ensure_defaults()


SHAPES = (
    schema.Assistant,
    schema.AssistantVersion,
    schema.GraphSchema,
    schema.Thread,
    schema.Interrupt,
    schema.ThreadState,
    schema.ThreadTask,
    schema.Checkpoint,
    schema.ThreadUpdateStateResponse,
    schema.Run,
    schema.Cron,
    schema.Item,
    schema.SearchItemsResponse,
    schema.SearchItem,
    schema.ListNamespaceResponse,
)


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201), (response.status_code, response.content[:500])
    return response.json()


@pytest.fixture
def answers(api: APIClient) -> list[tuple[Any, type]]:
    """(body, SDK TypedDict) for every object kind the API answers with."""
    seen: list[tuple[Any, type]] = []

    def expect(body: Any, shape: type) -> Any:
        seen.append((body, shape))
        return body

    # Assistants: create, read, search, versions, schemas.
    assistant = expect(
        ok(api.post("/assistants", {"graph_id": "echo", "name": "shapes"}, format="json")),
        schema.Assistant,
    )
    aid = assistant["assistant_id"]
    expect(ok(api.get(f"/assistants/{aid}")), schema.Assistant)
    for found in ok(api.post("/assistants/search", {"limit": 2}, format="json")):
        expect(found, schema.Assistant)
    for version in ok(api.post(f"/assistants/{aid}/versions", {}, format="json")):
        expect(version, schema.AssistantVersion)
    expect(ok(api.get(f"/assistants/{aid}/schemas")), schema.GraphSchema)

    # Threads, and a thread whose graph stopped at an interrupt: state, tasks, checkpoints.
    thread = expect(
        ok(api.post("/threads", {"metadata": {"graph_id": "interruptible"}}, format="json")),
        schema.Thread,
    )
    tid = thread["thread_id"]
    graph = get_graph("interruptible", checkpointer=DjangoSaver())
    async_to_sync(graph.ainvoke)(
        {"messages": [{"role": "human", "content": "hi"}]},
        {"configurable": {"thread_id": tid}},
        version="v1",
    )
    thread_sync_state(thread_id=tid, graph=graph)
    thread = expect(ok(api.get(f"/threads/{tid}")), schema.Thread)
    for interrupts in thread["interrupts"].values():
        for interrupt in interrupts:
            expect(interrupt, schema.Interrupt)
    for found in ok(api.post("/threads/search", {"limit": 2}, format="json")):
        expect(found, schema.Thread)
    state = expect(ok(api.get(f"/threads/{tid}/state")), schema.ThreadState)
    expect(state["checkpoint"], schema.Checkpoint)
    for task in state["tasks"]:
        expect(task, schema.ThreadTask)
    for past in ok(api.post(f"/threads/{tid}/history", {"limit": 3}, format="json")):
        expect(past, schema.ThreadState)
        if past["parent_checkpoint"] is not None:
            expect(past["parent_checkpoint"], schema.Checkpoint)
    other = ok(api.post("/threads", {"metadata": {"graph_id": "echo"}}, format="json"))["thread_id"]
    update = {"values": {"messages": [{"role": "human", "content": "x"}]}, "as_node": "echo"}
    expect(
        ok(api.post(f"/threads/{other}/state", update, format="json")),
        schema.ThreadUpdateStateResponse,
    )

    # Runs: create, read, list.
    run_body = {"assistant_id": "echo", "input": {"messages": []}}
    run = expect(ok(api.post(f"/threads/{other}/runs", run_body, format="json")), schema.Run)
    expect(ok(api.get(f"/threads/{other}/runs/{run['run_id']}")), schema.Run)
    for found in ok(api.get(f"/threads/{other}/runs")):
        expect(found, schema.Run)

    # Crons: create, search.
    cron_body = {"assistant_id": "echo", "schedule": "*/5 * * * *", "input": {"messages": []}}
    expect(ok(api.post("/runs/crons", cron_body, format="json")), schema.Cron)
    for found in ok(api.post("/runs/crons/search", {}, format="json")):
        expect(found, schema.Cron)

    # The store: an item, a search and its items, the namespaces.
    item = {"namespace": ["shapes", "a"], "key": "k", "value": {"text": "hello"}}
    assert api.put("/store/items", item, format="json").status_code == 204
    expect(ok(api.get("/store/items", {"namespace": "shapes.a", "key": "k"})), schema.Item)
    found = expect(
        ok(api.post("/store/items/search", {"namespace_prefix": ["shapes"]}, format="json")),
        schema.SearchItemsResponse,
    )
    for search_item in found["items"]:
        expect(search_item, schema.SearchItem)
    expect(ok(api.post("/store/namespaces", {}, format="json")), schema.ListNamespaceResponse)
    return seen


def test_every_response_has_the_sdk_shape(answers: list[tuple[Any, type]]) -> None:
    assert {shape for _, shape in answers} == set(SHAPES)  # each kind was answered at least once
    errors = sorted({error for body, shape in answers for error in shape_errors(body, shape)})
    assert errors == [], "\n".join(errors)
