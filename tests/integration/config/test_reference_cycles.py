"""A run's requests and its execution leave no reference cycles, and the long-running
processes collect accordingly (config/collector.py): reference counting frees what a run
create, a run's execution and a join allocate, so the garbage collector finds nothing.

Each cycle here was found this way and broken where it was made: Django's View.setup
(HEAD served by a bound method kept on the view), DRF's bound fields, the disconnect
listener's RequestAborted (a traceback holding the request's tasks), and the run's task,
whose context holds its execution."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.e2e.stack import ROOT, drop_database, fresh_database

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql" or not settings.REDIS_URL,
    reason="runs are created and executed against PostgreSQL and Redis",
)

SCRIPT = """
import asyncio, collections, gc, json
import config.asgi
from config.collector import YOUNG_THRESHOLD
from runs import dispatch, runner

# The script executes each run itself: no Celery message is left in the broker.
dispatch.enqueue = lambda *args, **kwargs: None

async def call(method, path, body=b""):
    # As uvicorn does: once the response is complete, receive() answers http.disconnect.
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent, complete = [], asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    async def receive():
        if messages:
            return messages.pop(0)
        await complete.wait()
        return {"type": "http.disconnect"}
    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            complete.set()
    await config.asgi.application(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

async def garbage(operation):
    # The objects only the collector would have freed: those in reference cycles.
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = await operation()
        gc.collect()
        kinds = collections.Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
    return result, kinds

async def main():
    loop = asyncio.get_running_loop()
    report = {"frozen": gc.get_freeze_count(), "young_threshold": gc.get_threshold()[0],
              "expected_threshold": YOUNG_THRESHOLD, "create": {}, "execute": {}, "join": {}}
    from assistants.services import assistant_ensure_defaults
    await loop.run_in_executor(None, assistant_ensure_defaults)
    status, body = await call("POST", "/threads", b"{}")
    assert status == 200, body
    thread_id = json.loads(body)["thread_id"]
    run_body = json.dumps({"assistant_id": "echo",
                           "input": {"messages": [{"role": "human", "content": "hi"}]}}).encode()

    async def create():
        status, body = await call("POST", f"/threads/{thread_id}/runs", run_body)
        assert status == 200, body
        return json.loads(body)["run_id"]

    async def execute(run_id):
        await loop.run_in_executor(None, runner.execute_run, run_id)

    async def join(run_id):
        status, body = await call("GET", f"/threads/{thread_id}/runs/{run_id}/join")
        assert status == 200 and b"messages" in body, body

    for index in range(8):  # the first runs make what a process makes once (imports, caches)
        run_id, kinds = await garbage(create)
        _, executed = await garbage(lambda: execute(run_id))
        _, joined = await garbage(lambda: join(run_id))
        if index >= 3:
            for name, found in (("create", kinds), ("execute", executed), ("join", joined)):
                for kind, count in found.items():
                    report[name][kind] = report[name].get(kind, 0) + count
    print(json.dumps(report))

asyncio.run(main())
"""


def test_a_run_leaves_no_reference_cycles_and_the_web_process_collects_rarely() -> None:
    url = fresh_database(f"spindle_cycles_{os.getpid()}")
    try:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": str(settings.REDIS_URL),
            "LOG_LEVEL": "WARNING",
            "SPINDLE_DEV": "1",
        }
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        drop_database(url)
    # The web process settled once it had started: what it made is out of the collector's
    # reach, and it collects after 10,000 net allocations instead of 700.
    assert report["frozen"] > 10_000
    assert report["young_threshold"] == report["expected_threshold"] == 10_000
    assert report["create"] == {}
    assert report["execute"] == {}
    assert report["join"] == {}
