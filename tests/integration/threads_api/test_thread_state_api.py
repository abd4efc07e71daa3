"""State, update_state, history and copy on the example graphs, through the Django checkpointer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from rest_framework.test import APIClient

from assistants.graphs import get_graph
from runs.models import Run, RunStatus
from tests.factories import human, make_run
from threads.checkpointer import DjangoSaver
from threads.models import Checkpoint, Thread, ThreadStatus
from threads.services import thread_sync_state
from threads.state import empty_thread_state

pytestmark = pytest.mark.django_db


def contents(state: dict[str, Any]) -> list[str]:
    return [m["content"] for m in state["values"]["messages"]]


@pytest.fixture
def echo_thread() -> Thread:
    return Thread.objects.create(metadata={"graph_id": "echo"})


def update(api: APIClient, thread: Thread, body: dict[str, Any]) -> Any:
    return api.post(f"/threads/{thread.pk}/state", body, format="json")


# --- reading ------------------------------------------------------------------------


def test_state_of_thread_without_graph_is_empty(api: APIClient) -> None:
    thread = Thread.objects.create()

    assert api.get(f"/threads/{thread.pk}/state").json() == empty_thread_state()
    assert api.get(f"/threads/{thread.pk}/history").json() == []
    assert api.post(f"/threads/{thread.pk}/history", {}, format="json").json() == []


def test_state_of_graph_thread_without_checkpoint_is_empty(
    api: APIClient, echo_thread: Thread
) -> None:
    response = api.get(f"/threads/{echo_thread.pk}/state")

    assert response.status_code == 200
    assert response.json() == empty_thread_state()
    assert api.post(f"/threads/{echo_thread.pk}/history", {}, format="json").json() == []


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", "/state"),
        ("get", "/state/abc"),
        ("post", "/state/checkpoint"),
        ("get", "/history"),
        ("post", "/history"),
    ],
)
def test_state_of_unknown_thread_is_404(api: APIClient, method: str, suffix: str) -> None:
    thread_id = uuid.uuid4()
    body = {"checkpoint": {"checkpoint_id": "abc"}} if suffix == "/state/checkpoint" else {}

    response = getattr(api, method)(f"/threads/{thread_id}{suffix}", body, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Thread with ID {thread_id} not found"}


# --- update_state, then state and history -------------------------------------------


def test_update_state_then_get_state(api: APIClient, echo_thread: Thread) -> None:
    response = update(api, echo_thread, {"values": human("hi"), "as_node": "echo"})

    assert response.status_code == 200
    body = response.json()
    checkpoint = {
        "thread_id": str(echo_thread.pk),
        "checkpoint_ns": "",
        "checkpoint_id": body["checkpoint_id"],
    }
    assert body == {
        "checkpoint": checkpoint,
        "configurable": checkpoint,
        "checkpoint_id": checkpoint["checkpoint_id"],
    }

    state = api.get(f"/threads/{echo_thread.pk}/state").json()
    assert contents(state) == ["hi"]
    assert state["values"]["messages"][0]["type"] == "human"
    assert state["next"] == []
    assert state["tasks"] == []
    assert state["interrupts"] == []
    assert state["checkpoint"] == {
        k: checkpoint[k] for k in ("checkpoint_id", "thread_id", "checkpoint_ns")
    }
    assert state["checkpoint_id"] == checkpoint["checkpoint_id"]
    assert state["metadata"]["source"] == "update"
    assert state["metadata"]["graph_id"] == "echo"
    assert state["parent_checkpoint"] is None
    assert state["created_at"].endswith("+00:00")

    thread = api.get(f"/threads/{echo_thread.pk}").json()
    assert thread["values"] == state["values"]
    assert thread["interrupts"] == {}
    assert thread["status"] == "idle"
    assert thread["state_updated_at"] > thread["created_at"]


def test_update_state_goes_through_reducers_and_history_lists_newest_first(
    api: APIClient, echo_thread: Thread
) -> None:
    first = update(api, echo_thread, {"values": human("one"), "as_node": "echo"}).json()[
        "checkpoint_id"
    ]
    second = update(api, echo_thread, {"values": human("two"), "as_node": "echo"}).json()[
        "checkpoint_id"
    ]

    state = api.get(f"/threads/{echo_thread.pk}/state").json()
    assert contents(state) == ["one", "two"]
    assert state["parent_checkpoint"]["checkpoint_id"] == first

    history = api.post(f"/threads/{echo_thread.pk}/history", {}, format="json").json()
    assert [h["checkpoint_id"] for h in history] == [second, first]
    assert [contents(h) for h in history] == [["one", "two"], ["one"]]
    assert history[0] == state

    assert len(api.get(f"/threads/{echo_thread.pk}/history").json()) == 2
    assert [
        h["checkpoint_id"] for h in api.get(f"/threads/{echo_thread.pk}/history?limit=1").json()
    ] == [second]
    assert [
        h["checkpoint_id"]
        for h in api.get(f"/threads/{echo_thread.pk}/history?before={second}").json()
    ] == [first]
    for before in (second, {"checkpoint_id": second}, {"configurable": {"checkpoint_id": second}}):
        older = api.post(
            f"/threads/{echo_thread.pk}/history", {"before": before}, format="json"
        ).json()
        assert [h["checkpoint_id"] for h in older] == [first]
    by_step = api.post(
        f"/threads/{echo_thread.pk}/history",
        {"metadata": {"source": "update", "step": 0}},
        format="json",
    ).json()
    assert [h["checkpoint_id"] for h in by_step] == [first]

    at_first = api.get(f"/threads/{echo_thread.pk}/state/{first}")
    assert at_first.status_code == 200
    assert at_first.json() == history[1]
    posted = api.post(
        f"/threads/{echo_thread.pk}/state/checkpoint",
        {"checkpoint": {"checkpoint_id": first}},
        format="json",
    )
    assert posted.status_code == 200
    assert posted.json() == history[1]


def test_update_state_from_a_checkpoint_forks(api: APIClient, echo_thread: Thread) -> None:
    first = update(api, echo_thread, {"values": human("one"), "as_node": "echo"}).json()[
        "checkpoint_id"
    ]
    update(api, echo_thread, {"values": human("two"), "as_node": "echo"})

    fork = update(
        api,
        echo_thread,
        {"values": human("three"), "as_node": "echo", "checkpoint": {"checkpoint_id": first}},
    ).json()

    state = api.get(f"/threads/{echo_thread.pk}/state").json()
    assert state["checkpoint_id"] == fork["checkpoint_id"]
    assert contents(state) == ["one", "three"]
    assert state["parent_checkpoint_id"] == first
    assert api.get(f"/threads/{echo_thread.pk}").json()["values"] == state["values"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            {"values": human("x"), "as_node": "nope"},
            400,
            "Node nope does not exist",
        ),
        (
            {"values": human("x"), "checkpoint_id": "1f000000-0000-6000-8000-000000000000"},
            404,
            None,
        ),
        ({"values": "text"}, 422, "values: Must be an object, a list or null."),
        ({"values": human("x"), "as_node": 5}, 422, "as_node: Not a valid string."),
    ],
)
def test_failed_update_state_writes_nothing(
    api: APIClient,
    echo_thread: Thread,
    row_counts: Callable[[], dict[str, int]],
    body: dict[str, Any],
    status: int,
    detail: str | None,
) -> None:
    update(api, echo_thread, {"values": human("one"), "as_node": "echo"})
    before = row_counts()
    values_before = Thread.objects.get(pk=echo_thread.pk).values

    response = update(api, echo_thread, body)

    assert response.status_code == status
    if detail is not None:
        assert response.json()["detail"].startswith(detail)
    assert row_counts() == before
    assert Thread.objects.get(pk=echo_thread.pk).values == values_before


def test_update_state_of_unknown_checkpoint_is_404(api: APIClient, echo_thread: Thread) -> None:
    response = update(api, echo_thread, {"values": human("x"), "checkpoint_id": "nope"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Checkpoint nope not found"}


def test_update_state_while_a_run_is_in_flight_is_409(
    api: APIClient, echo_thread: Thread, row_counts: Callable[[], dict[str, int]]
) -> None:
    run = make_run(echo_thread, status=RunStatus.PENDING)
    before = row_counts()

    response = update(api, echo_thread, {"values": human("x"), "as_node": "echo"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Thread {echo_thread.pk} has in-flight runs: ['{run.pk}']"
    }
    assert row_counts() == before


def test_update_state_without_graph_is_400(api: APIClient) -> None:
    thread = Thread.objects.create()

    response = update(api, thread, {"values": human("x")})

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"Thread '{thread.pk}' has no assigned graph ID.")


def test_update_state_of_unknown_thread_is_404(api: APIClient) -> None:
    thread_id = uuid.uuid4()

    response = api.post(f"/threads/{thread_id}/state", {"values": None}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Thread with ID {thread_id} not found"}


def test_update_state_with_malformed_json_is_422(api: APIClient, echo_thread: Thread) -> None:
    response = api.generic(
        "POST", f"/threads/{echo_thread.pk}/state", b"{x", content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid JSON in request body"}


@pytest.mark.parametrize(
    ("query", "field"), [("limit=0", "limit"), ("limit=abc", "limit"), ("limit=1001", "limit")]
)
def test_history_with_invalid_query_is_422(
    api: APIClient, echo_thread: Thread, query: str, field: str
) -> None:
    response = api.get(f"/threads/{echo_thread.pk}/history?{query}")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"limit": 0}, "limit"), ({"before": 5}, "before"), ({"metadata": [1]}, "metadata")],
)
def test_history_with_invalid_body_is_422(
    api: APIClient, echo_thread: Thread, body: dict[str, Any], field: str
) -> None:
    response = api.post(f"/threads/{echo_thread.pk}/history", body, format="json")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


def test_create_thread_with_supersteps_applies_them(api: APIClient) -> None:
    body = {
        "metadata": {"graph_id": "echo"},
        "supersteps": [
            {"updates": [{"values": human("one"), "as_node": "echo"}]},
            {"updates": [{"values": human("two"), "as_node": "echo"}]},
        ],
    }

    response = api.post("/threads", body, format="json")

    assert response.status_code == 200
    thread_id = response.json()["thread_id"]
    assert [m["content"] for m in response.json()["values"]["messages"]] == ["one", "two"]
    assert len(api.get(f"/threads/{thread_id}/history").json()) == 2


# --- interrupts and the cached state ----------------------------------------------


def test_sync_state_caches_values_and_interrupts_of_an_interrupted_graph(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"graph_id": "interruptible"})
    graph = get_graph("interruptible", checkpointer=DjangoSaver())
    config = {"configurable": {"thread_id": str(thread.pk)}}
    async_to_sync(graph.ainvoke)(human("hi"), config, version="v1")

    thread_sync_state(thread_id=thread.pk, graph=graph)

    state = api.get(f"/threads/{thread.pk}/state").json()
    assert state["next"] == ["ask"]
    [task] = state["tasks"]
    assert task["interrupts"] == state["interrupts"]
    assert state["interrupts"][0]["value"] == "approve?"
    body = api.get(f"/threads/{thread.pk}").json()
    assert body["interrupts"] == {task["id"]: task["interrupts"]}
    assert body["values"] == state["values"]

    # A state update that leaves the interrupt pending keeps the thread interrupted.
    update(api, thread, {"values": human("more")})
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.INTERRUPTED
    assert thread.interrupts == {}
    assert [m["content"] for m in thread.values["messages"]] == ["hi", "more"]


def test_sync_state_of_a_deleted_thread_does_nothing(
    row_counts: Callable[[], dict[str, int]],
) -> None:
    graph = get_graph("echo", checkpointer=DjangoSaver())

    thread_sync_state(thread_id=uuid.uuid4(), graph=graph)

    assert row_counts()["Thread"] == 0


def test_agent_thread_state_after_update(api: APIClient) -> None:
    thread = api.post("/threads", {"metadata": {"graph_id": "agent"}}, format="json").json()

    response = api.post(
        f"/threads/{thread['thread_id']}/state", {"values": human("weather in sf?")}, format="json"
    )

    assert response.status_code == 200
    state = api.get(f"/threads/{thread['thread_id']}/state").json()
    assert contents(state) == ["weather in sf?"]
    assert state["next"] == ["agent"]


# --- copy ---------------------------------------------------------------------------


def test_copy_thread_copies_metadata_state_and_history_but_not_runs(
    api: APIClient, echo_thread: Thread
) -> None:
    update(api, echo_thread, {"values": human("one"), "as_node": "echo"})
    update(api, echo_thread, {"values": human("two"), "as_node": "echo"})
    make_run(echo_thread, status=RunStatus.SUCCESS)
    source_history = api.get(f"/threads/{echo_thread.pk}/history").json()

    response = api.post(f"/threads/{echo_thread.pk}/copy")

    assert response.status_code == 200
    body = response.json()
    copy = Thread.objects.get(pk=body["thread_id"])
    assert copy.pk.version == 4
    assert body["metadata"] == {"graph_id": "echo"}
    assert body["status"] == "idle"
    # As officially, the copy is answered without `values`; a GET shows the copied ones.
    assert "values" not in body
    assert (
        api.get(f"/threads/{copy.pk}").json()["values"]
        == api.get(f"/threads/{echo_thread.pk}").json()["values"]
    )
    assert not Run.objects.filter(thread=copy).exists()

    copy_history = api.get(f"/threads/{copy.pk}/history").json()
    assert [h["checkpoint_id"] for h in copy_history] == [
        h["checkpoint_id"] for h in source_history
    ]
    assert [h["values"] for h in copy_history] == [h["values"] for h in source_history]
    assert {h["checkpoint"]["thread_id"] for h in copy_history} == {str(copy.pk)}

    # The copy lives on without its source, and goes with its own deletion.
    assert api.delete(f"/threads/{echo_thread.pk}").status_code == 204
    assert [h["values"] for h in api.get(f"/threads/{copy.pk}/history").json()] == [
        h["values"] for h in source_history
    ]
    assert api.delete(f"/threads/{copy.pk}").status_code == 204
    assert not Checkpoint.objects.filter(thread_id__in=[str(copy.pk), str(echo_thread.pk)]).exists()


def test_copy_of_unknown_thread_is_409_and_writes_nothing(
    api: APIClient, row_counts: Callable[[], dict[str, int]]
) -> None:
    response = api.post(f"/threads/{uuid.uuid4()}/copy")

    assert response.status_code == 409
    assert response.json() == {"detail": "Conflict"}
    assert row_counts()["Thread"] == 0


def test_copy_of_an_interrupted_thread_is_interrupted(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"graph_id": "echo"}, status=ThreadStatus.INTERRUPTED)

    assert api.post(f"/threads/{thread.pk}/copy").json()["status"] == "interrupted"


# --- unknown checkpoints ------------------------------------------------------------


def test_state_at_unknown_checkpoint_is_404(api: APIClient, echo_thread: Thread) -> None:
    update(api, echo_thread, {"values": human("one"), "as_node": "echo"})
    plain = Thread.objects.create()

    for thread in (echo_thread, plain):
        response = api.get(f"/threads/{thread.pk}/state/1f000000-0000-6000-8000-000000000000")
        posted = api.post(
            f"/threads/{thread.pk}/state/checkpoint",
            {"checkpoint": {"checkpoint_id": "nope"}},
            format="json",
        )

        assert response.status_code == 404
        assert response.json() == {
            "detail": "Checkpoint 1f000000-0000-6000-8000-000000000000 not found"
        }
        assert posted.status_code == 404
        assert posted.json() == {"detail": "Checkpoint nope not found"}


def test_state_checkpoint_post_needs_a_checkpoint(api: APIClient, echo_thread: Thread) -> None:
    response = api.post(f"/threads/{echo_thread.pk}/state/checkpoint", {}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == "checkpoint: This field is required."
    assert api.post(f"/threads/{echo_thread.pk}/state/other", {}, format="json").status_code == 405


# --- prune --------------------------------------------------------------------------


def test_prune_delete_removes_threads_and_skips_unknown_ids(
    api: APIClient, echo_thread: Thread
) -> None:
    update(api, echo_thread, {"values": human("one"), "as_node": "echo"})
    keep = Thread.objects.create()

    response = api.post(
        "/threads/prune", {"thread_ids": [str(echo_thread.pk), str(uuid.uuid4())]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"pruned_count": 1}
    assert list(Thread.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not Checkpoint.objects.filter(thread_id=str(echo_thread.pk)).exists()


def test_prune_keep_latest_keeps_the_latest_state_and_skips_busy_threads(
    api: APIClient, echo_thread: Thread
) -> None:
    for word in ("one", "two", "three"):
        update(api, echo_thread, {"values": human(word), "as_node": "echo"})
    latest = api.get(f"/threads/{echo_thread.pk}/state").json()
    busy = Thread.objects.create(metadata={"graph_id": "echo"})
    update(api, busy, {"values": human("a"), "as_node": "echo"})
    update(api, busy, {"values": human("b"), "as_node": "echo"})
    make_run(busy, status=RunStatus.RUNNING)

    response = api.post(
        "/threads/prune",
        {"thread_ids": [str(echo_thread.pk), str(busy.pk)], "strategy": "keep_latest"},
        format="json",
    )

    assert response.json() == {"pruned_count": 1}
    history = api.get(f"/threads/{echo_thread.pk}/history").json()
    assert [h["checkpoint_id"] for h in history] == [latest["checkpoint_id"]]
    assert history[0]["values"] == latest["values"]
    assert len(api.get(f"/threads/{busy.pk}/history").json()) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "thread_ids"),
        ({"thread_ids": ["x"]}, "thread_ids.0"),
        ({"thread_ids": [], "strategy": "all"}, "strategy"),
    ],
)
def test_prune_with_invalid_body_is_422(
    api: APIClient, row_counts: Callable[[], dict[str, int]], body: dict[str, Any], field: str
) -> None:
    Thread.objects.create()

    response = api.post("/threads/prune", body, format="json")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")
    assert row_counts()["Thread"] == 1
