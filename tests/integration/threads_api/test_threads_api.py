"""POST /threads, GET/PATCH/DELETE /threads/{id}: status codes, exact bodies, nothing written on failure."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from runs.models import Run, RunStatus
from tests.factories import make_run
from threads.models import Checkpoint, Thread, ThreadStatus

pytestmark = pytest.mark.django_db


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat()


def thread_json(thread: Thread) -> dict[str, Any]:
    """The official shape: `interrupts` and `error` only once the thread's state was written."""
    thread.refresh_from_db()
    body = {
        "thread_id": str(thread.thread_id),
        "created_at": iso(thread.created_at),
        "updated_at": iso(thread.updated_at),
        "state_updated_at": iso(thread.state_updated_at),
        "metadata": thread.metadata,
        "status": thread.status,
        "config": thread.config,
        "values": thread.values,
        "interrupts": thread.interrupts,
        "error": thread.error,
    }
    if thread.state_updated_at == thread.created_at and thread.error is None:
        del body["interrupts"], body["error"]
    return body


def post(api: APIClient, path: str, body: Any) -> Any:
    return api.post(path, body, format="json")


# --- create -------------------------------------------------------------------------


def test_create_thread_returns_the_new_idle_thread(api: APIClient) -> None:
    response = post(api, "/threads", {})

    assert response.status_code == 200
    body = response.json()
    thread = Thread.objects.get()
    assert body == thread_json(thread)
    # As officially: a new thread has no `interrupts` or `error` yet, and one timestamp.
    assert set(body) == {
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "metadata",
        "status",
        "config",
        "values",
    }
    assert body["created_at"] == body["updated_at"] == body["state_updated_at"]
    assert body["status"] == "idle"
    assert (body["metadata"], body["config"], body["values"]) == ({}, {}, None)
    assert uuid.UUID(body["thread_id"]).version == 7
    assert body["created_at"].endswith("+00:00")


def test_create_thread_with_id_and_metadata(api: APIClient) -> None:
    thread_id = uuid.uuid4()

    response = post(
        api, "/threads", {"thread_id": str(thread_id), "metadata": {"user": "ann", "n": 1}}
    )

    assert response.status_code == 200
    assert response.json() == thread_json(Thread.objects.get(pk=thread_id))
    assert response.json()["metadata"] == {"user": "ann", "n": 1}


def test_create_thread_with_existing_id_is_409_and_writes_nothing(
    api: APIClient, row_counts: Callable[[], dict[str, int]]
) -> None:
    thread = Thread.objects.create(metadata={"a": 1})
    before = row_counts()

    response = post(api, "/threads", {"thread_id": str(thread.pk), "metadata": {"a": 2}})

    assert response.status_code == 409
    assert response.json() == {"detail": f"Thread with ID {thread.pk} already exists"}
    assert row_counts() == before
    thread.refresh_from_db()
    assert thread.metadata == {"a": 1}


def test_create_thread_do_nothing_returns_the_existing_thread(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"a": 1})

    response = post(
        api,
        "/threads",
        {"thread_id": str(thread.pk), "metadata": {"a": 2}, "if_exists": "do_nothing"},
    )

    assert response.status_code == 200
    assert response.json() == thread_json(thread)
    assert response.json()["metadata"] == {"a": 1}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"thread_id": "nope"}, "thread_id: Must be a valid UUID."),
        ({"thread_id": 5}, "thread_id: Must be a valid UUID."),
        ({"metadata": [1, 2]}, 'metadata: Expected a dictionary of items but got type "list".'),
        ({"metadata": "x"}, 'metadata: Expected a dictionary of items but got type "str".'),
        ({"if_exists": "bogus"}, 'if_exists: "bogus" is not a valid choice.'),
        ([1, 2], "Invalid data. Expected a dictionary, but got list."),
    ],
)
def test_create_thread_with_invalid_body_is_422_naming_the_field(
    api: APIClient, row_counts: Callable[[], dict[str, int]], body: Any, detail: str
) -> None:
    response = post(api, "/threads", body)

    assert response.status_code == 422
    assert response.json()["detail"] == detail
    assert row_counts()["Thread"] == 0


