"""The runs API's answers to good and bad requests, and that bad ones write nothing.

Execution is covered end to end in tests/e2e; here dispatch is recorded, not sent."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from assistants.services import assistant_ensure_defaults
from runs.models import Run
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)

BUSY = {
    "detail": "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
}


@pytest.fixture(autouse=True)
def _setup(dispatched: Dispatched) -> list:
    sent = dispatched.enqueued
    assistant_ensure_defaults()
    return sent


def post(client: Client, path: str, body: object) -> tuple[int, object]:
    import json

    response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, (response.json() if response.content else None)


def test_create_run_answers_pending_run_with_content_location(client: Client, _setup: list) -> None:
    thread = Thread.objects.create()
    response = client.post(
        f"/threads/{thread.pk}/runs",
        data={"assistant_id": "echo", "input": {"messages": []}},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending"
    assert body["multitask_strategy"] == "enqueue"
    assert body["thread_id"] == str(thread.pk)
    assert response["Content-Location"] == f"/threads/{thread.pk}/runs/{body['run_id']}"
    assert _setup == [uuid.UUID(body["run_id"])]
    from langgraph_sdk.schema import Run as SdkRun

    assert set(SdkRun.__required_keys__) <= set(body)


@pytest.mark.parametrize(
    ("body", "status", "detail_part"),
    [
        ({"assistant_id": "echo", "multitask_strategy": "bogus"}, 422, "multitask_strategy"),
        ({"assistant_id": "echo", "config": []}, 422, "config"),
        ({"assistant_id": "echo", "stream_mode": "nope"}, 422, "stream_mode"),
        ({"assistant_id": "echo", "if_not_exists": "maybe"}, 422, "if_not_exists"),
        ({"input": {}}, 422, "assistant_id"),
        ([1, 2], 422, "dictionary"),
    ],
)
def test_malformed_bodies_answer_422_naming_the_field(
    client: Client, body: object, status: int, detail_part: str
) -> None:
    thread = Thread.objects.create()
    code, answer = post(client, f"/threads/{thread.pk}/runs", body)
    assert code == status
    assert detail_part in answer["detail"]
    assert Run.objects.count() == 0


def test_invalid_json_answers_422(client: Client) -> None:
    thread = Thread.objects.create()
    response = client.post(
        f"/threads/{thread.pk}/runs", data="{nope", content_type="application/json"
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Invalid JSON in request body"},
    )
    assert Run.objects.count() == 0


def test_unknown_assistant_name_answers_422_with_the_graphs(client: Client) -> None:
    thread = Thread.objects.create()
    code, answer = post(client, f"/threads/{thread.pk}/runs", {"assistant_id": "nope"})
    assert code == 422
    assert answer["detail"].startswith("Invalid assistant: 'nope'. Must be either:")
    assert Run.objects.count() == 0


def test_unknown_thread_or_assistant_answers_404(client: Client) -> None:
    code, answer = post(client, f"/threads/{uuid.uuid4()}/runs", {"assistant_id": "echo"})
    assert (code, answer) == (404, {"detail": "Thread or assistant not found."})
    thread = Thread.objects.create()
    code, answer = post(client, f"/threads/{thread.pk}/runs", {"assistant_id": str(uuid.uuid4())})
    assert (code, answer) == (404, {"detail": "Thread or assistant not found."})
    assert Run.objects.count() == 0


def test_if_not_exists_create_makes_the_thread(client: Client) -> None:
    tid = uuid.uuid4()
    code, answer = post(
        client, f"/threads/{tid}/runs", {"assistant_id": "echo", "if_not_exists": "create"}
    )
    assert code == 200
    assert Thread.objects.get(pk=tid).metadata["graph_id"] == "echo"


def test_non_uuid_path_ids_answer_422(client: Client) -> None:
    code, answer = post(client, "/threads/bad/runs", {"assistant_id": "echo"})
    assert (code, answer) == (422, {"detail": "Invalid thread ID: must be a UUID"})
    thread = Thread.objects.create()
    response = client.get(f"/threads/{thread.pk}/runs/bad")
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Invalid run ID: must be a UUID"},
    )


def test_reject_while_busy_answers_409_and_writes_nothing(client: Client) -> None:
    thread = Thread.objects.create()
    assert post(client, f"/threads/{thread.pk}/runs", {"assistant_id": "echo"})[0] == 200
    code, answer = post(
        client,
        f"/threads/{thread.pk}/runs",
        {"assistant_id": "echo", "multitask_strategy": "reject"},
    )
    assert (code, answer) == (409, BUSY)
    assert Run.objects.filter(thread=thread).count() == 1


def test_list_get_and_delete(client: Client) -> None:
    thread = Thread.objects.create()
    ids = [
        post(client, f"/threads/{thread.pk}/runs", {"assistant_id": "echo"})[1]["run_id"]
        for _ in range(3)
    ]
    listed = client.get(f"/threads/{thread.pk}/runs").json()
    assert [r["run_id"] for r in listed] == ids[::-1], "newest first"
    assert [
        r["run_id"] for r in client.get(f"/threads/{thread.pk}/runs?limit=1&offset=1").json()
    ] == [ids[1]]
    assert client.get(f"/threads/{thread.pk}/runs?status=bogus").json() == []
    assert client.get(f"/threads/{thread.pk}/runs/{ids[0]}").json()["run_id"] == ids[0]
    response = client.delete(f"/threads/{thread.pk}/runs/{ids[0]}")
    assert (response.status_code, response.content) == (204, b"")
    missing = client.get(f"/threads/{thread.pk}/runs/{ids[0]}")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    again = client.delete(f"/threads/{thread.pk}/runs/{ids[0]}")
    assert (again.status_code, again.json()) == (404, {"detail": "Run not found"})


def test_runs_of_an_unknown_thread_answer_404(client: Client) -> None:
    tid = uuid.uuid4()
    response = client.get(f"/threads/{tid}/runs")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"Thread with ID {tid} not found"},
    )


def test_cancel_answers(client: Client) -> None:
    thread = Thread.objects.create()
    run_id = post(client, f"/threads/{thread.pk}/runs", {"assistant_id": "echo"})[1]["run_id"]
    # As the SDK sends it: no body and no Content-Type (a form post would be refused).
    response = client.generic("POST", f"/threads/{thread.pk}/runs/{run_id}/cancel?action=bogus")
    assert response.status_code == 422
    response = client.generic("POST", f"/threads/{thread.pk}/runs/{run_id}/cancel")
    assert (response.status_code, response.content) == (202, b"")
    assert Run.objects.get(pk=run_id).status == "interrupted"
    response = client.generic("POST", f"/threads/{thread.pk}/runs/{run_id}/cancel")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No matching runs to cancel.")
    response = client.generic("POST", f"/threads/{thread.pk}/runs/{uuid.uuid4()}/cancel")
    assert (response.status_code, response.json()) == (404, {"detail": "No runs found to cancel."})


@pytest.mark.parametrize("raw", [b"", b"{not json"])
def test_create_run_with_an_empty_or_malformed_body_answers_422_and_writes_nothing(
    client: Client, _setup: list, raw: bytes, row_counts
) -> None:
    thread = Thread.objects.create()
    before = row_counts()
    for path in (f"/threads/{thread.pk}/runs", "/runs"):
        response = client.post(path, data=raw, content_type="application/json")
        assert (response.status_code, response.json()) == (
            422,
            {"detail": "Invalid JSON in request body"},
        )
    assert row_counts() == before
    assert _setup == []


def test_runs_endpoint_refuses_other_methods(client: Client) -> None:
    thread = Thread.objects.create()
    response = client.put(f"/threads/{thread.pk}/runs", data=b"{}", content_type="application/json")
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
