"""The input gate through the API: hostile values in bodies, query parameters, headers and
path ids answer 422 naming the field (or 415), quote no more than a short prefix, and
write nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from assistants.services import assistant_ensure_defaults
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "x" * 100_000


@pytest.fixture(autouse=True)
def _setup(dispatched: Dispatched) -> list:
    sent = dispatched.enqueued
    assistant_ensure_defaults()
    return sent


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text of objects nested `depth` deep (json.dumps itself would run out of stack)."""
    return '{"k": ' * depth + leaf + "}" * depth


def post_raw(client: Client, path: str, raw: str | bytes, **headers: str) -> Any:
    return client.post(path, data=raw, content_type="application/json", headers=headers)


def assert_refused(response: Any, status: int, detail_start: str) -> None:
    assert response.status_code == status, response.content[:300]
    detail = response.json()["detail"]
    assert detail.startswith(detail_start), detail
    assert len(response.content) < 2000  # a short prefix of any value, never the value


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"assistant_id": "echo", "metadata": {"k": "a\\u0000b"}}',
            "metadata.k: must not contain NUL characters",
        ),
        (
            '{"assistant_id": "echo", "input": {"t": "\\ud800"}}',
            "body: must not contain lone UTF-16 surrogates",
        ),
        (
            '{"assistant_id": "echo", "config": {"\\u0000": 1}}',
            "config.\x00: key must not contain NUL",
        ),
        (
            '{"assistant_id": "echo", "command": {"resume": "a\\u0000"}}',
            "command.resume: must not contain NUL",
        ),
        (
            '{"assistant_id": "echo", "context": {"n": 18446744073709551615}}',
            "context.n: integer out of range",
        ),
        (
            '{"assistant_id": "echo", "after_seconds": 1e11}',
            "after_seconds: Ensure this value is less than or equal to",
        ),
        ('{"assistant_id": "echo", "after_seconds": 1e400}', "Invalid JSON in request body"),
        ('{"assistant_id": "echo", "after_seconds": NaN}', "Invalid JSON in request body"),
        (
            '{"assistant_id": "echo", "input": ' + nested(10_000) + "}",
            "body: nested deeper than 100 levels",
        ),
        (
            '{"assistant_id": "echo", "input": ' + nested(100) + "}",
            "input.k.k: nested deeper than 100 levels",
        ),
        (
            json.dumps({"assistant_id": LONG}),
            "assistant_id: Ensure this field has no more than 256 characters.",
        ),
        (
            json.dumps({"assistant_id": "echo", "multitask_strategy": LONG}),
            f'multitask_strategy: "{"x" * 32}…" is not a valid choice.',
        ),
    ],
)
def test_hostile_run_bodies_answer_422_naming_the_field_and_write_nothing(
    client: Client, row_counts: Callable[[], dict[str, int]], _setup: list, body: str, detail: str
) -> None:
    thread = Thread.objects.create()
    before = row_counts()
    for path in (f"/threads/{thread.pk}/runs", f"/threads/{thread.pk}/runs/wait", "/runs/stream"):
        assert_refused(post_raw(client, path, body), 422, detail)
    assert row_counts() == before
    assert _setup == []


def test_a_run_body_as_deep_as_allowed_is_taken(client: Client, _setup: list) -> None:
    thread = Thread.objects.create()
    body = '{"assistant_id": "echo", "metadata": ' + nested(99, '"leaf"') + "}"
    response = post_raw(client, f"/threads/{thread.pk}/runs", body)
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/threads", '{"metadata": {"a": "\\u0000"}}', "metadata.a: must not contain NUL"),
        (
            "/threads/search",
            '{"metadata": ' + nested(900) + "}",
            "metadata.k.k: nested deeper than 100",
        ),
        ("/threads/search", json.dumps({"offset": 2**63}), "offset: integer out of range"),
        ("/threads/search", json.dumps({"offset": 2**70}), "offset: A valid integer is required."),
        (
            "/threads/search",
            json.dumps({"offset": 2**40}),
            "offset: Ensure this value is less than or equal to",
        ),
        ("/threads/search", json.dumps({"ids": [LONG]}), "ids.0: Must be a valid UUID."),
        (
            "/threads/count",
            json.dumps({"values": {"v": "\ud800"}}),
            "body: must not contain lone UTF-16",
        ),
        ("/assistants/search", json.dumps({"offset": 2**63 + 5}), "offset: integer out of range"),
        (
            "/assistants/search",
            '{"metadata": ' + nested(900) + "}",
            "metadata.k.k: nested deeper than 100",
        ),
        (
            "/assistants",
            json.dumps({"graph_id": "echo", "name": "a\x00"}),
            "name: must not contain NUL",
        ),
    ],
)
def test_hostile_bodies_on_other_endpoints_answer_422(
    client: Client, row_counts: Callable[[], dict[str, int]], path: str, body: str, detail: str
) -> None:
    before = row_counts()
    assert_refused(post_raw(client, path, body), 422, detail)
    assert row_counts() == before


