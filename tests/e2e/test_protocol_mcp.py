"""MCP on /mcp/ driven by the `mcp` package's own streamable-HTTP client: assistants listed
as tools with their graphs' input schemas, a call that runs the graph and answers its
output, a graph error as an MCP tool error, and a call on a named thread."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.e2e.protocol_clients import server_url

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["spindle", "official"])
def url(request: pytest.FixtureRequest) -> str:
    return server_url(request)


async def _session_call(url: str, fn: Any) -> Any:
    async with streamablehttp_client(f"{url}/mcp/") as (read, write, _session_id):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await fn(session)


async def test_an_mcp_client_lists_the_assistants_as_tools_and_calls_one(url: str) -> None:
    async def list_and_call(session: ClientSession) -> tuple[Any, Any]:
        tools = await session.list_tools()
        result = await session.call_tool(
            "echo", {"messages": [{"role": "human", "content": "hello mcp"}]}
        )
        return tools, result

    tools, result = await _session_call(url, list_and_call)
    by_name = {tool.name: tool for tool in tools.tools}
    assert {"agent", "echo", "interruptible", "raiser"} <= set(by_name)
    schema = by_name["agent"].inputSchema
    assert schema["type"] == "object" and "messages" in schema["properties"]

    assert not result.isError
    text = result.content[0].text
    assert "hello mcp" in text
    if (
        result.structuredContent is not None
    ):  # Spindle also answers the values as structured content
        assert [m["content"] for m in result.structuredContent["messages"]] == [
            "hello mcp",
            "hello mcp",
        ]


async def test_a_graph_error_is_an_mcp_tool_error_not_a_transport_failure(url: str) -> None:
    async def call(session: ClientSession) -> Any:
        return await session.call_tool("raiser", {"messages": [{"role": "human", "content": "x"}]})

    result = await _session_call(url, call)
    assert result.isError
    assert "ValueError" in result.content[0].text
    if url != os.environ.get("LANGGRAPH_OFFICIAL_URL"):
        # langgraph dev answers the error's type alone; Spindle adds its message.
        assert result.content[0].text == "ValueError: the graph raised on purpose"


async def test_an_unknown_tool_is_a_json_rpc_error(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30, follow_redirects=True) as http:
        response = await http.post(
            "/mcp/",
            json={
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "nope", "arguments": {}},
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == 7 and body["error"]["code"] == -32602
        assert (await http.get("/mcp/")).status_code == 405
        # Malformed JSON is refused by the input gate as on every endpoint (422; the official
        # MCP endpoint answers 400).
        bad = await http.post(
            "/mcp/",
            content=b"{",
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )
        assert bad.status_code == 422
        # A body not declared JSON is refused by the input gate, as on every endpoint.
        undeclared = await http.post("/mcp/", content=b"{", headers={"Accept": "application/json"})
        assert undeclared.status_code == 415


async def test_a_tool_call_naming_a_thread_runs_on_it(stack: Any) -> None:
    from langgraph_sdk import get_client

    thread_id = str(uuid.uuid4())

    async def call(session: ClientSession) -> Any:
        first = await session.call_tool(
            "echo",
            {"messages": [{"role": "human", "content": "one"}]},
            meta={"thread_id": thread_id},
        )
        second = await session.call_tool(
            "echo",
            {"messages": [{"role": "human", "content": "two"}]},
            meta={"thread_id": thread_id},
        )
        return first, second

    first, second = await _session_call(stack.url, call)
    assert not first.isError and not second.isError
    contents = [m["content"] for m in json.loads(second.content[0].text)["messages"]]
    assert contents[0] == "one" and "two" in contents
    runs = await get_client(url=stack.url).runs.list(thread_id)
    assert len(runs) == 2
