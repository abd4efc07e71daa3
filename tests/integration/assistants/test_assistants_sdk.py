"""The official langgraph_sdk client drives the assistants API in-process, over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgiref.sync import sync_to_async
from langgraph_sdk.client import LangGraphClient

from assistants.graphs import default_assistant_id
from assistants.services import assistant_ensure_defaults
from tests.factories import asgi_sdk

# The ASGI handler runs the sync views on another thread, so the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def sdk() -> AsyncIterator[LangGraphClient]:
    await sync_to_async(assistant_ensure_defaults)()
    async with asgi_sdk() as client:
        yield client


async def test_sdk_assistant_lifecycle(sdk: LangGraphClient) -> None:
    created = await sdk.assistants.create(
        graph_id="agent",
        config={"configurable": {"delay": 0}},
        metadata={"owner": "sdk"},
        name="weather",
    )
    assert (created["graph_id"], created["name"], created["version"]) == ("agent", "weather", 1)
    assert created["context"] == {"delay": 0}

    updated = await sdk.assistants.update(
        created["assistant_id"], metadata={"n": 1}, description="d"
    )
    assert (updated["version"], updated["metadata"], updated["description"]) == (
        2,
        {"owner": "sdk", "n": 1},
        "d",
    )
    assert await sdk.assistants.get(created["assistant_id"]) == updated

    versions = await sdk.assistants.get_versions(created["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    back = await sdk.assistants.set_latest(created["assistant_id"], 1)
    assert (back["version"], back["description"]) == (1, None)

    page = await sdk.assistants.search(metadata={"owner": "sdk"}, limit=1, response_format="object")
    assert [a["assistant_id"] for a in page["assistants"]] == [created["assistant_id"]]
    assert page["next"] is None
    first_page = await sdk.assistants.search(limit=2, response_format="object")
    assert first_page["next"] == "2"
    assert await sdk.assistants.count() == 4
    assert await sdk.assistants.count(graph_id="agent") == 2

    drawing = await sdk.assistants.get_graph(created["assistant_id"])
    assert {n["id"] for n in drawing["nodes"]} == {"__start__", "agent", "tools", "__end__"}
    schemas = await sdk.assistants.get_schemas(created["assistant_id"])
    assert schemas["graph_id"] == "agent"
    assert await sdk.assistants.get_subgraphs(created["assistant_id"]) == {}

    await sdk.assistants.delete(created["assistant_id"])
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await sdk.assistants.get(created["assistant_id"])
    assert caught.value.response.status_code == 404
    assert caught.value.response.json() == {"detail": "Not Found"}


async def test_sdk_sees_the_system_assistants(sdk: LangGraphClient) -> None:
    system = await sdk.assistants.search(
        metadata={"created_by": "system"}, sort_by="name", sort_order="asc"
    )
    assert [(a["assistant_id"], a["name"]) for a in system] == [
        (str(default_assistant_id(g)), g) for g in ("agent", "echo", "interruptible")
    ]


async def test_sdk_errors_carry_the_official_detail(sdk: LangGraphClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await sdk.assistants.create(graph_id="nope")
    assert caught.value.response.status_code == 404
    assert caught.value.response.json() == {
        "detail": "Graph 'nope' not found. Expected one of: ['agent', 'echo', 'interruptible']"
    }
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await sdk.assistants.get("agent")
    assert caught.value.response.status_code == 422
