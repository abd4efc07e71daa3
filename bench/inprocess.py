"""CPU per request and per run, measured inside one process: steadier than the whole stack.

The full bench (`python -m bench`) shares two cores between six processes, so its figures
swing with whatever else the machine does. This one drives the ASGI application and the
executor directly, against a database of its own and a Redis db, and prints the process
CPU time of: a run create request, a join request on a finished run, and a run's
execution (claim, graph, checkpoints, events, finish; Celery not included). Use it to
compare two versions of the code: `make bench-inprocess` (or `python -m bench.inprocess`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any


async def _call(application: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # no disconnect while the response is made
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body_out


async def measure(n: int) -> dict[str, float]:
    from config.asgi import application
    from runs import runner

    run_body = json.dumps(
        {"assistant_id": "echo", "input": {"messages": [{"role": "human", "content": "hi"}]}}
    ).encode()
    loop = asyncio.get_running_loop()

    async def new_thread() -> str:
        status, body = await _call(application, "POST", "/threads", b"{}")
        assert status == 200, body
        return json.loads(body)["thread_id"]

    async def create(thread_id: str) -> str:
        status, body = await _call(application, "POST", f"/threads/{thread_id}/runs", run_body)
        assert status == 200, body
        return json.loads(body)["run_id"]

    figures: dict[str, float] = {}
    warm = 30
    threads = [await new_thread() for _ in range(n + warm)]
    runs: list[tuple[str, str]] = []
    for index, thread_id in enumerate(threads):
        if index == warm:
            await loop.run_in_executor(None, _analyze)
        start = time.process_time()
        run_id = await create(thread_id)
        if index >= warm:
            figures["create request"] = (
                figures.get("create request", 0.0) + time.process_time() - start
            )
        start = time.process_time()
        await loop.run_in_executor(None, runner.execute_run, run_id)
        if index >= warm:
            figures["run execution"] = (
                figures.get("run execution", 0.0) + time.process_time() - start
            )
        runs.append((thread_id, run_id))
    await loop.run_in_executor(None, _analyze)
    for index, (thread_id, run_id) in enumerate(runs):
        start = time.process_time()
        status, body = await _call(application, "GET", f"/threads/{thread_id}/runs/{run_id}/join")
        assert status == 200 and b"messages" in body, body
        if index >= warm:
            figures["join request (finished run)"] = (
                figures.get("join request (finished run)", 0.0) + time.process_time() - start
            )
    return {name: seconds * 1000 / n for name, seconds in figures.items()}


def _analyze() -> None:
    """What a deployment's sweeper does for young tables (core.db.stats), at fixed points."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="measured runs (after 30 for warm-up)")
    args = parser.parse_args()

    from tests.e2e.stack import drop_database, fresh_database

    redis_url = os.environ["REDIS_URL"]
    db_url = fresh_database(f"spindle_inprocess_{os.getpid()}")
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SPINDLE_DEV", "1")  # measures in-process, not a deployment
    try:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        # As uvicorn serves it: config.asgi turns on the connection pool, which settings
        # read at django.setup(), so before it.
        os.environ.setdefault("SPINDLE_DB_POOL", "1")
        django.setup()
        import config.asgi  # noqa: F401  (loads the graphs: outside the loop)
        from assistants.services import assistant_ensure_defaults

        assistant_ensure_defaults()

        figures = asyncio.run(measure(args.n))
        for name, ms in figures.items():
            print(f"{name}: {ms:.2f} ms CPU")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(db_url)
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