def test_state_and_history_bodies_are_gated(client: Client) -> None:
    thread = Thread.objects.create()
    assert_refused(
        post_raw(client, f"/threads/{thread.pk}/state", '{"values": {"m": "\\u0000"}}'),
        422,
        "values.m: must not",
    )
    assert_refused(
        post_raw(
            client,
            f"/threads/{thread.pk}/history",
            json.dumps({"before": LONG, "limit": 2**64 - 1}),
        ),
        422,
        "limit: integer out of range",
    )
    assert_refused(
        client.get(f"/threads/{thread.pk}/state/{'c' * 1000}"),
        422,
        "checkpoint_id: must be at most 256",
    )


@pytest.mark.parametrize(
    "query",
    [
        "limit=1&offset=99999999999999999999999999",
        "offset=-1",
        "status=a%00b",
        f"status={'s' * 3000}",
    ],
)
def test_hostile_query_parameters_answer_422(client: Client, query: str) -> None:
    thread = Thread.objects.create()
    response = client.get(f"/threads/{thread.pk}/runs?{query}")
    assert response.status_code == 422, response.content[:300]
    assert response.json()["detail"].split(":")[0] in ("offset", "query parameter 'status'")
    assert len(response.content) < 2000


def test_history_query_and_path_ids_are_gated(client: Client) -> None:
    thread = Thread.objects.create()
    assert_refused(
        client.get(f"/threads/{thread.pk}/history?limit=1e30"), 422, "limit: A valid integer"
    )
    assert_refused(
        client.get(f"/threads/{thread.pk}/history?before=a%00"), 422, "query parameter 'before'"
    )
    for path in (f"/threads/{LONG}", f"/threads/{thread.pk}/runs/{LONG}", f"/assistants/{LONG}"):
        assert_refused(client.get(path), 422, "path: must be at most 2048 characters")
    assert_refused(client.get(f"/threads/{'t' * 1000}"), 422, "Invalid thread ID: must be a UUID")
    assert_refused(client.get(f"/threads/{uuid.uuid4()}%00"), 422, "path: must not contain NUL")


def test_header_values_are_gated(client: Client) -> None:
    thread = Thread.objects.create()
    run_id = uuid.uuid4()
    response = client.get(
        f"/threads/{thread.pk}/runs/{run_id}/stream", headers={"Last-Event-ID": "1-\x00"}
    )
    assert_refused(response, 422, "header 'Last-Event-Id': must not contain NUL")
    response = client.get(f"/threads/{thread.pk}/stream", headers={"Last-Event-ID": "9" * 9000})
    assert_refused(response, 422, "header 'Last-Event-Id': must be at most 8192 characters")


def test_json_endpoints_refuse_other_content_types_with_415(
    client: Client, row_counts: Callable[[], dict[str, int]], _setup: list
) -> None:
    thread = Thread.objects.create()
    before = row_counts()
    body = json.dumps({"assistant_id": "echo"})
    for path in (
        f"/threads/{thread.pk}/runs",
        "/runs",
        "/threads",
        f"/threads/{thread.pk}/runs/wait",
    ):
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ):
            response = client.post(path, data=body, content_type=content_type)
            assert response.status_code == 415, (path, content_type, response.content[:200])
            assert response.json()["detail"].startswith("Unsupported Media Type")
    # A body without any Content-Type, and an empty form post (a cross-site cancel).
    response = client.generic("POST", f"/threads/{thread.pk}/runs", body.encode(), content_type="")
    assert response.status_code == 415
    response = client.generic(
        "POST",
        f"/threads/{thread.pk}/runs/{uuid.uuid4()}/cancel",
        CONTENT_TYPE="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert row_counts() == before
    assert _setup == []
    # JSON with a charset parameter is JSON.
    response = client.post(
        f"/threads/{thread.pk}/runs", data=body, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200


def test_a_request_for_another_host_is_refused_with_json_400(client: Client, row_counts) -> None:
    before = row_counts()
    response = client.post(
        "/threads", data="{}", content_type="application/json", headers={"Host": "evil.example"}
    )
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid Host header"})
    response = client.get("/admin/login/", headers={"Host": "evil.example"})
    assert (response.status_code, response.json()) == (400, {"detail": "Invalid Host header"})
    assert row_counts() == before
    for host in ("localhost:2024", "127.0.0.1"):
        assert client.get("/ok", headers={"Host": host}).status_code == 200


def test_the_admin_may_not_be_framed(client: Client) -> None:
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"