@pytest.mark.parametrize("raw", [b"{not json", b""])
def test_create_thread_with_malformed_or_empty_json_is_422(
    api: APIClient, row_counts: Callable[[], dict[str, int]], raw: bytes
) -> None:
    response = api.generic("POST", "/threads", raw, content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid JSON in request body"}
    assert row_counts()["Thread"] == 0


def test_create_thread_with_supersteps_needs_a_graph_and_writes_nothing_without(
    api: APIClient, row_counts: Callable[[], dict[str, int]]
) -> None:
    body = {"supersteps": [{"updates": [{"values": {"messages": []}, "as_node": "echo"}]}]}

    response = post(api, "/threads", body)

    assert response.status_code == 400
    assert "has no assigned graph ID" in response.json()["detail"]
    assert row_counts()["Thread"] == 0


def test_wrong_method_is_405(api: APIClient) -> None:
    response = api.get("/threads")

    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


# --- get ----------------------------------------------------------------------------


def test_get_thread(api: APIClient) -> None:
    thread = Thread.objects.create(
        metadata={"graph_id": "echo"},
        values={"messages": []},
        interrupts={"t": [{"id": "i", "value": 1}]},
    )

    response = api.get(f"/threads/{thread.pk}")

    assert response.status_code == 200
    assert response.json() == thread_json(thread)


def test_get_unknown_thread_is_404(api: APIClient) -> None:
    thread_id = uuid.uuid4()

    response = api.get(f"/threads/{thread_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Thread with ID {thread_id} not found"}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/copy"),
        ("get", "/state"),
        ("post", "/state"),
        ("get", "/state/abc"),
        ("post", "/state/checkpoint"),
        ("get", "/history"),
        ("post", "/history"),
    ],
)
def test_path_id_that_is_not_a_uuid_is_422(
    api: APIClient, row_counts: Callable[[], dict[str, int]], method: str, suffix: str
) -> None:
    before = row_counts()

    response = getattr(api, method)(f"/threads/not-a-uuid{suffix}", {}, format="json")

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid thread ID: must be a UUID"}
    assert row_counts() == before


# --- patch --------------------------------------------------------------------------


def test_patch_merges_metadata(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"a": 1, "b": 2})
    updated_before = thread.updated_at

    response = api.patch(f"/threads/{thread.pk}", {"metadata": {"b": 3, "c": 4}}, format="json")

    assert response.status_code == 200
    assert response.json() == thread_json(thread)
    assert thread.metadata == {"a": 1, "b": 3, "c": 4}
    assert thread.updated_at > updated_before


def test_patch_unknown_thread_is_404_not_found(
    api: APIClient, row_counts: Callable[[], dict[str, int]]
) -> None:
    response = api.patch(f"/threads/{uuid.uuid4()}", {"metadata": {"a": 1}}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert row_counts()["Thread"] == 0


def test_patch_with_invalid_metadata_is_422_and_changes_nothing(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"a": 1})

    response = api.patch(f"/threads/{thread.pk}", {"metadata": [1]}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"].startswith("metadata: ")
    thread.refresh_from_db()
    assert thread.metadata == {"a": 1}


def test_patch_with_malformed_json_is_422(api: APIClient) -> None:
    thread = Thread.objects.create(metadata={"a": 1})

    response = api.generic("PATCH", f"/threads/{thread.pk}", b"{", content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid JSON in request body"}


# --- delete -------------------------------------------------------------------------


def test_delete_thread_is_204_with_an_empty_body_then_404(api: APIClient) -> None:
    thread = Thread.objects.create()

    response = api.delete(f"/threads/{thread.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Thread.objects.filter(pk=thread.pk).exists()
    again = api.delete(f"/threads/{thread.pk}")
    assert again.status_code == 404
    assert again.json() == {"detail": f"Thread with ID {thread.pk} not found"}
    assert api.get(f"/threads/{thread.pk}").status_code == 404


def test_delete_busy_thread_rolls_back_and_deletes_its_runs(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    thread = Thread.objects.create(status=ThreadStatus.BUSY)
    make_run(thread, status=RunStatus.RUNNING)
    make_run(thread, status=RunStatus.PENDING)
    make_run(thread, status=RunStatus.SUCCESS)
    other = Thread.objects.create()
    make_run(other, status=RunStatus.SUCCESS)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.delete(f"/threads/{thread.pk}")

    assert response.status_code == 204
    assert list(Run.objects.values_list("thread_id", flat=True)) == [other.pk]
    # Stopping the two active runs (revoke, cancel signal) is left for after commit.
    assert len(callbacks) >= 2


def test_delete_thread_also_deletes_unbound_checkpoints(api: APIClient) -> None:
    thread = Thread.objects.create()
    for tid in (str(thread.pk), str(uuid.uuid4())):
        Checkpoint.objects.create(
            thread_id=tid, checkpoint_id="c1", type="msgpack", checkpoint=b"x"
        )

    response = api.delete(f"/threads/{thread.pk}")

    assert response.status_code == 204
    assert not Checkpoint.objects.filter(thread_id=str(thread.pk)).exists()
    assert Checkpoint.objects.count() == 1
