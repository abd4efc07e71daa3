"""Agent2Agent on /a2a/{assistant_id} driven by a JSON-RPC client: the agent card, a message
sent and answered, another streamed token by token, the task read back and a running task
cancelled; tasks are runs on the context's thread."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.e2e.protocol_clients import a2a_message, server_url

pytestmark = pytest.mark.e2e

ANSWER = "The weather in sf is sunny and 72 degrees."


@pytest.fixture(params=["spindle", "official"])
def url(request: pytest.FixtureRequest) -> str:
    return server_url(request)


class A2AClient:
    """A minimal A2A JSON-RPC client (protocol 0.3 method names, as both servers answer)."""

    def __init__(self, http: httpx.AsyncClient, assistant_id: str) -> None:
        self.http = http
        self.path = f"/a2a/{assistant_id}"

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            self.path,
            json={"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def stream(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        body = {"jsonrpc": "2.0", "id": "s", "method": "message/stream", "params": params}
        async with self.http.stream(
            "POST", self.path, json=body, headers={"Accept": "text/event-stream"}
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield json.loads(line[5:])["result"]


async def _client(http: httpx.AsyncClient, graph: str) -> A2AClient:
    # The graph's system assistant: other tests create assistants of the same graph.
    assistants = (
        await http.post(
            "/assistants/search", json={"graph_id": graph, "metadata": {"created_by": "system"}}
        )
    ).json()
    return A2AClient(http, assistants[0]["assistant_id"])


def texts(parts: list[dict[str, Any]]) -> str:
    return "".join(p.get("text", "") for p in parts if p["kind"] == "text")


async def test_an_a2a_client_sends_a_message_streams_another_and_reads_the_task(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=True) as http:
        a2a = await _client(http, "agent")
        card = (await http.get(f"{a2a.path}/.well-known/agent-card.json")).json()
        assert card["name"] == "agent" and card["url"].endswith(a2a.path)
        assert card["capabilities"]["streaming"] is True

        sent = await a2a.call("message/send", a2a_message("weather in sf?"))
        task = sent["result"]
        assert task["kind"] == "task" and task["status"]["state"] == "completed"
        assert texts(task["artifacts"][0]["parts"]) == ANSWER
        context_id = task["contextId"]

        updates = [u async for u in a2a.stream(a2a_message("weather in sf?", context_id))]
        first, *working, artifact, final = updates
        assert first["kind"] == "task" and first["status"]["state"] == "submitted"
        assert first["contextId"] == context_id
        tokens = [
            texts(u["status"]["message"]["parts"]) for u in working if u["kind"] == "status-update"
        ]
        assert len(tokens) > 2 and ANSWER in tokens  # the answer grows token by token
        assert (
            artifact["kind"] == "artifact-update" and texts(artifact["artifact"]["parts"]) == ANSWER
        )
        assert final["kind"] == "status-update" and final["final"] is True
        assert final["status"]["state"] == "completed"

        got = (await a2a.call("tasks/get", {"id": first["id"], "contextId": context_id}))["result"]
        assert got["id"] == first["id"] and got["status"]["state"] == "completed"
        history = [(m["role"], texts(m["parts"])) for m in got["history"]]
        assert history.count(("user", "weather in sf?")) == 2  # the context's whole conversation
        assert history[-1] == ("agent", ANSWER)

        if url != os.environ.get("LANGGRAPH_OFFICIAL_URL"):
            # Tasks are runs of the context's thread, visible through the API.
            runs = (await http.get(f"/threads/{context_id}/runs")).json()
            assert {f"{context_id}:{r['run_id']}" for r in runs} == {task["id"], first["id"]}


async def test_a_running_task_is_cancelled_and_an_ended_one_is_not(stack: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as http:
        a2a = await _client(http, "agent")
        updates = a2a.stream(a2a_message("weather in sf?"))
        submitted = await anext(updates)
        cancelled = await a2a.call(
            "tasks/cancel", {"id": submitted["id"], "contextId": submitted["contextId"]}
        )
        assert cancelled["result"]["status"]["state"] == "canceled"
        rest = [u async for u in updates]
        assert rest[-1]["final"] is True and rest[-1]["status"]["state"] == "canceled"
        run_id = submitted["id"].split(":")[1]
        run = (await http.get(f"/threads/{submitted['contextId']}/runs/{run_id}")).json()
        assert run["status"] == "interrupted"
        again = await a2a.call(
            "tasks/cancel", {"id": submitted["id"], "contextId": submitted["contextId"]}
        )
        assert again["error"]["code"] == -32002


async def test_bad_a2a_requests_are_json_rpc_errors(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=True) as http:
        a2a = await _client(http, "echo")
        assert (await a2a.call("tasks/frobnicate", {}))["error"]["code"] == -32601
        missing = await a2a.call(
            "tasks/get", {"id": f"{uuid.uuid4()}:{uuid.uuid4()}", "contextId": str(uuid.uuid4())}
        )
        assert missing["error"]["code"] == -32001
        stranger = A2AClient(http, str(uuid.uuid4()))
        assert (await stranger.call("message/send", a2a_message("hi")))["error"]["code"] == -32602
        await asyncio.sleep(0)
