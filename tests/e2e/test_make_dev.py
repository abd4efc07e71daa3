"""`make dev` with nothing configured: the mission's rollback scenario, streaming, the README's
snippets, CORS, reload and SQLite under concurrent writers, all through langgraph_sdk
against the embedded mode (SQLite and an embedded Redis, no PostgreSQL or Redis given)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import ROOT, free_port

pytestmark = pytest.mark.e2e

STUDIO = "https://smith.langchain.com"
EDITED_GRAPH = '''"""A graph the reload test edits."""

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph


async def answer(state: MessagesState) -> dict:
    return {{"messages": [AIMessage(content="{reply}")]}}


builder = StateGraph(MessagesState)
builder.add_node("answer", answer)
builder.add_edge(START, "answer")
builder.add_edge("answer", END)
graph = builder.compile()
'''


@dataclass
class DevServer:
    url: str
    project: Path
    log: Path
    proc: subprocess.Popen

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, *, count: int = 1, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(pattern) < count:
            assert self.proc.poll() is None, f"make dev exited:\n{self.output()[-6000:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} x{count}:\n{self.output()[-6000:]}"
            time.sleep(0.2)


def embedded_env(**extra: str) -> dict[str, str]:
    """The test's environment without any service: no DATABASE_URL, no REDIS_URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "LANGGRAPH_CONFIG", "MAKEFLAGS", "MAKELEVEL"}
        and not k.startswith("PYTEST")
    }
    env.update({"PYTHONUNBUFFERED": "1", **extra})
    return env


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[DevServer]:
    project = tmp_path_factory.mktemp("project")
    (project / "edited.py").write_text(EDITED_GRAPH.format(reply="before the edit"))
    (project / "langgraph.json").write_text(
        json.dumps(
            {
                "dependencies": ["."],
                "graphs": {
                    "agent": str(ROOT / "examples" / "weather.py") + ":graph",
                    "edited": "./edited.py:graph",
                },
                "http": {
                    "cors": {
                        "allow_origins": [STUDIO],
                        "allow_methods": ["*"],
                        "allow_headers": ["*"],
                        "allow_credentials": True,
                    }
                },
                "ui": {"agent": "./ui.tsx"},
            }
        )
    )
    port = free_port()
    log = project / "make-dev.log"
    proc = subprocess.Popen(
        ["make", "-f", str(ROOT / "Makefile"), "dev", f"PORT={port}"],
        cwd=project,
        env=embedded_env(SPINDLE_HEARTBEAT_SECONDS="0.5", SPINDLE_STALE_AFTER_SECONDS="5"),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = DevServer(url=f"http://127.0.0.1:{port}", project=project, log=log, proc=proc)
    try:
        server.wait_for("Spindle serving on")
        server.wait_for("ready.")  # the worker
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def client(dev: DevServer):
    from langgraph_sdk import get_client

    return get_client(url=dev.url, timeout=60)


def _contents(values: dict) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in values["messages"]]


def test_startup_says_embedded_mode_and_warns_about_unsupported_keys(dev: DevServer) -> None:
    out = dev.output()
    assert "(embedded mode" in out
    assert "database  SQLite spindle.sqlite3 (WAL)" in out
    socket_path = re.search(r"redis     embedded Valkey [\d.]+ on (\S+) ", out).group(1)
    assert Path(socket_path).is_socket()
    assert "worker    Celery worker and beat" in out
    assert "graphs    agent, edited from langgraph.json" in out
    assert (
        'WARNING spindle: langgraph.json: "ui" is not supported by Spindle yet and is ignored'
        in out
    )
    assert "WARNING spindle: Access: OPEN, the API needs no credentials" in out
    assert "Traceback" not in out
    assert (dev.project / "spindle.sqlite3").exists()
    with sqlite3.connect(dev.project / "spindle.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert httpx.get(f"{dev.url}/ok").json() == {
        "ok": True,
        "services": {"sqlite": "ok", "redis": "ok"},
    }


