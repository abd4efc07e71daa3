"""Protocol events made from run stream entries: their seq, the events the server adds,
legacy runs' entries, and the subscription filter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocols.events import (
    FilterError,
    RunEvents,
    entry_seq,
    parse_filter,
    parse_since,
    seq_entry_time_ms,
    wanted,
)
from runs.events import protocol_entry
from runs.streams import END_EVENT, Entry

MS = 1_796_044_061_490


def entry(n: int, event: str, data: Any, ms: int = MS) -> Entry:
    return Entry(id=f"{ms}-{n}", event=event, data=json.dumps(data).encode())


def protocol(
    method: str, data: Any, namespace: list[str] | None = None, **params: Any
) -> dict[str, Any]:
    return {
        "type": "event",
        "method": method,
        "params": {"namespace": namespace or [], "timestamp": MS, "data": data, **params},
    }


def test_seq_orders_like_entry_ids_and_fits_a_javascript_number() -> None:
    ids = [f"{MS}-0", f"{MS}-1", f"{MS}-255", f"{MS + 1}-0", f"{MS + 86_400_000 * 365 * 50}-3"]
    seqs = [entry_seq(i) for i in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[-1] < 2**53
    assert entry_seq(f"{MS}-1", 0) < entry_seq(f"{MS}-1", 1) < entry_seq(f"{MS}-2", 0)
    assert seq_entry_time_ms(entry_seq(f"{MS}-7", 3)) == MS


def test_a_run_starts_running_and_ends_with_its_outcome() -> None:
    run = RunEvents(graph_name="agent")
    started = run.of(entry(0, "metadata", {"run_id": "r"}))
    values = run.of(entry(1, "values", protocol("values", {"messages": []}, interrupts=[])))
    ended = run.of(entry(2, END_EVENT, {"status": "success", "error": None}))
    assert [(e["method"], e["params"]["data"].get("event")) for e in started + ended] == [
        ("lifecycle", "running"),
        ("lifecycle", "completed"),
    ]
    assert started[0]["params"]["data"]["graph_name"] == "agent"
    assert values == [
        {
            "type": "event",
            "event_id": str(entry_seq(f"{MS}-1")),
            "seq": entry_seq(f"{MS}-1"),
            "method": "values",
            "params": {"namespace": [], "timestamp": MS, "data": {"messages": []}},
        }
    ]


def test_an_interrupt_is_requested_once_and_ends_the_run_for_the_client() -> None:
    run = RunEvents(graph_name="g")
    interrupt = [{"value": "approve?", "id": "i1"}]
    first = run.of(entry(3, "values", protocol("values", {"messages": []}, interrupts=interrupt)))
    again = run.of(entry(4, "values", protocol("values", {"messages": []}, interrupts=interrupt)))
    end = run.of(entry(5, END_EVENT, {"status": "success"}))
    assert [e["method"] for e in first] == ["input.requested", "lifecycle", "values"]
    assert first[0]["params"]["data"] == {
        "interrupt_id": "i1",
        "payload": "approve?",
        "value": "approve?",
    }
    assert first[1]["params"]["data"]["event"] == "interrupted"
    assert [e["seq"] for e in first] == [entry_seq(f"{MS}-3", k) for k in range(3)]
    assert [e["method"] for e in again] == ["values"] and end == []


def test_failed_cancelled_and_rolled_back_runs() -> None:
    failed = RunEvents(graph_name="g").of(
        entry(
            0, END_EVENT, {"status": "error", "error": {"error": "ValueError", "message": "boom"}}
        )
    )
    assert failed[0]["params"]["data"] == {"event": "failed", "graph_name": "g", "error": "boom"}
    cancelled = RunEvents(graph_name="g").of(entry(0, END_EVENT, {"status": "interrupted"}))
    assert cancelled[0]["params"]["data"]["event"] == "interrupted"
    assert RunEvents(graph_name="g").of(entry(0, END_EVENT, {"status": "deleted"})) == []


def test_runs_of_the_runs_api_show_their_values_updates_and_custom_events() -> None:
    run = RunEvents(graph_name="g")
    values = run.of(
        entry(0, "values", {"messages": [], "__interrupt__": [{"value": 1, "id": "x"}]})
    )
    assert [e["method"] for e in values] == ["input.requested", "lifecycle", "values"]
    assert values[-1]["params"]["data"] == {"messages": []}
    update = run.of(entry(1, "updates|child:1", {"node_a": {"k": 1}}))
    assert update[0]["params"] == {
        "namespace": ["child:1"],
        "timestamp": MS,
        "data": {"node": "node_a", "values": {"k": 1}},
        "node": "node_a",
    }
    assert run.of(entry(2, "custom", {"progress": 1}))[0]["params"]["data"] == {
        "payload": {"progress": 1}
    }
    assert run.of(entry(3, "messages", [{"content": "x"}, {}])) == []  # not reconstructed


def test_the_filter_matches_channels_namespaces_and_depth() -> None:
    events = [
        {"method": "values", "params": {"namespace": []}, "seq": 1},
        {"method": "messages", "params": {"namespace": ["child:abc"]}, "seq": 2},
        {"method": "messages", "params": {"namespace": ["child:abc", "deep:1"]}, "seq": 3},
        {"method": "input.requested", "params": {"namespace": []}, "seq": 4},
        {"method": "custom", "params": {"namespace": [], "data": {"name": "progress"}}, "seq": 5},
    ]
    seqs = lambda body, since=None: [e["seq"] for e in wanted(events, parse_filter(body), since)]  # noqa: E731
    assert seqs({"channels": ["messages"]}) == [2, 3]
    assert seqs({"channels": ["messages"], "namespaces": [["child"]], "depth": 0}) == [2]
    assert seqs({"channels": ["input", "custom:progress"]}) == [4, 5]
    assert seqs({"channels": ["custom"]}) == [5]
    assert seqs({"channels": ["values", "messages"]}, since=2) == [3]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"channels": []},
        {"channels": ["nope"]},
        {"channels": ["values"], "namespaces": [[1]]},
        {"channels": ["values"], "depth": -1},
        {"channels": ["values"], "depth": True},
    ],
)
def test_a_malformed_filter_is_refused(body: Any) -> None:
    with pytest.raises(FilterError):
        parse_filter(body)


@pytest.mark.parametrize("since", [-1, True, "3", 2**53])
def test_a_malformed_since_is_refused(since: Any) -> None:
    with pytest.raises(FilterError):
        parse_since(since)


def test_the_worker_stores_v3_events_without_seq_and_messages_as_content_blocks() -> None:
    block = {
        "event": "content-block-delta",
        "index": 0,
        "delta": {"type": "text-delta", "text": "Hi"},
    }
    name, envelope = protocol_entry(
        {
            "type": "event",
            "seq": 9,
            "method": "messages",
            "params": {
                "namespace": ["a:1"],
                "timestamp": MS,
                "data": (block, {"langgraph_node": "agent"}),
            },
        }
    )
    assert name == "messages|a:1"
    assert envelope == {
        "type": "event",
        "method": "messages",
        "params": {"namespace": ["a:1"], "timestamp": MS, "data": block, "node": "agent"},
    }
    # A whole message object is the legacy shape: not forwarded.
    assert (
        protocol_entry(
            {
                "type": "event",
                "method": "messages",
                "params": {"namespace": [], "data": ("message", {})},
            }
        )
        is None
    )


def test_subgraph_lifecycle_takes_the_subgraph_namespace_and_the_root_one_is_dropped() -> None:
    started = {"event": "started", "namespace": ["child:1"], "graph_name": "child"}
    name, envelope = protocol_entry(
        {
            "type": "event",
            "method": "lifecycle",
            "params": {"namespace": [], "timestamp": MS, "data": started},
        }
    )
    assert name == "lifecycle|child:1" and envelope["params"]["namespace"] == ["child:1"]
    root = {
        "type": "event",
        "method": "lifecycle",
        "params": {"namespace": [], "timestamp": MS, "data": {"event": "completed"}},
    }
    assert protocol_entry(root) is None
