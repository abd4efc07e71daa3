"""The ASGI application as uvicorn serves it (pooled connections): request_started's
synchronous receivers are skipped, requests to async views start no thread of their own,
and synchronous views (the API's and the admin's) still hand every connection back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.web_process import run_script

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql" or not settings.REDIS_URL,
    reason="the web process pools PostgreSQL connections; runs need Redis",
)

SCRIPT = """
import concurrent.futures, threading
from django.core import signals
from django.db import close_old_connections, reset_queries

receivers = [r[1]() for r in signals.request_started.receivers]
assert close_old_connections not in receivers and reset_queries not in receivers, receivers

async def main():
    # Async views run their database calls on the loop's default executor. Bounded to one
    # thread, it cannot race into starting a second one (a worker thread marks itself idle
    # only after its result is delivered), so the count below sees only per-request threads.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncio"))
    status, body = await call("POST", "/threads", b"{}")
    thread_id = json.loads(body)["thread_id"]
    # Three times the pool's size: a connection left behind by any request would run it dry.
    for _ in range(60):
        assert (await call("GET", f"/threads/{thread_id}"))[0] == 200          # a sync DRF view
        assert (await call("GET", f"/threads/{thread_id}/runs"))[0] == 200     # an async view
        assert (await call("GET", "/admin/login/"))[0] == 200                  # the admin, sync
    # Django gives each request a ThreadSensitiveContext, which starts a thread for it;
    # requests to async views go without one.
    started = []
    original_start = threading.Thread.start
    def counting_start(self):
        started.append(self.name)
        original_start(self)
    threading.Thread.start = counting_start
    for _ in range(30):
        assert (await call("GET", f"/threads/{thread_id}/runs"))[0] == 200
        assert (await call("GET", "/ok"))[0] == 200
    threading.Thread.start = original_start
    assert started == [], started
    # Each request's path is resolved once: the handler reuses the match that chose how
    # the request is served.
    from django.urls import get_resolver
    root = get_resolver()
    resolved = []
    original_resolve = type(root).resolve
    def counting_resolve(self, path):
        if self is root:
            resolved.append(path)
        return original_resolve(self, path)
    type(root).resolve = counting_resolve
    assert (await call("GET", f"/threads/{thread_id}/runs"))[0] == 200
    assert (await call("GET", "/admin/login/"))[0] == 200
    type(root).resolve = original_resolve
    assert resolved == [f"/threads/{thread_id}/runs", "/admin/login/"], resolved
    # The run endpoints (closes_on_loop) close their responses on the event loop: no hop to
    # asgiref's shared thread, and request_finished is still sent. Other async views close
    # there, where what they opened is closed.
    from assistants.services import assistant_ensure_defaults
    await asyncio.get_running_loop().run_in_executor(None, assistant_ensure_defaults)
    finished = []
    def on_finished(**kwargs):
        finished.append(threading.current_thread() is threading.main_thread())
    signals.request_finished.connect(on_finished)
    status, body = await call("POST", f"/threads/{thread_id}/runs",
                              b'{"assistant_id": "echo", "input": {"messages": []}}')
    assert status == 200, body
    run_id = json.loads(body)["run_id"]
    assert (await call("GET", f"/threads/{thread_id}/runs/{run_id}"))[0] == 200
    assert finished == [True, True], finished
    assert (await call("GET", f"/threads/{thread_id}"))[0] == 200
    assert finished == [True, True, False], finished
    signals.request_finished.disconnect(on_finished)
    print("served")

asyncio.run(main())
"""


def test_requests_hand_their_connections_back_without_request_started_receivers() -> None:
    output = run_script(SCRIPT, name="asgi", SPINDLE_DB_POOL_SIZE="20")
    assert output.strip().endswith("served")
