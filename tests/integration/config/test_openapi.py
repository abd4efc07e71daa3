"""GET /openapi.json against the official document, and /docs served from local files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]

METHODS = ("get", "post", "put", "patch", "delete")


def _official() -> dict:
    """shared/reference/official-openapi.json, beside the repository (or a worktree of it)."""
    for parent in ROOT.parents:
        candidate = parent / "shared" / "reference" / "official-openapi.json"
        if candidate.exists():
            return json.loads(candidate.read_text())
    pytest.skip("shared/reference/official-openapi.json is not beside this checkout")


def _operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json") or response[
        "Content-Type"
    ].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_document_has_every_official_path(document: dict) -> None:
    assert set(_operations(document)) == set(_operations(_official()))


def test_operations_carry_the_official_ids_and_tags(document: dict) -> None:
    official = _operations(_official())
    for key, operation in _operations(document).items():
        assert operation["operationId"] == official[key]["operationId"], key
        assert operation["tags"] == official[key]["tags"], key


def test_the_document_has_every_official_schema_name(document: dict) -> None:
    assert set(_official()["components"]["schemas"]) <= set(document["components"]["schemas"])


def test_bodies_and_answers_name_the_official_components(document: dict) -> None:
    official = _operations(_official())

    def request_ref(operation: dict) -> str | None:
        schema = (
            operation.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema", {})
        )
        return schema.get("$ref")

    components = {f"#/components/schemas/{name}" for name in _official()["components"]["schemas"]}
    for key, operation in _operations(document).items():
        if request_ref(official[key]) is not None:
            assert request_ref(operation) == request_ref(official[key]), key
        else:
            # The official document leaves out the body the SDK sends (versions, latest).
            assert request_ref(operation) in components | {None}, key


def test_error_answers_are_documented_as_error_response(document: dict) -> None:
    run_create = document["paths"]["/threads/{thread_id}/runs"]["post"]["responses"]
    assert set(run_create) == {"200", "404", "409", "422"}
    assert run_create["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert document["components"]["schemas"]["ErrorResponse"]["required"] == ["detail"]


def test_docs_render_swagger_ui_from_local_files(client: Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content)  # type: ignore[attr-defined]  # static files stream; the test client types the plain response


def test_a_run_has_the_official_keys_and_the_documented_cancel_reason(document: dict) -> None:
    """`cancel_reason` is Spindle's one extra key on a run (docs/behaviour.md): the document
    names it, and run_to_json writes exactly the keys the document names."""
    import uuid

    from django.utils import timezone

    from runs.api.serializers import run_to_json
    from runs.models import Run

    official = set(_official()["components"]["schemas"]["Run"]["properties"])
    documented = set(document["components"]["schemas"]["Run"]["properties"])
    assert documented == official | {"cancel_reason"}
    now = timezone.now()
    run = Run(
        thread_id=uuid.uuid4(),
        assistant_id=uuid.uuid4(),
        created_at=now,
        updated_at=now,
        cancel_action="rollback",
    )
    body = run_to_json(run)
    assert set(body) == documented
    assert body["cancel_reason"] == "rollback"


def test_store_items_have_the_documented_keys(document: dict) -> None:
    from datetime import UTC, datetime

    from langgraph.store.base import Item, SearchItem

    from store.api.serializers import item_to_json

    now = datetime.now(UTC)
    item = item_to_json(
        Item(namespace=("a",), key="k", value={"x": 1}, created_at=now, updated_at=now)
    )
    found = item_to_json(
        SearchItem(namespace=("a",), key="k", value={}, created_at=now, updated_at=now, score=0.5)
    )
    schema = document["components"]["schemas"]["Item"]
    assert (
        set(item)
        == set(schema["required"])
        == set(_official()["components"]["schemas"]["Item"]["properties"])
    )
    assert set(found) == set(schema["properties"]) == set(item) | {"score"}


@pytest.mark.parametrize("name", ["Thread", "Assistant", "Cron"])
def test_a_search_answers_the_keys_its_select_names(document: dict, name: str) -> None:
    """`select` leaves keys out, so a search's items have the component's keys, none required."""
    schemas = document["components"]["schemas"]
    assert schemas[name]["required"]
    assert schemas[f"Selected{name}"]["properties"].keys() == schemas[name]["properties"].keys()
    assert "required" not in schemas[f"Selected{name}"]


def test_the_protocol_components_are_the_official_ones(document: dict) -> None:
    """Copied from the official document; the one change is `since`'s bound, Spindle's largest seq."""
    ours, official = document["components"]["schemas"], _official()["components"]["schemas"]
    protocol = {name for name in official if name.startswith("Protocol")}
    assert len(protocol) == 8
    for name in protocol - {"ProtocolEventStreamRequest"}:
        assert ours[name] == official[name], name
    since = ours["ProtocolEventStreamRequest"]["properties"]["since"]
    assert since.pop("maximum") == 2**53 - 1
    assert ours["ProtocolEventStreamRequest"] == official["ProtocolEventStreamRequest"]


def test_mcp_documents_what_a_stateless_server_answers(document: dict, client: Client) -> None:
    """GET 405 and DELETE 404, as officially; a body that is not JSON gets the input gate's
    422 and 415, which the document lists besides the official 400. /mcp answers as /mcp/
    and is not listed twice."""
    mcp = document["paths"]["/mcp/"]
    assert "/mcp" not in document["paths"]
    assert set(mcp["get"]["responses"]) == {"405"}
    assert set(mcp["delete"]["responses"]) == {"404"}
    assert set(mcp["post"]["responses"]) == {"200", "202", "400", "415", "422"}
    for path in ("/mcp/", "/mcp"):
        assert client.get(path).status_code == 405
        assert client.delete(path).status_code == 404
    bad = client.post(
        "/mcp/", b"{", content_type="application/json", HTTP_ACCEPT="application/json"
    )
    assert bad.status_code == 422
    undeclared = client.post(
        "/mcp/", b"{", content_type="text/plain", HTTP_ACCEPT="application/json"
    )
    assert undeclared.status_code == 415
