"""The JS SDK's newest useStream (@langchain/react, the thread-stream protocol) driven
headless by Node (tests/e2e/js/use_stream.mjs): a run to its end, tokens included."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.protocol_clients import server_url

pytestmark = pytest.mark.e2e

JS = Path(__file__).parent / "js"
ANSWER = "The weather in sf is sunny and 72 degrees."


@pytest.fixture(params=["spindle", "official"])
def url(request: pytest.FixtureRequest) -> str:
    return server_url(request)


async def test_use_stream_drives_a_run_to_the_end_with_its_tokens(url: str) -> None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@langchain" / "react").exists():
        pytest.skip(
            "needs Node and tests/e2e/js/node_modules (make test installs them with npm ci)"
        )
    process = await asyncio.create_subprocess_exec(
        node,
        "use_stream.mjs",
        url,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    result = json.loads(stdout.decode().strip().splitlines()[-1])

    assert result["error"] is None and result["isLoading"] is False
    assert [m["type"] for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    assert result["messages"][-1]["text"] == ANSWER
    # The hook's own event stream (POST /threads/{id}/stream/events) carried the answer
    # token by token: one text delta per word.
    assert result["streamUrls"] == [f"/threads/{result['threadId']}/stream/events"]
    assert result["textDeltas"] == len(ANSWER.split())
