"""Who may do what, end to end: API keys (SPINDLE_API_KEYS), and an examples-style custom auth
from langgraph.json (tests/e2e/access/auth.py: two users by bearer token, every resource
tagged with its owner and filtered by it, store items under the caller's own namespace).

The custom-auth cases run against Spindle's stack and, when the official server is
installed (LANGGRAPH_OFFICIAL_VENV, default .venv-official in the checkout), against
`langgraph dev` serving the same langgraph.json: CASES lists each request user B makes on
user A's resources with the status both servers must give."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.protocol_clients import a2a_message
from tests.e2e.stack import (
    ROOT,
    RedisServer,
    Stack,
    drop_database,
    free_port,
    fresh_database,
    stack_env,
)

pytestmark = pytest.mark.e2e

ACCESS = ROOT / "tests" / "e2e" / "access"
A = {"Authorization": "Bearer token-a"}
B = {"Authorization": "Bearer token-b"}
API_KEY = "e2e-key-0123456789abcdef"


def _private_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[Stack]:
    """A stack with its own database and its own Redis: its worker must not take the runs
    of another stack alive at the same time."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("end-to-end tests need PostgreSQL (set DATABASE_URL)")
    log_dir = tmp_path_factory.mktemp(name)
    redis_server = RedisServer(log_dir)
    redis_server.start()
    db_url = fresh_database(f"spindle_e2e_{name}_{os.getpid()}")
    stack = Stack(
        url=f"http://127.0.0.1:{free_port()}",
        db_url=db_url,
        env={**stack_env(redis_url=redis_server.url, db_url=db_url), **env},
        log_dir=log_dir,
    )
    try:
        stack.start_web()
        stack.start_worker(beat=True)
        yield stack
    except Exception:
        print(stack.logs())
        raise
    finally:
        stack.stop()
        redis_server.stop()
        drop_database(db_url)


@pytest.fixture(scope="module")
def keys_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _private_stack(
        tmp_path_factory,
        "keys",
        SPINDLE_API_KEYS=f"other-key, {API_KEY}",
        LANGGRAPH_CONFIG=str(ACCESS / "cors.json"),
    )


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _private_stack(
        tmp_path_factory, "auth", LANGGRAPH_CONFIG=str(ACCESS / "langgraph.json")
    )


@pytest.fixture(scope="module")
def official_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    venv = Path(os.environ.get("LANGGRAPH_OFFICIAL_VENV", ROOT / ".venv-official"))
    binary = venv / "bin" / "langgraph"
    if not binary.exists():
        pytest.skip(f"the official server is not installed ({binary}); set LANGGRAPH_OFFICIAL_VENV")
    port = free_port()
    # It keeps its state (.langgraph_api) in its working folder and reads auth.path from
    # there: a fresh copy of the project each time.
    folder = tmp_path_factory.mktemp("official")
    for name in ("langgraph.json", "auth.py", "graphs.py"):
        shutil.copy(ACCESS / name, folder / name)
    log = folder / "langgraph-dev.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DATABASE_URL", "REDIS_URL"))
    }
    proc = subprocess.Popen(
        [
            str(binary),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--config",
            str(folder / "langgraph.json"),
        ],
        cwd=folder,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.fixture(scope="module", params=["spindle", "official"])
def server(request: pytest.FixtureRequest) -> str:
    if request.param == "official":
        return request.getfixturevalue("official_url")
    return request.getfixturevalue("auth_stack").url


# --- API keys -----------------------------------------------------------------------

# One request of every path family: assistants, threads, runs, store, crons, protocols.
FAMILIES = [
    ("POST", "/assistants/search", {}),
    ("POST", "/threads", {}),
    ("POST", "/threads/search", {}),
    ("POST", "/runs/wait", {"assistant_id": "whoami", "input": {}}),
    # A thread that does not exist: the key is refused before the thread is looked up.
    ("GET", "/threads/00000000-0000-4000-8000-000000000000/runs", None),
    ("PUT", "/store/items", {"namespace": ["n"], "key": "k", "value": {"v": 1}}),
    ("POST", "/store/items/search", {}),
    ("POST", "/runs/crons/search", {}),
    ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    ("GET", "/a2a/whoami", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), FAMILIES, ids=[f"{m} {p}" for m, p, _ in FAMILIES]
)
@pytest.mark.parametrize(
    "key", [None, "wrong-key", API_KEY[:-1]], ids=["no-key", "wrong-key", "prefix-of-key"]
)
def test_api_keys_refuse_every_path_family_without_the_right_key(
    keys_stack: Stack, method: str, path: str, body: Any, key: str | None
) -> None:
    headers = {"x-api-key": key} if key else {}
    response = httpx.request(method, keys_stack.url + path, json=body, headers=headers, timeout=30)
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Missing or invalid API key (x-api-key header)"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_keys_nothing_is_written_by_a_refused_request(keys_stack: Stack) -> None:
    thread_id = str(uuid.uuid4())
    refused = httpx.post(f"{keys_stack.url}/threads", json={"thread_id": thread_id}, timeout=30)
    assert refused.status_code == 401
    found = httpx.get(
        f"{keys_stack.url}/threads/{thread_id}", headers={"x-api-key": API_KEY}, timeout=30
    )
    assert found.status_code == 404


def test_api_keys_the_right_key_works_through_langgraph_sdk(keys_stack: Stack) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=keys_stack.url, api_key=API_KEY, timeout=60)
    thread = client.threads.create(metadata={"k": 1})
    values = client.runs.wait(thread["thread_id"], "whoami", input={})
    # No custom auth: the graph sees no user.
    assert values == {"user_id": None, "display_name": None, "permissions": []}
    assert client.threads.get(thread["thread_id"])["metadata"]["k"] == 1
    client.store.put_item(["notes"], "k", {"text": "hi"})
    assert client.store.get_item(["notes"], "k")["value"] == {"text": "hi"}
    assert client.assistants.search(graph_id="whoami")[0]["graph_id"] == "whoami"
    assert client.crons.search() == []
    # The other configured key works too.
    other = get_sync_client(url=keys_stack.url, api_key="other-key", timeout=60)
    assert other.threads.get(thread["thread_id"])["thread_id"] == thread["thread_id"]


