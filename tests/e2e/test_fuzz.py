"""Hostile input against a real server: Hypothesis sends generated bodies, query strings,
headers and path ids (NUL characters, lone surrogates, deep nesting, huge integers, long
strings, other content types) to every endpoint family of a private stack (uvicorn, a
Celery worker with beat, its own database and redis-server), over raw HTTP/1.1 so that
nothing is cleaned up on the way. No answer may be a 5xx, and afterwards the server must
still create and complete runs.

SPINDLE_FUZZ_EXAMPLES sets the examples per test (default 150, derandomized, so the suite
runs the same requests each time); `make fuzz` runs a long, random round.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.stack import Stack, private_stack
from tests.e2e.test_multitask_strategies import human

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("SPINDLE_FUZZ_EXAMPLES", "150"))
LONG_RUN = "SPINDLE_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass
class Target:
    """The private stack and real ids for the fuzzer to aim at."""

    stack: Stack = field(repr=False)  # its env holds the machine's environment
    port: int
    thread_id: str
    run_id: str
    assistant_id: str
    checkpoint_id: str


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    with private_stack("fuzz", tmp_path_factory.mktemp("fuzz")) as (stack, _):
        stack.start_web()
        stack.start_worker()
        yield Target(stack, int(stack.url.rsplit(":", 1)[1]), *_real_ids(stack))


def _real_ids(stack: Stack) -> tuple[str, str, str, str]:
    import httpx

    with httpx.Client(base_url=stack.url, timeout=60) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        run = http.post(
            f"/threads/{thread_id}/runs", json={"assistant_id": "echo", "input": human("hi")}
        ).json()
        http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
        assistant_id = http.post("/assistants", json={"graph_id": "echo", "name": "fuzzed"}).json()[
            "assistant_id"
        ]
        checkpoint_id = http.get(f"/threads/{thread_id}/state").json()["checkpoint"][
            "checkpoint_id"
        ]
    return thread_id, run["run_id"], assistant_id, checkpoint_id


# --- sending ------------------------------------------------------------------------


def send(
    port: int, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> int:
    """The status of one raw HTTP/1.1 request (read from the status line only: streams stay open)."""
    head = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
    ]
    head += [name + b": " + value for name, value in headers]
    head.append(b"Content-Length: " + str(len(body)).encode())
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    assert received.startswith(b"HTTP/1.1 "), (
        f"no answer to {method} {target[:200]!r}: {received[:200]!r}"
    )
    return int(received.split(b" ", 2)[1])


def check(
    target: Target, method: str, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    status = send(target.port, method, path, headers, body)
    assert status < 500, (
        f"{status} for {method} {path[:300]!r} body {body[:300]!r} headers {headers!r}"
    )


def encode_text(value: str) -> bytes:
    """A str as a client would put it in a URL: UTF-8, lone surrogates kept as their bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="").encode()


# --- what the fuzzer sends -------------------------------------------------------------

nul_text = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=6), st.text(max_size=6))
surrogate_text = st.builds(
    lambda a, s: a + s,
    st.text(max_size=6),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
)
long_text = st.integers(min_value=257, max_value=120_000).map(lambda n: "x" * n)
hostile_text = st.one_of(st.text(max_size=24), nul_text, surrogate_text, long_text)
huge_int = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) + 1),
)
number = st.one_of(
    st.integers(-5, 2000), huge_int, st.floats(allow_nan=False, allow_infinity=False)
)
leaf = st.one_of(st.none(), st.booleans(), number, hostile_text)
json_value = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
)


