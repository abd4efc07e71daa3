"""Protocol events of the thread-stream protocol, made from the entries of runs' Redis
streams: their numbering (seq), the events the server adds (lifecycle, input.requested),
and the subscription filter."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runs import streams

# seq is a number a JavaScript client holds exactly (below 2**53) that orders events like
# their Redis entry ids: (milliseconds since EPOCH_MS, the entry's sequence within that
# millisecond, the event's place among those made from the entry). So every reader of a
# thread numbers its events alike, and `since` points back into the Redis streams.
EPOCH_MS = 1_700_000_000_000
ENTRY_BITS = 8  # up to 256 entries of one run's stream in one millisecond
PART_BITS = 4  # up to 16 protocol events made from one entry
MAX_SEQ = 2**53 - 1
# The protocol's channels, in its order; `checkpoints`, which it has dropped, is still taken.
PROTOCOL_CHANNELS = (
    "values",
    "updates",
    "messages",
    "tools",
    "lifecycle",
    "input",
    "tasks",
    "custom",
)
CHANNELS = frozenset({*PROTOCOL_CHANNELS, "checkpoints"})
# Legacy stream modes of runs started through the runs API, as protocol methods.
LEGACY_METHODS = frozenset({"values", "updates", "custom", "tasks", "checkpoints"})

Event = dict[str, Any]


def entry_seq(entry_id: str, part: int = 0) -> int:
    ms, _, n = entry_id.partition("-")
    index = min(int(n or 0), (1 << ENTRY_BITS) - 1)
    return ((((int(ms) - EPOCH_MS) << ENTRY_BITS) | index) << PART_BITS) | min(
        part, (1 << PART_BITS) - 1
    )


def seq_entry_time_ms(seq: int) -> int:
    """The Redis time (ms) of the entry an event numbered `seq` was made from."""
    return (seq >> (ENTRY_BITS + PART_BITS)) + EPOCH_MS


def channel_of(event: Event) -> str | None:
    method = event.get("method")
    if method == "input.requested":
        return "input"
    if method == "custom":
        data = event["params"].get("data")
        name = data.get("name") if isinstance(data, dict) else None
        return f"custom:{name}" if name else "custom"
    return method if method in CHANNELS else None


@dataclass(frozen=True)
class Filter:
    """A subscription: channels, namespace prefixes and depth, as the SDK matches them."""

    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None

    def matches(self, event: Event) -> bool:
        channel = channel_of(event)
        if channel is None:
            return False
        if channel not in self.channels and not (
            channel.startswith("custom:") and "custom" in self.channels
        ):
            return False
        if self.namespaces is None:
            return True
        namespace = event["params"].get("namespace") or []
        return any(
            _is_prefix(namespace, prefix)
            and (self.depth is None or len(namespace) - len(prefix) <= self.depth)
            for prefix in self.namespaces
        )


def _is_prefix(namespace: Sequence[str], prefix: Sequence[str]) -> bool:
    """Segments match literally, or (a prefix segment without ":") without the task id."""
    if len(prefix) > len(namespace):
        return False
    return all(
        candidate == segment or (":" not in segment and candidate.split(":", 1)[0] == segment)
        for segment, candidate in zip(prefix, namespace, strict=False)
    )


class FilterError(ValueError):
    """A malformed subscription (channels, namespaces or depth)."""


def parse_filter(params: Any) -> Filter:
    if not isinstance(params, dict):
        raise FilterError("The body must be a JSON object.")
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels:
        raise FilterError("channels must be a non-empty array of channel names.")
    for channel in channels:
        if not isinstance(channel, str) or not (
            channel in CHANNELS or (channel.startswith("custom:") and len(channel) > 7)
        ):
            raise FilterError(f"Unsupported channel: {json.dumps(channel)[:80]}.")
    namespaces = params.get("namespaces")
    if namespaces is not None and not (
        isinstance(namespaces, list)
        and all(isinstance(ns, list) and all(isinstance(s, str) for s in ns) for ns in namespaces)
    ):
        raise FilterError("namespaces must be an array of arrays of strings.")
    depth = params.get("depth")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
        raise FilterError("depth must be a non-negative integer.")
    return Filter(
        channels=frozenset(channels),
        namespaces=tuple(tuple(ns) for ns in namespaces) if namespaces is not None else None,
        depth=depth,
    )


def parse_since(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_SEQ:
        raise FilterError("since must be a non-negative integer (an event's seq).")
    return value


def _event(method: str, params: dict[str, Any], seq: int) -> Event:
    return {"type": "event", "event_id": str(seq), "seq": seq, "method": method, "params": params}


def _input_requests(interrupts: Any) -> list[dict[str, Any]]:
    requests = []
    for entry in interrupts if isinstance(interrupts, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            request: dict[str, Any] = {"interrupt_id": entry["id"]}
            if "value" in entry:
                # The protocol names it payload; langgraph_sdk's thread.interrupts reads value.
                request["payload"] = entry["value"]
                request["value"] = entry["value"]
            requests.append(request)
    return requests


def _namespace_of(entry_name: str) -> list[str]:
    _, *namespace = entry_name.split("|")
    return namespace


@dataclass
class RunEvents:
    """Turns one run's stream entries into protocol events, in order."""

    graph_name: str
    interrupts_seen: set[str] = field(default_factory=set)
    ended: bool = False

    def lifecycle(self, status: str, seq: int, timestamp: int, error: str | None = None) -> Event:
        data: dict[str, Any] = {"event": status, "graph_name": self.graph_name}
        if error:
            data["error"] = error
        return _event("lifecycle", {"namespace": [], "timestamp": timestamp, "data": data}, seq)

    def of(self, entry: streams.Entry) -> list[Event]:
        timestamp = int(entry.id.split("-", 1)[0])
        if entry.event == "metadata":
            return [self.lifecycle("running", entry_seq(entry.id), timestamp)]
        if entry.is_end:
            return self._end(entry, timestamp)
        try:
            data = json.loads(entry.data)
        except ValueError:
            return []
        if (
            isinstance(data, dict)
            and data.get("type") == "event"
            and isinstance(data.get("params"), dict)
        ):
            method, params = data.get("method"), data["params"]
        else:
            method = entry.event.split("|", 1)[0]
            if method not in LEGACY_METHODS:
                return []
            params = {"namespace": _namespace_of(entry.event), "timestamp": timestamp, "data": data}
            if method == "custom":
                params["data"] = {"payload": data}
            elif method == "updates" and isinstance(data, dict) and len(data) == 1:
                ((node, values),) = data.items()
                if node == "__interrupt__":
                    params["interrupts"] = values
                    params["data"] = None
                else:
                    params.update(node=node, data={"node": node, "values": values})
        if not isinstance(method, str):
            return []
        out: list[Event] = []
        part = 0
        if method in ("values", "updates"):
            interrupts = params.pop("interrupts", None) or []
            values = params.get("data")
            if isinstance(values, dict) and "__interrupt__" in values:
                interrupts = [*interrupts, *(values.get("__interrupt__") or [])]
                params["data"] = {k: v for k, v in values.items() if k != "__interrupt__"}
            fresh = [
                r
                for r in _input_requests(interrupts)
                if r["interrupt_id"] not in self.interrupts_seen
            ]
            for request in fresh:
                self.interrupts_seen.add(request["interrupt_id"])
                params_in = {
                    "namespace": params.get("namespace") or [],
                    "timestamp": timestamp,
                    "data": request,
                }
                out.append(_event("input.requested", params_in, entry_seq(entry.id, part)))
                part += 1
            if fresh and not self.ended:
                # An interrupt ends the root's run for the client at once (as on the
                # official server), before the run's own end arrives.
                self.ended = True
                out.append(self.lifecycle("interrupted", entry_seq(entry.id, part), timestamp))
                part += 1
            if method == "updates" and params.get("data") is None:
                return out
        out.append(_event(method, params, entry_seq(entry.id, part)))
        return out

    def _end(self, entry: streams.Entry, timestamp: int) -> list[Event]:
        if self.ended:
            return []
        self.ended = True
        try:
            outcome = json.loads(entry.data)
        except ValueError:
            outcome = {}
        status = outcome.get("status") if isinstance(outcome, dict) else None
        seq = entry_seq(entry.id)
        if status == "success":
            return [self.lifecycle("completed", seq, timestamp)]
        if status in ("error", "timeout"):
            error = outcome.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else None
            return [self.lifecycle("failed", seq, timestamp, error=message or status)]
        if status == "interrupted":
            return [self.lifecycle("interrupted", seq, timestamp)]
        return []  # rolled back: the run and its events are gone from the thread


def wanted(events: Iterable[Event], subscription: Filter, since: int | None) -> list[Event]:
    return [e for e in events if (since is None or e["seq"] > since) and subscription.matches(e)]
