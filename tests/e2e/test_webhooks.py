"""Webhooks end to end: a local HTTP receiver gets the official payload once per ended run,
and a receiver that fails twice gets it on the third attempt."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.stack import free_port
from tests.e2e.test_multitask_strategies import FAST, contents, human, until_running

pytestmark = pytest.mark.e2e


class Receiver:
    """Records POSTed JSON bodies by path; /flaky answers 500 to its first two calls."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    calls = receiver.bodies.setdefault(self.path, [])
                    calls.append(body)
                    failing = self.path.startswith("/flaky") and len(calls) <= 2
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self, path: str) -> list[dict]:
        with self.lock:
            return list(self.bodies.get(path, []))

    async def wait(self, path: str, count: int, timeout: float = 30) -> list[dict]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.calls(path)) < count:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{path}: {len(self.calls(path))} of {count} calls"
            )
            await asyncio.sleep(0.1)
        return self.calls(path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


async def test_the_payload_arrives_once_per_finished_run(client, receiver: Receiver) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(
        tid, "echo", input=human("hi"), webhook=f"{receiver.url}/ok", metadata={"m": 1}
    )
    await client.runs.join(tid, run["run_id"])
    [body] = await receiver.wait("/ok", 1)
    assert (body["run_id"], body["thread_id"], body["status"]) == (run["run_id"], tid, "success")
    assert body["assistant_id"] == run["assistant_id"] and body["metadata"]["m"] == 1
    assert body["kwargs"]["webhook"] == f"{receiver.url}/ok"
    assert contents(body["values"]) == [("human", "hi"), ("ai", "hi")]
    assert body["run_started_at"] <= body["run_ended_at"] <= body["webhook_sent_at"]
    assert "error" not in body

    failed = await client.runs.create(
        tid, "raiser", input=human("boom"), webhook=f"{receiver.url}/err"
    )
    await client.runs.join(tid, failed["run_id"])
    [body] = await receiver.wait("/err", 1)
    assert (body["run_id"], body["status"]) == (failed["run_id"], "error")
    assert body["error"] == {"error": "ValueError", "message": "the graph raised on purpose"}

    slow = await client.runs.create(
        tid, "agent", input=human("weather in sf?"), config=FAST, webhook=f"{receiver.url}/int"
    )
    await until_running(client, tid, slow["run_id"])
    await client.runs.cancel(tid, slow["run_id"], wait=True)
    [body] = await receiver.wait("/int", 1)
    assert (body["run_id"], body["status"]) == (slow["run_id"], "interrupted")

    stateless = await client.runs.wait(
        None, "echo", input=human("bye"), webhook=f"{receiver.url}/stateless"
    )
    assert contents(stateless)[-1] == ("ai", "bye")
    [body] = await receiver.wait("/stateless", 1)
    assert body["status"] == "success" and contents(body["values"])[-1] == ("ai", "bye")

    # Once each: nothing more arrives.
    await asyncio.sleep(2)
    assert [len(receiver.calls(p)) for p in ("/ok", "/err", "/int", "/stateless")] == [1, 1, 1, 1]
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"


async def test_a_receiver_failing_twice_gets_the_payload_on_the_third_try(
    client, receiver: Receiver, stack
) -> None:
    run = await client.runs.create(
        None, "echo", input=human("again"), webhook=f"{receiver.url}/flaky"
    )
    calls = await receiver.wait("/flaky", 3)
    assert [c["run_id"] for c in calls] == [run["run_id"]] * 3
    await asyncio.sleep(2)
    assert len(receiver.calls("/flaky")) == 3
    assert stack.sql(
        "SELECT status, attempts FROM webhooks_webhookdelivery WHERE run_id = %s", run["run_id"]
    ) == [("delivered", 3)]


async def test_an_unreachable_webhook_never_changes_the_run(client, stack) -> None:
    thread = await client.threads.create()
    # Nothing listens there: every attempt fails, and the run stays a success.
    run = await client.runs.create(
        thread["thread_id"],
        "echo",
        input=human("x"),
        webhook=f"http://127.0.0.1:{free_port()}/gone",
    )
    await client.runs.join(thread["thread_id"], run["run_id"])
    deadline = asyncio.get_running_loop().time() + 30
    while stack.sql(
        "SELECT status FROM webhooks_webhookdelivery WHERE run_id = %s", run["run_id"]
    ) != [("failed",)]:
        assert asyncio.get_running_loop().time() < deadline, "the delivery never gave up"
        await asyncio.sleep(0.2)
    assert stack.sql(
        "SELECT attempts FROM webhooks_webhookdelivery WHERE run_id = %s", run["run_id"]
    ) == [(5,)]
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
