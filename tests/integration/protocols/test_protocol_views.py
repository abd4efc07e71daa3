"""The agent protocols' views (protocols/views.py, a2a.py, mcp.py), AsyncApi views: what each
answers to a request without a body, and to a method its path does not serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.factories import default_assistant

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
THREAD = "00000000-0000-4000-8000-000000000001"
COMMAND_ERROR = {
    "type": "error",
    "id": None,
    "error": "invalid_argument",
    "message": "A command needs an integer id and a method.",
}


@pytest.mark.parametrize(
    ("path", "status", "answer"),
    [
        ("/mcp/", 400, {"detail": "Invalid JSON in request body"}),
        (
            "/a2a/echo",
            200,
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32700, "message": "Parse error: invalid JSON"},
            },
        ),
        (f"/threads/{THREAD}/stream/events", 400, {"detail": "The body must be a JSON object."}),
        (f"/threads/{THREAD}/commands", 400, COMMAND_ERROR),
    ],
)
def test_a_request_without_a_body_gets_its_protocols_answer(
    client: Client, path: str, status: int, answer: dict
) -> None:
    response = client.post(
        path, b"", content_type="application/json", HTTP_ACCEPT="application/json"
    )

    assert (response.status_code, response.json()) == (status, answer)


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/mcp/", {"detail": "Invalid JSON-RPC message: it must be an object with jsonrpc 2.0"}),
        (
            "/a2a/echo",
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "Invalid JSON-RPC request"},
            },
        ),
    ],
)
def test_a_json_null_body_is_a_message_of_the_wrong_shape_not_a_missing_one(
    client: Client, path: str, answer: dict
) -> None:
    response = client.post(
        path, b"null", content_type="application/json", HTTP_ACCEPT="application/json"
    )

    assert response.json() == answer


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", f"/threads/{THREAD}/stream/events", "POST"),
        ("put", f"/threads/{THREAD}/commands", "POST"),
        ("put", "/mcp/", "GET, POST, DELETE, HEAD"),
        ("options", "/mcp", "GET, POST, DELETE, HEAD"),
        ("get", "/a2a/echo", "POST"),
        ("post", "/.well-known/agent-card.json", "GET, HEAD"),
    ],
)
def test_a_method_a_protocol_path_does_not_serve_is_405_naming_the_allowed_ones(
    client: Client, method: str, path: str, allow: str
) -> None:
    response = client.generic(method.upper(), path, b"", content_type="application/json")

    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response["Allow"] == allow


def test_mcp_get_is_its_own_405_saying_the_server_does_not_stream(client: Client) -> None:
    response = client.get("/mcp/")

    assert response.status_code == 405
    assert response.json() == {"detail": "This server does not stream: GET is not allowed"}


def test_the_agent_card_answers_head_as_get(client: Client, settings) -> None:
    settings.LANGGRAPH_CONFIG = str(ROOT / "langgraph.json")
    assistant = default_assistant("echo")
    path = f"/a2a/{assistant.assistant_id}/.well-known/agent-card.json"

    card = client.get(path)
    head = client.head(path)

    assert card.status_code == 200
    assert card.json()["url"].endswith(f"/a2a/{assistant.assistant_id}")
    assert head.status_code == 200
    assert head["Content-Type"] == card["Content-Type"] == "application/json"