async def test_the_rollback_scenario_with_streaming(client, dev: DevServer) -> None:
    assistant = await client.assistants.create("agent")
    thread = await client.threads.create()
    first = await client.runs.create(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "human", "content": "whats the weather in sf?"}]},
    )
    await asyncio.sleep(2)
    assert (await client.runs.get(thread["thread_id"], first["run_id"]))["status"] == "running"
    run = await client.runs.create(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"messages": [{"role": "human", "content": "whats the weather in nyc?"}]},
        multitask_strategy="rollback",
    )
    # Follow the new run's events while it executes: streaming through the embedded Redis.
    events = [part async for part in client.runs.join_stream(thread["thread_id"], run["run_id"])]
    await client.runs.join(thread["thread_id"], run["run_id"])
    state = await client.threads.get_state(thread["thread_id"])

    nyc = [
        ("human", "whats the weather in nyc?"),
        ("ai", ""),
        ("tool", "Search result for 'weather in nyc': sunny, 72F."),
        ("ai", "The weather in nyc is sunny and 72 degrees."),
    ]
    assert _contents(state["values"]) == nyc
    assert events and events[-1].event == "values"
    assert _contents(events[-1].data) == nyc
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        await client.runs.get(thread["thread_id"], first["run_id"])
    assert excinfo.value.response.status_code == 404
    runs = await client.runs.list(thread["thread_id"])
    assert [(r["run_id"], r["status"]) for r in runs] == [(run["run_id"], "success")]
    history = await client.threads.get_history(thread["thread_id"], limit=100)
    assert {h["metadata"]["run_id"] for h in history} == {run["run_id"]}

    # A new run streamed from its creation: every step of the agent arrives.
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"],
            "agent",
            stream_mode="updates",
            input={"messages": [{"role": "human", "content": "and in sf?"}]},
        )
    ]
    assert [p.event for p in parts][0] == "metadata"
    assert [next(iter(p.data)) for p in parts if p.event == "updates"] == [
        "agent",
        "tools",
        "agent",
    ]

    # Behind the API: no row of the first run is left in the SQLite file.
    with sqlite3.connect(dev.project / "spindle.sqlite3") as db:
        first_hex = first["run_id"].replace("-", "")
        for table in (
            "runs_run",
            "threads_checkpoint",
            "threads_checkpointwrite",
            "threads_checkpointblob",
        ):
            assert db.execute(
                f"select count(*) from {table} where run_id = ?", (first_hex,)
            ).fetchone() == (0,)


def _readme_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)[:2]


def test_the_readme_snippets_run_as_written(dev: DevServer, tmp_path: Path) -> None:
    quickstart, rollback = _readme_snippets()
    # Saved outside the project folder: a new .py file there would reload the server.
    for name, code in (("quickstart.py", quickstart), ("rollback.py", rollback)):
        assert 'url="http://127.0.0.1:2024"' in code
        (tmp_path / name).write_text(code.replace("http://127.0.0.1:2024", dev.url))
    result = subprocess.run(
        [sys.executable, "quickstart.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "The weather in sf is sunny" in result.stdout
    result = subprocess.run(
        [sys.executable, "rollback.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "human whats the weather in nyc?",
        "ai ",
        "tool Search result for 'weather in nyc': sunny, 72F.",
        "ai The weather in nyc is sunny and 72 degrees.",
        "first run: 404",
    ]


def test_cors_preflight_allows_the_configured_origin_only(dev: DevServer) -> None:
    asked = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-api-key",
    }
    allowed = httpx.options(f"{dev.url}/threads/search", headers={"origin": STUDIO, **asked})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == STUDIO
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-allow-headers"] == "content-type, x-api-key"
    assert "POST" in allowed.headers["access-control-allow-methods"]

    refused = httpx.options(
        f"{dev.url}/threads/search", headers={"origin": "https://evil.example", **asked}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    # The actual request from the allowed origin carries the header too.
    response = httpx.post(f"{dev.url}/threads/search", json={}, headers={"origin": STUDIO})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == STUDIO


async def test_many_runs_at_once_on_sqlite(client, dev: DevServer) -> None:
    """Web and both worker processes write the SQLite file at once: WAL and the busy
    timeout keep every run and request going, none fails with 'database is locked'."""

    async def one(i: int) -> tuple[str, str]:
        thread = await client.threads.create(metadata={"n": i})
        run = await client.runs.create(
            thread["thread_id"],
            "agent",
            config={"configurable": {"delay": 0.05}},
            input={"messages": [{"role": "human", "content": f"whats the weather in sf? {i}"}]},
        )
        await client.runs.join(thread["thread_id"], run["run_id"])
        await client.threads.update(thread["thread_id"], metadata={"done": True})
        final = await client.runs.get(thread["thread_id"], run["run_id"])
        return final["status"], (await client.threads.get(thread["thread_id"]))["status"]

    results = await asyncio.gather(*(one(i) for i in range(16)))
    assert results == [("success", "idle")] * 16
    assert "database is locked" not in dev.output()


async def test_editing_a_graph_reloads_web_and_worker(client, dev: DevServer) -> None:
    async def reply() -> str:
        thread = await client.threads.create()
        run = await client.runs.create(
            thread["thread_id"], "edited", input={"messages": [{"role": "human", "content": "hi"}]}
        )
        result = await client.runs.join(thread["thread_id"], run["run_id"])
        return result["messages"][-1]["content"]

    assert await reply() == "before the edit"
    reloads = dev.output().count("Reloaded.")
    (dev.project / "edited.py").write_text(EDITED_GRAPH.format(reply="after the edit"))
    dev.wait_for("Reloaded.", count=reloads + 1)
    dev.wait_for("ready.", count=dev.output().count("Reloading web and worker") + 1)
    assert await reply() == "after the edit"