@pytest.mark.parametrize("path", ["/ok", "/", "/info", "/openapi.json", "/docs", "/metrics"])
def test_api_keys_leave_health_info_and_documents_open(keys_stack: Stack, path: str) -> None:
    response = httpx.get(keys_stack.url + path, timeout=30)
    assert response.status_code == 200, response.text
    assert "server" not in response.headers  # no uvicorn banner


def test_api_keys_leave_the_admin_to_django_login(keys_stack: Stack) -> None:
    response = httpx.get(f"{keys_stack.url}/admin/", timeout=30)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["location"]


def test_cors_preflight_from_an_allowed_origin_succeeds_and_from_another_does_not(
    keys_stack: Stack,
) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type",
    }
    allowed = httpx.options(
        f"{keys_stack.url}/threads/search",
        headers={"Origin": "https://app.example.com", **asked},
        timeout=30,
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"]
    other = httpx.options(
        f"{keys_stack.url}/threads/search",
        headers={"Origin": "https://evil.example.com", **asked},
        timeout=30,
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


# --- custom auth -----------------------------------------------------------------------


class Owned:
    """What user A made: a thread with a finished run, an assistant, a cron, a store item."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.thread = _ok("POST", url, "/threads", A, {"metadata": {"topic": "secret"}})
        self.thread_id = self.thread["thread_id"]
        self.assistant = _ok("POST", url, "/assistants", A, {"graph_id": "whoami", "name": "mine"})
        self.assistant_id = self.assistant["assistant_id"]
        self.run = _ok(
            "POST",
            url,
            f"/threads/{self.thread_id}/runs",
            A,
            {"assistant_id": self.assistant_id, "input": {}},
        )
        self.run_id = self.run["run_id"]
        self.values = _ok("GET", url, f"/threads/{self.thread_id}/runs/{self.run_id}/join", A)
        self.cron = _ok(
            "POST",
            url,
            "/runs/crons",
            A,
            {"assistant_id": "whoami", "schedule": "0 0 1 1 *", "input": {}},
        )
        self.cron_id = self.cron["cron_id"]
        assert self.cron["user_id"] == "user-a"
        httpx.put(
            f"{url}/store/items",
            headers=A,
            json={"namespace": ["notes"], "key": "k1", "value": {"text": "a's"}},
            timeout=30,
        ).raise_for_status()


def _ok(method: str, url: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    response = httpx.request(method, url + path, headers=headers, json=body, timeout=60)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def owned(server: str) -> Owned:
    return Owned(server)


# (name, method, path template, body, status for user B). The official server, run with the
# same auth.py, gives the same status in every case but those in OFFICIAL_DIFFERS.
CASES: list[tuple[str, str, str, Any, int]] = [
    ("get thread", "GET", "/threads/{thread}", None, 404),
    ("patch thread", "PATCH", "/threads/{thread}", {"metadata": {"x": 1}}, 404),
    # Copying a thread one cannot see answers as copying a missing one does: 409, officially too.
    ("copy thread", "POST", "/threads/{thread}/copy", None, 409),
    ("thread state", "GET", "/threads/{thread}/state", None, 404),
    ("update thread state", "POST", "/threads/{thread}/state", {"values": {"user_id": "b"}}, 404),
    ("thread history", "GET", "/threads/{thread}/history", None, 404),
    ("thread history post", "POST", "/threads/{thread}/history", {"limit": 5}, 404),
    ("list runs", "GET", "/threads/{thread}/runs", None, 404),
    ("create run", "POST", "/threads/{thread}/runs", {"assistant_id": "whoami", "input": {}}, 404),
    (
        "wait run",
        "POST",
        "/threads/{thread}/runs/wait",
        {"assistant_id": "whoami", "input": {}},
        404,
    ),
    (
        "stream run",
        "POST",
        "/threads/{thread}/runs/stream",
        {"assistant_id": "whoami", "input": {}},
        404,
    ),
    ("get run", "GET", "/threads/{thread}/runs/{run}", None, 404),
    ("join run", "GET", "/threads/{thread}/runs/{run}/join", None, 404),
    ("join run stream", "GET", "/threads/{thread}/runs/{run}/stream", None, 404),
    ("cancel run", "POST", "/threads/{thread}/runs/{run}/cancel", None, 404),
    ("delete run", "DELETE", "/threads/{thread}/runs/{run}", None, 404),
    ("delete thread", "DELETE", "/threads/{thread}", None, 404),
    ("get assistant", "GET", "/assistants/{assistant}", None, 404),
    ("patch assistant", "PATCH", "/assistants/{assistant}", {"name": "b's now"}, 404),
    ("assistant versions", "POST", "/assistants/{assistant}/versions", {}, 404),
    ("run on assistant", "POST", "/runs/wait", {"assistant_id": "{assistant}", "input": {}}, 404),
    ("delete assistant", "DELETE", "/assistants/{assistant}", None, 404),
    ("patch cron", "PATCH", "/runs/crons/{cron}", {"schedule": "0 0 2 1 *"}, 404),
    ("delete cron", "DELETE", "/runs/crons/{cron}", None, 404),
]


# The official server opens the join stream (200) and then sends `event: error` with a 404
# in it; Spindle answers 404 before opening a stream, as it does for a missing run, so a
# client learns it has no access from the status alone.
OFFICIAL_DIFFERS = {"join run stream": 200}


def _fill(template: Any, owned: Owned) -> Any:
    names = {
        "{thread}": owned.thread_id,
        "{run}": owned.run_id,
        "{assistant}": owned.assistant_id,
        "{cron}": owned.cron_id,
    }
    if isinstance(template, str):
        for name, value in names.items():
            template = template.replace(name, value)
        return template
    if isinstance(template, dict):
        return {key: _fill(value, owned) for key, value in template.items()}
    return template


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "status"), CASES, ids=[c[0] for c in CASES]
)
def test_custom_auth_user_b_cannot_reach_user_a_resources(
    request: pytest.FixtureRequest,
    server: str,
    owned: Owned,
    name: str,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    response = httpx.request(
        method, server + _fill(path, owned), headers=B, json=_fill(body, owned), timeout=60
    )
    if request.node.callspec.params["server"] == "official":
        status = OFFICIAL_DIFFERS.get(name, status)
    assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
    if status == 200:
        assert "event: error" in response.text
    # And user A still has everything, unchanged.
    assert _ok("GET", server, f"/threads/{owned.thread_id}", A)["metadata"]["topic"] == "secret"
    assert (
        _ok("GET", server, f"/threads/{owned.thread_id}/runs/{owned.run_id}", A)["run_id"]
        == owned.run_id
    )
    assert _ok("GET", server, f"/assistants/{owned.assistant_id}", A)["name"] == "mine"
    assert [c["cron_id"] for c in _ok("POST", server, "/runs/crons/search", A, {})] == [
        owned.cron_id
    ]


def test_custom_auth_create_with_do_nothing_does_not_hand_out_another_users_resource(
    server: str, owned: Owned
) -> None:
    for path, body in [
        ("/threads", {"thread_id": owned.thread_id, "if_exists": "do_nothing"}),
        (
            "/assistants",
            {"assistant_id": owned.assistant_id, "graph_id": "whoami", "if_exists": "do_nothing"},
        ),
    ]:
        response = httpx.post(server + path, headers=B, json=body, timeout=30)
        assert response.status_code == 409, f"{path}: {response.status_code} {response.text}"
        assert _ok("POST", server, path, A, body)["metadata"]["owner"] == "user-a"


def test_custom_auth_lists_and_counts_show_each_user_only_its_own(
    server: str, owned: Owned
) -> None:
    mine = _ok("POST", server, "/threads", B, {})
    threads_b = _ok("POST", server, "/threads/search", B, {"limit": 100})
    assert [t["thread_id"] for t in threads_b] == [mine["thread_id"]]
    assert _ok("POST", server, "/threads/count", B, {}) == 1
    assert owned.thread_id in {
        t["thread_id"] for t in _ok("POST", server, "/threads/search", A, {"limit": 100})
    }
    assert _ok("POST", server, "/threads/search", B, {"metadata": {"topic": "secret"}}) == []
    assert _ok("POST", server, "/assistants/search", B, {"limit": 100}) == []
    assert _ok("POST", server, "/assistants/count", B, {}) == 0
    assert [
        a["assistant_id"] for a in _ok("POST", server, "/assistants/search", A, {"limit": 100})
    ] == [owned.assistant_id]
    assert _ok("POST", server, "/runs/crons/search", B, {}) == []
    assert _ok("POST", server, "/runs/crons/count", B, {}) == 0
    assert _ok("GET", server, f"/threads/{mine['thread_id']}/runs", B) == []


def test_custom_auth_store_items_live_in_each_users_own_namespace(
    server: str, owned: Owned
) -> None:
    params = {"namespace": "notes", "key": "k1"}
    got_a = httpx.get(f"{server}/store/items", params=params, headers=A, timeout=30).json()
    assert got_a["value"] == {"text": "a's"}
    assert got_a["namespace"] == ["user-a", "notes"]
    assert httpx.get(f"{server}/store/items", params=params, headers=B, timeout=30).json() is None
    assert (
        _ok("POST", server, "/store/items/search", B, {"namespace_prefix": ["notes"]})["items"]
        == []
    )
    deleted = httpx.request(
        "DELETE",
        f"{server}/store/items",
        headers=B,
        json={"namespace": ["notes"], "key": "k1"},
        timeout=30,
    )
    assert deleted.status_code == 204
    assert httpx.get(f"{server}/store/items", params=params, headers=A, timeout=30).json()[
        "value"
    ] == {"text": "a's"}


C = {"Authorization": "Bearer token-c"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/threads", {}),
        ("POST", "/assistants", {"graph_id": "whoami"}),
        ("POST", "/runs/wait", {"assistant_id": "whoami", "input": {}}),
        ("PUT", "/store/items", {"namespace": ["n"], "key": "k", "value": {}}),
        ("POST", "/runs/crons", {"assistant_id": "whoami", "schedule": "0 0 1 1 *"}),
    ],
)
def test_custom_auth_a_handler_returning_false_forbids(
    server: str, method: str, path: str, body: Any
) -> None:
    response = httpx.request(method, server + path, headers=C, json=body, timeout=30)
    assert response.status_code == 403, response.text
    assert _ok("POST", server, "/threads/search", C, {}) == []


def test_custom_auth_the_graph_sees_the_user_in_its_config(server: str, owned: Owned) -> None:
    assert owned.values == {
        "user_id": "user-a",
        "display_name": "User-A",
        "permissions": ["runs:write"],
    }
    stateless = _ok("POST", server, "/runs/wait", B, {"assistant_id": "whoami", "input": {}})
    assert stateless["user_id"] == "user-b"


def test_custom_auth_a_client_cannot_pose_as_another_user_through_its_config(
    server: str, owned: Owned
) -> None:
    forged = {
        "configurable": {
            "langgraph_auth_user_id": "user-a",
            "langgraph_auth_permissions": ["admin"],
        }
    }
    values = _ok(
        "POST", server, "/runs/wait", B, {"assistant_id": "whoami", "input": {}, "config": forged}
    )
    assert values["user_id"] == "user-b"
    assert values["permissions"] == ["runs:write"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nobody"}, {"Authorization": "token-a"}],
    ids=["none", "unknown", "no-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/threads/search"),
        ("POST", "/assistants/search"),
        ("POST", "/runs/wait"),
        ("POST", "/store/items/search"),
        ("POST", "/runs/crons/search"),
    ],
)
def test_custom_auth_anonymous_requests_are_401(
    server: str, headers: dict[str, str], method: str, path: str
) -> None:
    response = httpx.request(
        method, server + path, headers=headers, json={"assistant_id": "whoami"}, timeout=30
    )
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "Invalid or missing token"


def test_custom_auth_a_crashing_authenticate_handler_answers_401_and_says_nothing_of_why(
    auth_stack: Stack,
) -> None:
    """Spindle only: the official server answers 500 there."""
    response = httpx.post(
        f"{auth_stack.url}/threads/search",
        headers={"Authorization": "Bearer crash"},
        json={},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_custom_auth_leaves_health_open(server: str) -> None:
    assert httpx.get(f"{server}/ok", timeout=30).status_code == 200


def test_custom_auth_runs_a_cron_starts_keep_its_creators_identity(auth_stack: Stack) -> None:
    url = auth_stack.url
    thread_id = _ok("POST", url, "/threads", A, {})["thread_id"]
    cron = _ok(
        "POST",
        url,
        f"/threads/{thread_id}/runs/crons",
        A,
        {"assistant_id": "whoami", "schedule": "* * * * *", "input": {}},
    )
    try:
        deadline = time.monotonic() + 90  # the next minute boundary, and beat's 5 s look
        runs: list[dict[str, Any]] = []
        while not runs and time.monotonic() < deadline:
            time.sleep(1)
            runs = _ok("GET", url, f"/threads/{thread_id}/runs", A)
        assert runs, "the cron did not fire"
        values = _ok("GET", url, f"/threads/{thread_id}/runs/{runs[-1]['run_id']}/join", A)
        assert values.get("user_id") == "user-a", values
        assert values["permissions"] == ["runs:write"]
    finally:
        httpx.delete(f"{url}/runs/crons/{cron['cron_id']}", headers=A, timeout=30)


# --- custom auth: the agent protocols ----------------------------------------------------
#
# A2A, MCP and the thread-stream protocol ask the handlers what the REST endpoints doing the
# same thing ask: reading an assistant, reading a thread, creating a run. These tests come
# last in the module: their assistants would show in the lists the tests above count.

JSON = {"Accept": "application/json"}
MCP = {"Accept": "application/json, text/event-stream"}


def _rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def _human(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": text}]}


class ProtocolOwned:
    """User A's chat assistant and a context (thread) A talked to it in over A2A; user B's
    own chat assistant."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.assistant_a = _ok("POST", url, "/assistants", A, {"graph_id": "chat", "name": "achat"})
        self.assistant_b = _ok("POST", url, "/assistants", B, {"graph_id": "chat", "name": "bchat"})
        self.aid = self.assistant_a["assistant_id"]
        self.bid = self.assistant_b["assistant_id"]
        sent = self.a2a(A, self.aid, "message/send", a2a_message("hi"))
        self.task = sent["result"]
        self.context_id = self.task["contextId"]
        self.task_id = self.task["id"]

    def a2a(
        self, headers: dict[str, str], assistant_id: str, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/a2a/{assistant_id}",
            headers={**headers, **JSON},
            json=_rpc(method, params),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def mcp(self, headers: dict[str, str], method: str, params: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/mcp", headers={**headers, **MCP}, json=_rpc(method, params), timeout=60
        )
        assert response.status_code == 200, response.text
        return response.json()

    def command(
        self, headers: dict[str, str], thread_id: str, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/threads/{thread_id}/commands",
            headers=headers,
            json={"id": 1, "method": method, "params": params},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def runs_of_a(self) -> list[str]:
        return [r["run_id"] for r in _ok("GET", self.url, f"/threads/{self.context_id}/runs", A)]

    def wait_idle(self) -> None:
        deadline = time.monotonic() + 60
        while _ok("GET", self.url, f"/threads/{self.context_id}", A)["status"] == "busy":
            assert time.monotonic() < deadline, "user A's thread stayed busy"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def proto(server: str) -> ProtocolOwned:
    return ProtocolOwned(server)


def _is_official(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["server"] == "official")


def _answer(result: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in result["artifacts"][0]["parts"])


def test_protocols_a2a_a_user_talks_to_its_own_assistant_as_itself(proto: ProtocolOwned) -> None:
    assert proto.task["status"]["state"] == "completed"
    assert _answer(proto.task) == "hello user-a"
    thread = _ok("GET", proto.url, f"/threads/{proto.context_id}", A)
    assert thread["metadata"]["owner"] == "user-a"
    got = proto.a2a(A, proto.aid, "tasks/get", {"id": proto.task_id, "contextId": proto.context_id})
    assert got["result"]["id"] == proto.task_id
    assert got["result"]["status"]["state"] == "completed"


def test_protocols_a2a_user_b_cannot_use_user_a_assistant_or_context(
    request: pytest.FixtureRequest, proto: ProtocolOwned
) -> None:
    runs_before = proto.runs_of_a()
    # A's assistant: unknown to B, as GET /assistants/{id} is (-32602, invalid params).
    refused = proto.a2a(B, proto.aid, "message/send", a2a_message("hi"))
    assert refused["error"]["code"] == -32602, refused
    assert "not found" in refused["error"]["message"]
    # B's own assistant in A's context: A's thread is unknown to B.
    refused = proto.a2a(B, proto.bid, "message/send", a2a_message("hi", proto.context_id))
    assert refused["error"]["code"] == -32602, refused
    assert "not found" in refused["error"]["message"]
    # A's task is not B's, whichever assistant B asks through.
    for assistant_id in (proto.bid, proto.aid):
        for method in ("tasks/get", "tasks/cancel"):
            got = proto.a2a(
                B, assistant_id, method, {"id": proto.task_id, "contextId": proto.context_id}
            )
            # Through A's assistant Spindle answers as message/send does (the assistant is
            # unknown to B: -32602); the official server looks the task up (-32001).
            expected = -32602 if assistant_id == proto.aid and not _is_official(request) else -32001
            assert got["error"]["code"] == expected, (method, got)
            assert "result" not in got
    assert proto.runs_of_a() == runs_before
    assert _ok("GET", proto.url, f"/threads/{proto.context_id}", A)["metadata"]["owner"] == "user-a"


def test_protocols_a2a_agent_card_of_another_users_assistant_is_not_served(
    request: pytest.FixtureRequest, proto: ProtocolOwned
) -> None:
    mine = httpx.get(f"{proto.url}/a2a/{proto.aid}/.well-known/agent-card.json", headers=A)
    assert mine.status_code == 200 and mine.json()["name"] == "achat"
    for path in (
        f"/a2a/{proto.aid}/.well-known/agent-card.json",
        f"/.well-known/agent-card.json?assistant_id={proto.aid}",
    ):
        theirs = httpx.get(proto.url + path, headers=B, timeout=30)
        # Spindle answers an unknown assistant's card 404; the official server 400.
        assert theirs.status_code == (400 if _is_official(request) else 404), theirs.text
        assert "achat" not in theirs.text
        assert httpx.get(proto.url + path, timeout=30).status_code == 401


def test_protocols_mcp_lists_and_calls_only_the_callers_assistants(proto: ProtocolOwned) -> None:
    names = {
        user: [t["name"] for t in proto.mcp(headers, "tools/list", {})["result"]["tools"]]
        for user, headers in (("a", A), ("b", B), ("c", C))
    }
    # A's whoami assistant ("mine") is a tool on Spindle only: the official server leaves it
    # out of its list (not a question of access).
    assert "achat" in names["a"] and set(names["a"]) <= {"achat", "mine"}
    assert names["b"] == ["bchat"]
    assert names["c"] == []
    mine = proto.mcp(A, "tools/call", {"name": "achat", "arguments": {"messages": "yo"}})
    assert not mine["result"].get("isError")
    assert "hello user-a" in mine["result"]["content"][0]["text"]
    theirs = proto.mcp(B, "tools/call", {"name": "achat", "arguments": {"messages": "yo"}})
    assert theirs["error"] == {"code": -32602, "message": "Unknown tool: achat"}


def test_protocols_mcp_a_call_on_another_users_thread_does_not_touch_it(
    request: pytest.FixtureRequest, proto: ProtocolOwned
) -> None:
    runs_before = proto.runs_of_a()
    values_before = _ok("GET", proto.url, f"/threads/{proto.context_id}/state", A)["values"]
    called = proto.mcp(
        B,
        "tools/call",
        {
            "name": "bchat",
            "arguments": {"messages": "yo"},
            "_meta": {"thread_id": proto.context_id},
        },
    )
    if _is_official(request):
        # The official server ignores _meta.thread_id: the call runs on a temporary thread.
        assert "hello user-b" in called["result"]["content"][0]["text"]
    else:
        assert called["error"]["code"] == -32602, called
        assert "not found" in called["error"]["message"]
    assert proto.runs_of_a() == runs_before
    after = _ok("GET", proto.url, f"/threads/{proto.context_id}/state", A)["values"]
    assert after == values_before


async def _sse_events(
    url: str, thread_id: str, headers: dict[str, str], seconds: float
) -> tuple[int, list[Any]]:
    """(the status, the events) of a thread's protocol event stream read for `seconds` at
    most (Spindle keeps a stream open; the official server may end it)."""
    events: list[Any] = []
    status = 0

    async def read() -> None:
        nonlocal status
        async with httpx.AsyncClient(timeout=60) as http:
            async with http.stream(
                "POST",
                f"{url}/threads/{thread_id}/stream/events",
                headers={**headers, "accept": "text/event-stream"},
                json={"channels": ["values", "lifecycle", "messages"]},
            ) as response:
                status = response.status_code
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        events.append(json.loads(line[5:]))

    try:
        await asyncio.wait_for(read(), seconds)
    except TimeoutError:
        pass
    return status, events


async def test_protocols_thread_stream_of_another_users_thread_shows_nothing(
    proto: ProtocolOwned,
) -> None:
    watching = asyncio.create_task(_sse_events(proto.url, proto.context_id, B, 6))
    await asyncio.sleep(1)
    started = await asyncio.to_thread(
        proto.command,
        A,
        proto.context_id,
        "run.start",
        {"assistant_id": proto.aid, "input": _human("again")},
    )
    assert started["type"] == "success", started
    status, events = await watching
    assert status == 200
    assert events == []
    await asyncio.to_thread(proto.wait_idle)
    # A saw that run: B's stream was not merely too early.
    status, events = await _sse_events(proto.url, proto.context_id, A, seconds=3)
    assert sum(e["method"] == "lifecycle" for e in events) >= 2, events


def test_protocols_commands_on_another_users_thread_change_nothing(proto: ProtocolOwned) -> None:
    proto.wait_idle()
    runs_before = proto.runs_of_a()
    started = proto.command(
        B, proto.context_id, "run.start", {"assistant_id": proto.bid, "input": _human("x")}
    )
    assert started["type"] == "error", started
    assert "not found" in started["message"]
    responded = proto.command(
        B, proto.context_id, "input.respond", {"interrupt_id": "x", "response": 1}
    )
    assert responded["type"] == "error" and responded["error"] == "no_such_run", responded
    assert proto.runs_of_a() == runs_before
    # B's own new thread works, and is B's.
    thread_id = str(uuid.uuid4())
    mine = proto.command(
        B, thread_id, "run.start", {"assistant_id": proto.bid, "input": _human("x")}
    )
    assert mine["type"] == "success", mine
    assert _ok("GET", proto.url, f"/threads/{thread_id}", B)["metadata"]["owner"] == "user-b"
    assert httpx.get(f"{proto.url}/threads/{thread_id}", headers=A, timeout=30).status_code == 404
    # The read-only user may not start a run.
    refused = proto.command(
        C, str(uuid.uuid4()), "run.start", {"assistant_id": proto.bid, "input": _human("x")}
    )
    assert refused["type"] == "error" and "Forbidden" in refused["message"], refused


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mcp"),
        ("GET", "/a2a/{assistant}/.well-known/agent-card.json"),
        ("POST", "/a2a/{assistant}"),
        ("POST", "/threads/{thread}/stream/events"),
        ("POST", "/threads/{thread}/commands"),
    ],
)
def test_protocols_anonymous_requests_are_401(proto: ProtocolOwned, method: str, path: str) -> None:
    path = path.replace("{thread}", proto.context_id).replace("{assistant}", proto.aid)
    response = httpx.request(method, proto.url + path, json={}, timeout=30)
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Invalid or missing token"}


async def _ws_frames(
    url: str,
    thread_id: str,
    headers: dict[str, str],
    commands: list[dict[str, Any]],
    seconds: float,
) -> list[dict[str, Any]]:
    """The frames of a thread's protocol websocket that sends `commands` (a subscription
    first) and listens for `seconds` at most (or until the server closes it)."""
    ws_url = url.replace("http://", "ws://", 1) + f"/threads/{thread_id}/stream/events"
    frames: list[dict[str, Any]] = []

    async def talk() -> None:
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            for number, command in enumerate(commands, start=1):
                await ws.send(json.dumps({"id": number, **command}))
                await asyncio.sleep(0.5)
            async for raw in ws:
                frames.append(json.loads(raw))

    try:
        await asyncio.wait_for(talk(), seconds)
    except (TimeoutError, websockets.ConnectionClosed):
        pass
    return frames


SUBSCRIBE = {"method": "subscription.subscribe", "params": {"channels": ["lifecycle", "values"]}}


async def test_protocols_websocket_serves_each_user_only_its_own_thread(
    proto: ProtocolOwned,
) -> None:
    await asyncio.to_thread(proto.wait_idle)
    runs_before = await asyncio.to_thread(proto.runs_of_a)
    run_b = {
        "method": "run.start",
        "params": {"assistant_id": proto.bid, "input": _human("x")},
    }
    frames_b = await _ws_frames(proto.url, proto.context_id, B, [SUBSCRIBE, run_b], 4)
    assert not [f for f in frames_b if f.get("type") == "event"], frames_b
    assert not [f for f in frames_b if f.get("type") == "success" and "run_id" in f["result"]]
    assert await asyncio.to_thread(proto.runs_of_a) == runs_before
    run_a = {
        "method": "run.start",
        "params": {"assistant_id": proto.aid, "input": _human("over the websocket")},
    }
    frames_a = await _ws_frames(proto.url, proto.context_id, A, [SUBSCRIBE, run_a], 6)
    assert any(
        f.get("method") == "lifecycle" and f["params"]["data"]["event"] == "completed"
        for f in frames_a
    ), frames_a
    await asyncio.to_thread(proto.wait_idle)


async def test_protocols_websocket_refuses_an_anonymous_handshake(proto: ProtocolOwned) -> None:
    ws_url = proto.url.replace("http://", "ws://", 1) + f"/threads/{proto.context_id}/stream/events"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url):
            pass
    assert refused.value.response.status_code in (401, 403)


def _a2a_stream(
    proto: ProtocolOwned, headers: dict[str, str], assistant_id: str, text: str
) -> tuple[int, list[dict[str, Any]]]:
    """(the status, the JSON-RPC messages) of an A2A message/stream, as SSE or as one JSON
    answer (an error before the stream starts)."""
    body = {**_rpc("message/stream", a2a_message(text))}
    response = httpx.post(
        f"{proto.url}/a2a/{assistant_id}",
        headers={**headers, "Accept": "text/event-stream"},
        json=body,
        timeout=60,
    )
    if response.headers["content-type"].startswith("application/json"):
        return response.status_code, [response.json()]
    return response.status_code, [
        json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")
    ]


def test_protocols_a2a_stream_serves_only_the_callers_assistant(proto: ProtocolOwned) -> None:
    status, messages = _a2a_stream(proto, A, proto.aid, "stream to me")
    assert status == 200
    final = messages[-1]["result"]
    assert final["kind"] == "status-update" and final["status"]["state"] == "completed"
    artifacts = [m["result"] for m in messages if m["result"]["kind"] == "artifact-update"]
    assert "hello user-a" in json.dumps(artifacts)
    status, messages = _a2a_stream(proto, B, proto.aid, "stream to a")
    # Officially an SSE stream of the one error; Spindle answers it as JSON before streaming.
    assert status == 200
    assert [m["error"]["code"] for m in messages] == [-32602], messages


async def test_api_keys_the_protocol_websocket_needs_a_key(keys_stack: Stack) -> None:
    ws_url = (
        keys_stack.url.replace("http://", "ws://", 1) + f"/threads/{uuid.uuid4()}/stream/events"
    )
    for headers in ({}, {"x-api-key": "wrong-key"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403
    async with websockets.connect(ws_url, additional_headers={"x-api-key": API_KEY}) as ws:
        await ws.send(json.dumps({"id": 1, **SUBSCRIBE}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert reply["type"] == "success" and reply["id"] == 1
