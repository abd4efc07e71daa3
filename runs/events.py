"""LangGraph stream chunks and astream_events items as the (event, data) pairs of SSE streams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    BaseMessage,
    BaseMessageChunk,
    convert_to_messages,
    message_chunk_to_message,
)

from core.json import to_jsonable

Pair = tuple[str, Any]

# API stream modes -> the LangGraph stream mode that produces them. "events" has none: it
# comes from astream_events, which carries the other modes' chunks as well.
GRAPH_MODES: dict[str, str] = {
    "values": "values",
    "updates": "updates",
    "messages-tuple": "messages",
    "messages": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}
# Sent whatever stream modes a client asked for.
ALWAYS_SENT = frozenset({"metadata", "error"})
# Tagged by LangChain/LangGraph internals that must not show in the events stream.
HIDDEN_TAG = "langsmith:hidden"


def graph_stream_modes(requested: Iterable[str]) -> list[str]:
    """The LangGraph stream modes to run the graph with for the API modes `requested`."""
    return sorted({GRAPH_MODES[mode] for mode in requested if mode in GRAPH_MODES}) or ["values"]


def event_mode(event: str) -> str | None:
    """The API stream mode an SSE event name belongs to; None for events always sent.

    "messages" is the messages-tuple mode; "messages/partial" and friends the older one.
    Subgraph events ("updates|child:<task_id>") belong to their base mode.
    """
    base = event.split("|", 1)[0]
    if base in ALWAYS_SENT:
        return None
    if base.startswith("messages/"):
        return "messages"
    if base == "messages":
        return "messages-tuple"
    return base


def event_wanted(event: str, modes: Sequence[str] | None) -> bool:
    """Whether a join that asked for `modes` (None: all of the run's) gets `event`."""
    if not modes:
        return True
    mode = event_mode(event)
    return mode is None or mode in modes


def config_to_checkpoint(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """{checkpoint_id, thread_id, checkpoint_ns[, checkpoint_map]} of a checkpoint config."""
    configurable = (config or {}).get("configurable") or {}
    if "thread_id" not in configurable or "checkpoint_id" not in configurable:
        return None
    checkpoint = {
        "checkpoint_id": configurable["checkpoint_id"],
        "thread_id": configurable["thread_id"],
    }
    if "checkpoint_ns" in configurable:
        checkpoint["checkpoint_ns"] = configurable["checkpoint_ns"] or ""
    if "checkpoint_map" in configurable:
        checkpoint["checkpoint_map"] = configurable["checkpoint_map"]
    return checkpoint


def debug_checkpoint(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A debug "checkpoint" payload as the official server sends it: the configs also as
    `checkpoint`/`parent_checkpoint`, and each task's subgraph state as its `checkpoint`."""
    if not payload:
        return payload
    tasks = []
    for task in payload.get("tasks") or []:
        state = task.get("state") if isinstance(task, dict) else None
        if isinstance(state, dict) and state.get("configurable"):
            task = {k: v for k, v in task.items() if k != "state"}
            task["checkpoint"] = state["configurable"]
        tasks.append(task)
    return {
        **payload,
        "checkpoint": config_to_checkpoint(payload.get("config")),
        "parent_checkpoint": config_to_checkpoint(payload.get("parent_config")),
        "tasks": tasks,
    }


class ChunkConverter:
    """Converts one run's stream, in order, for the API stream modes the run asked for.

    Stateful only for the older "messages" mode, which sends each message accumulated so
    far: one converter per run.
    """

    def __init__(self, requested: Sequence[str], *, root_run_id: str | None = None) -> None:
        self.requested = frozenset(requested) or frozenset({"values"})
        self.root_run_id = root_run_id
        self.messages: dict[str, BaseMessage] = {}

    def chunk(self, item: Any, *, subgraphs: bool) -> list[Pair]:
        """One item of `graph.astream(..., stream_mode=[...], subgraphs=...)`."""
        if subgraphs:
            namespace, mode, data = item
        else:
            namespace, (mode, data) = (), item
        return self.convert(tuple(namespace), mode, data)

    def event(self, event: Mapping[str, Any], *, subgraphs: bool) -> list[Pair]:
        """One item of `graph.astream_events(..., version="v2", stream_mode=[...])`.

        The root graph's own on_chain_stream events carry the chunks of the other stream
        modes; every other event is an "events" event.
        """
        if event.get("event") == "on_chain_stream" and self._is_root(event):
            return self.chunk(event["data"]["chunk"], subgraphs=subgraphs)
        if "events" not in self.requested or HIDDEN_TAG in (event.get("tags") or ()):
            return []
        return [("events", to_jsonable(event))]

    def _is_root(self, event: Mapping[str, Any]) -> bool:
        if self.root_run_id is not None:
            return str(event.get("run_id")) == self.root_run_id
        return not event.get("parent_ids")

    def convert(self, namespace: tuple[str, ...], mode: str, chunk: Any) -> list[Pair]:
        """A LangGraph chunk of `mode` as (event, data) pairs, data already plain JSON."""
        suffix = f"|{'|'.join(namespace)}" if namespace else ""
        if mode == "messages":
            pairs: list[Pair] = []
            if "messages-tuple" in self.requested:
                pairs.append((f"messages{suffix}", to_jsonable(list(chunk))))
            if "messages" in self.requested:
                pairs.extend(
                    (f"{name}{suffix}", data) for name, data in self._legacy_messages(chunk)
                )
            return pairs
        if mode not in self.requested:
            return []
        if mode == "debug" and isinstance(chunk, dict) and chunk.get("type") == "checkpoint":
            chunk = {**chunk, "payload": debug_checkpoint(chunk.get("payload"))}
        return [(f"{mode}{suffix}", to_jsonable(chunk))]

    def _legacy_messages(self, chunk: Any) -> list[Pair]:
        """messages/metadata before a new message id, then messages/partial with the
        message accumulated so far (streamed chunks) or messages/complete (a message
        that arrived whole, such as a tool's result)."""
        message, metadata = chunk
        is_chunk = isinstance(message, BaseMessageChunk)
        if isinstance(message, dict):
            kind = str(message.get("type") or message.get("role") or "").lower()
            is_chunk = "chunk" in kind
            message = convert_to_messages([message])[0]
        pairs: list[Pair] = []
        key = message.id or f"__anonymous_{len(self.messages)}"
        previous = self.messages.get(key)
        if previous is None:
            pairs.append(("messages/metadata", {key: {"metadata": to_jsonable(metadata)}}))
            self.messages[key] = message
        elif isinstance(previous, BaseMessageChunk) and isinstance(message, BaseMessageChunk):
            self.messages[key] = previous + message
        else:
            self.messages[key] = message
        whole = message_chunk_to_message(self.messages[key])
        pairs.append(
            ("messages/partial" if is_chunk else "messages/complete", [to_jsonable(whole)])
        )
        return pairs


# --- the thread-stream protocol (v2): native v3 stream events of langgraph -----------

# Set in a run's configurable by the protocol's run.start / input.respond (the official
# server's key): the worker then streams the graph with langgraph's v3 protocol stream.
PROTOCOL_CONFIG_KEY = "__event_streaming_v2"


def protocol_run(config: Mapping[str, Any] | None) -> bool:
    return bool(((config or {}).get("configurable") or {}).get(PROTOCOL_CONFIG_KEY))


def protocol_entry(event: Any) -> Pair | None:
    """One event of `astream_events(version="v3")` as the (entry name, envelope) the run's
    stream stores, or None for one the protocol does not forward.

    The entry is named like the SSE event of its mode ("values", "messages|ns:...") and
    holds the protocol envelope without seq, which readers number. Messages are forwarded
    only as content-block events (a whole message object is the legacy shape), with the
    node that produced them.
    """
    if not isinstance(event, Mapping) or event.get("type") != "event":
        return None
    method = event.get("method")
    params = event.get("params")
    if not isinstance(method, str) or not isinstance(params, Mapping):
        return None
    params = dict(params)
    if method == "messages":
        data = params.get("data")
        if isinstance(data, list | tuple) and len(data) == 2:
            payload, meta = data
        else:
            payload, meta = data, None
        if not (isinstance(payload, Mapping) and isinstance(payload.get("event"), str)):
            return None
        params["data"] = payload
        if isinstance(meta, Mapping) and isinstance(meta.get("langgraph_node"), str):
            params.setdefault("node", meta["langgraph_node"])
    namespace = params.get("namespace") or []
    if method == "lifecycle":
        # langgraph announces subgraphs from the root's scope, naming them in the data;
        # the root's own lifecycle is the server's to tell (it knows how the run ended).
        data = params.get("data")
        inner = data.get("namespace") if isinstance(data, Mapping) else None
        if isinstance(inner, list) and len(inner) > len(namespace):
            namespace = params["namespace"] = list(inner)
        if not namespace:
            return None
    name = method + ("|" + "|".join(namespace) if namespace else "")
    return name, {"type": "event", "method": method, "params": to_jsonable(params)}
