"""Scripts run in a process of their own as the web process runs: `config.asgi` imported
(its pooled connections, its collector settings), against a fresh database. For tests of
what only such a process shows; `CALL` is an ASGI request as uvicorn makes it."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

from tests.e2e.stack import ROOT, drop_database, fresh_database

# `await call(method, path, body)` -> (status, body). Once the response is complete,
# receive() answers http.disconnect, as uvicorn's does. Worker-less: dispatch sends nothing.
CALL = """
import asyncio, json
import config.asgi
from runs import dispatch
dispatch.enqueue = lambda *args, **kwargs: None

async def call(method, path, body=b""):
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
"""


def run_script(script: str, *, name: str, **env: str) -> str:
    """Run CALL + `script` with the test's Redis and a fresh database; its stdout."""
    url = fresh_database(f"spindle_{name}_{os.getpid()}")
    try:
        result = subprocess.run(
            [sys.executable, "-c", CALL + script],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": url,
                "REDIS_URL": str(settings.REDIS_URL),
                "LOG_LEVEL": "WARNING",
                "SPINDLE_DEV": "1",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        drop_database(url)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