def deep_json(depth: int) -> str:
    return (
        '{"a": ' * (depth // 2)
        + "[" * (depth - depth // 2)
        + "1"
        + "]" * (depth - depth // 2)
        + "}" * (depth // 2)
    )


deep = st.integers(min_value=95, max_value=12_000).map(deep_json)

json_object = st.dictionaries(hostile_text, json_value, max_size=4)
RUN_FIELDS = {
    "assistant_id": st.one_of(st.sampled_from(["echo", "agent", "nope"]), hostile_text),
    "input": st.one_of(json_object, json_value),
    "command": st.one_of(json_value, st.fixed_dictionaries({"resume": json_value})),
    "config": st.one_of(json_object, json_value),
    "context": st.one_of(json_object, json_value),
    "metadata": st.one_of(json_object, json_value),
    "checkpoint": json_object,
    "checkpoint_id": st.one_of(hostile_text, number),
    "interrupt_before": st.one_of(json_value, st.just("*")),
    "stream_mode": st.one_of(json_value, st.sampled_from(["values", "updates", "debug"])),
    "stream_resumable": json_value,
    "multitask_strategy": st.one_of(
        st.sampled_from(["reject", "enqueue", "interrupt", "rollback"]), hostile_text
    ),
    "if_not_exists": st.one_of(st.sampled_from(["create", "reject"]), hostile_text),
    "on_disconnect": st.one_of(st.sampled_from(["cancel", "continue"]), hostile_text),
    # Out of range, malformed or short: a valid long delay would hold the fuzzed threads'
    # queues (and every wait request behind it) past the client's timeout.
    "after_seconds": st.one_of(huge_int, hostile_text, st.sampled_from([1e11, -1.0, 0.5, None])),
    "webhook": hostile_text,
    "feedback_keys": json_value,
    "durability": hostile_text,
}
OTHER_FIELDS = [
    "metadata",
    "values",
    "limit",
    "offset",
    "ids",
    "status",
    "sort_by",
    "select",
    "extract",
    "thread_id",
    "if_exists",
    "supersteps",
    "checkpoint",
    "checkpoint_id",
    "as_node",
    "before",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "version",
    "thread_ids",
    "strategy",
    "subgraphs",
    "ttl",
]


@st.composite
def body(draw: st.DrawFn, fields: dict[str, st.SearchStrategy] | None = None) -> bytes:
    """A JSON body: sensible keys with hostile values, one of them perhaps nested deep;
    or something that is not JSON at all."""
    kind = draw(st.sampled_from(["object", "object", "object", "deep", "value", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "value":
        return json.dumps(draw(json_value)).encode()
    names = list(fields) if fields else OTHER_FIELDS
    chosen = draw(st.lists(st.sampled_from(names), max_size=5, unique=True))
    obj = {name: draw(fields[name] if fields else json_value) for name in chosen}
    if fields and draw(st.integers(0, 3)):  # mostly a body that names a real graph
        obj["assistant_id"] = "echo"
    text = json.dumps(obj)
    if kind == "deep":
        name = draw(st.sampled_from(names))
        text = text[:-1] + (", " if obj else "") + json.dumps(name) + ": " + draw(deep) + "}"
    return text.encode()


content_type = st.one_of(
    st.just([(b"Content-Type", b"application/json")]),
    st.sampled_from(
        [
            [],
            [(b"Content-Type", b"text/plain")],
            [(b"Content-Type", b"application/x-www-form-urlencoded")],
        ]
    ),
)

QUERY_NAMES = [
    "limit",
    "offset",
    "status",
    "action",
    "wait",
    "stream_mode",
    "cancel_on_disconnect",
    "subgraphs",
    "xray",
    "recurse",
    "before",
    "delete_threads",
    "version",
    "stream_modes",
]
query_value = st.one_of(
    st.sampled_from(["1", "true", "interrupt", "rollback", "values", "-1"]),
    hostile_text,
    huge_int.map(str),
)
query = st.dictionaries(
    st.one_of(st.sampled_from(QUERY_NAMES), hostile_text), query_value, max_size=4
).map(lambda params: b"&".join(encode_text(k) + b"=" + encode_text(v) for k, v in params.items()))
header_value = st.one_of(
    st.sampled_from(["-1", "0-0", "1732970000000-1", "99999999999999999999-0"]),
    st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"),
        max_size=40,
    ),
    st.integers(min_value=9000, max_value=70_000).map(lambda n: "9" * n),
)

# Every route, with the methods it answers: {t} thread, {r} run, {a} assistant, {c} checkpoint.
ROUTES = {
    "/assistants": ["POST"],
    "/assistants/search": ["POST"],
    "/assistants/count": ["POST"],
    "/assistants/{a}": ["GET", "PATCH", "DELETE"],
    "/assistants/{a}/graph": ["GET"],
    "/assistants/{a}/schemas": ["GET"],
    "/assistants/{a}/subgraphs": ["GET"],
    "/assistants/{a}/subgraphs/{c}": ["GET"],
    "/assistants/{a}/versions": ["POST"],
    "/assistants/{a}/latest": ["POST"],
    "/threads": ["POST"],
    "/threads/search": ["POST"],
    "/threads/count": ["POST"],
    "/threads/prune": ["POST"],
    "/threads/{t}": ["GET", "PATCH", "DELETE"],
    "/threads/{t}/copy": ["POST"],
    "/threads/{t}/state": ["GET", "POST"],
    "/threads/{t}/state/{c}": ["GET", "POST"],
    "/threads/{t}/history": ["GET", "POST"],
    "/threads/{t}/stream": ["GET"],
    "/threads/{t}/runs": ["GET", "POST"],
    "/threads/{t}/runs/wait": ["POST"],
    "/threads/{t}/runs/stream": ["POST"],
    "/threads/{t}/runs/{r}": ["GET", "DELETE"],
    "/threads/{t}/runs/{r}/join": ["GET"],
    "/threads/{t}/runs/{r}/stream": ["GET"],
    "/threads/{t}/runs/{r}/cancel": ["POST"],
    "/runs": ["POST"],
    "/runs/wait": ["POST"],
    "/runs/stream": ["POST"],
    "/runs/{r}/stream": ["GET"],
    "/ok": ["GET"],
    "/info": ["GET"],
}
RUN_CREATING = [
    "/threads/{t}/runs",
    "/threads/{t}/runs/wait",
    "/threads/{t}/runs/stream",
    "/runs",
    "/runs/wait",
    "/runs/stream",
]
path_segment = st.one_of(
    hostile_text.map(encode_text),
    st.binary(min_size=1, max_size=40).map(lambda raw: quote(raw, safe="").encode()),
    st.uuids().map(lambda u: str(u).encode()),
    st.sampled_from([b"echo", b"agent", b"%00", b"%ED%A0%80", b"-1"]),
)


@st.composite
def path(draw: st.DrawFn, target: Target, template: str, *, hostile_ids: bool = True) -> bytes:
    real = {
        "t": target.thread_id,
        "r": target.run_id,
        "a": target.assistant_id,
        "c": target.checkpoint_id,
    }
    out = template.encode()
    for key, value in real.items():
        token = ("{" + key + "}").encode()
        if token in out:
            replacement = (
                draw(path_segment) if hostile_ids and draw(st.booleans()) else value.encode()
            )
            out = out.replace(token, replacement)
    return out


# --- the tests ------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_hostile_run_bodies_never_get_a_5xx(target: Target, data: st.DataObject) -> None:
    template = data.draw(st.sampled_from(RUN_CREATING))
    check(
        target,
        "POST",
        data.draw(path(target, template, hostile_ids=False)),
        data.draw(content_type),
        data.draw(body(RUN_FIELDS)),
    )


@FUZZ
@given(data=st.data())
def test_hostile_bodies_on_every_endpoint_never_get_a_5xx(
    target: Target, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(sorted(ROUTES)))
    method = data.draw(st.sampled_from(ROUTES[template]))
    if method == "DELETE":  # keep the real thread, run and assistant for the other examples
        target_path = data.draw(path(target, template)).replace(
            target.thread_id.encode(), str(uuid.uuid4()).encode()
        )
    else:
        target_path = data.draw(path(target, template, hostile_ids=False))
    check(target, method, target_path, data.draw(content_type), data.draw(body()))


@FUZZ
@given(data=st.data())
def test_hostile_path_ids_and_query_strings_never_get_a_5xx(
    target: Target, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(sorted(ROUTES)))
    method = data.draw(st.sampled_from([m for m in ROUTES[template] if m != "DELETE"] or ["GET"]))
    target_path = data.draw(path(target, template)) + b"?" + data.draw(query)
    check(target, method, target_path, [], b"")


@FUZZ
@given(data=st.data())
def test_hostile_header_values_never_get_a_5xx(target: Target, data: st.DataObject) -> None:
    template = data.draw(
        st.sampled_from(
            [
                "/threads/{t}/stream",
                "/threads/{t}/runs/{r}/stream",
                "/runs/{r}/stream",
                "/threads/{t}",
            ]
        )
    )
    value = data.draw(header_value).encode("latin-1")
    name = data.draw(
        st.sampled_from([b"Last-Event-ID", b"X-Anything", b"Accept", b"Authorization"])
    )
    check(target, "GET", data.draw(path(target, template, hostile_ids=False)), [(name, value)], b"")


def test_after_the_fuzzing_the_server_still_creates_and_completes_runs(target: Target) -> None:
    import httpx

    with httpx.Client(base_url=target.stack.url, timeout=60) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        # More runs than psycopg's prepare threshold, on one thread and on new ones.
        for index in range(8):
            run = http.post(
                f"/threads/{thread_id}/runs",
                json={"assistant_id": "echo", "input": human(f"hi {index}")},
            )
            assert run.status_code == 200, run.text
            joined = http.get(f"/threads/{thread_id}/runs/{run.json()['run_id']}/join")
            assert joined.status_code == 200
            assert joined.json()["messages"][-1]["content"] == f"hi {index}"
        waited = http.post("/runs/wait", json={"assistant_id": "echo", "input": human("stateless")})
        assert waited.status_code == 200 and waited.json()["messages"][-1]["content"] == "stateless"
    assert target.stack.sql(
        "select status, count(*) from runs_run where thread_id = %s group by status", thread_id
    ) == [("success", 8)]
    assert " 500 " not in (target.stack.log_dir / "web.log").read_text()
