"""A run's requests and its execution leave no reference cycles, and the long-running
processes collect accordingly (config/collector.py): reference counting frees what a run
create, a run's execution and a join allocate, so the garbage collector finds nothing.

Each cycle here was found this way and broken where it was made: Django's View.setup
(HEAD served by a bound method kept on the view), DRF's bound fields, the disconnect
listener's RequestAborted (a traceback holding the request's tasks), and the run's task,
whose context holds its execution."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection

from tests.web_process import run_script

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql" or not settings.REDIS_URL,
    reason="runs are created and executed against PostgreSQL and Redis",
)

SCRIPT = """
import collections, gc
from config.collector import YOUNG_THRESHOLD
from runs import runner

# The script executes each run itself (CALL sends no Celery message).
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
    report = json.loads(run_script(SCRIPT, name="cycles").strip().splitlines()[-1])
    # The web process settled once it had started: what it made is out of the collector's
    # reach, and it collects after 10,000 net allocations instead of 700.
    assert report["frozen"] > 10_000
    assert report["young_threshold"] == report["expected_threshold"] == 10_000
    assert report["create"] == {}
    assert report["execute"] == {}
    assert report["join"] == {}
