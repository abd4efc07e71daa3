"""Commands of the thread-stream protocol (`POST /threads/{id}/commands`, and in-band on
the websocket): run.start and input.respond start runs through the runs services."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from access.handlers import authorize
from core.db.asyncdb import db
from core.errors import SpindleError
from protocols.runs import run_start
from runs.events import PROTOCOL_CONFIG_KEY
from runs.models import MultitaskStrategy
from threads.models import ThreadStatus
from threads.selectors import visible_threads

KNOWN = frozenset(
    {
        "run.start",
        "input.respond",
        "agent.getTree",
        "subscription.subscribe",
        "subscription.unsubscribe",
        "subscription.reconnect",
    }
)
STRATEGIES = frozenset(MultitaskStrategy.values)
# A client sees an interrupt in the run's events just before the worker ends the run and
# records the interrupt on the thread: input.respond waits this long for that.
SETTLE_SECONDS = 5.0


class CommandError(Exception):
    """A protocol error response: `code` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error(command_id: Any, code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "id": command_id if _is_id(command_id) else None,
        "error": code,
        "message": message,
    }


def success(command_id: int, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "success", "id": command_id, "result": result}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_envelope(body: Any) -> tuple[int, str, dict[str, Any]]:
    if (
        not isinstance(body, dict)
        or not _is_id(body.get("id"))
        or not isinstance(body.get("method"), str)
    ):
        raise CommandError("invalid_argument", "A command needs an integer id and a method.")
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CommandError("invalid_argument", "params must be an object.")
    return body["id"], body["method"], params


async def ahandle(thread_id: uuid.UUID, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one HTTP-transport command and return its result; raise CommandError for a
    protocol error. A command reads the thread as GET /threads/{id} does and starts a run
    as POST /threads/{id}/runs does: the auth handlers are asked for both, and a thread
    outside their filters is answered as a missing one."""
    if method not in KNOWN:
        raise CommandError("unknown_command", f"Unknown protocol command: {method}")
    if method == "agent.getTree":
        raise CommandError("not_supported", "agent.getTree is not supported by this server.")
    if method not in ("run.start", "input.respond"):
        raise CommandError(
            "invalid_argument", f"{method} is only available on the websocket transport."
        )
    try:
        await authorize("threads", "read", {"thread_id": thread_id})
        if method == "run.start":
            assistant_id, payload = await db(run_start_payload, thread_id, params)
        else:
            deadline = time.monotonic() + SETTLE_SECONDS
            while await db(_awaiting_interrupts, thread_id) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assistant_id, payload = await db(input_respond_payload, thread_id, params)
        # Resumable, as the official server makes protocol runs: a join may replay them.
        run = await run_start(thread_id, assistant_id, {**payload, "stream_resumable": True})
    except SpindleError as exc:
        if exc.status_code >= 500:
            raise
        raise CommandError("invalid_argument", str(exc.detail)) from exc
    return {"run_id": str(run.run_id)} if method == "run.start" else {}


def _awaiting_interrupts(thread_id: uuid.UUID) -> bool:
    """Whether the thread is busy with no interrupt recorded yet."""
    row = visible_threads().filter(pk=thread_id).values_list("status", "interrupts").first()
    return row is not None and row[0] == ThreadStatus.BUSY and not row[1]


def _optional_object(params: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = params.get(key)
    if value is not None and not isinstance(value, dict):
        raise CommandError("invalid_argument", f"{key} must be an object.")
    return value


def _protocol_config(config: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {})
    configurable = config.get("configurable") or {}
    if not isinstance(configurable, dict):
        raise CommandError("invalid_argument", "config.configurable must be an object.")
    config["configurable"] = {**configurable, PROTOCOL_CONFIG_KEY: True}
    return config


def _pending_interrupt_ids(thread_id: uuid.UUID) -> set[str] | None:
    """Ids of the interrupts the thread waits on; None if the thread does not exist (or the
    caller may not see it)."""
    row = visible_threads().filter(pk=thread_id).values_list("pk", "interrupts").first()
    if row is None:
        return None
    return {
        item["id"]
        for items in (row[1] or {}).values()
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }


def run_start_payload(thread_id: uuid.UUID, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the assistant, the run body) of run.start; with input on a thread waiting on
    interrupts, the run resumes it with that input (as the official server does)."""
    assistant_id = params.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise CommandError("invalid_argument", "run.start requires an assistant_id.")
    config = _protocol_config(_optional_object(params, "config"))
    metadata = _optional_object(params, "metadata")
    strategy = params.get("multitaskStrategy")
    strategy = strategy if strategy in STRATEGIES else MultitaskStrategy.ENQUEUE
    graph_input = params.get("input")
    pending = _pending_interrupt_ids(thread_id) if graph_input is not None else None
    payload: dict[str, Any] = {
        "config": config,
        "metadata": metadata,
        "multitask_strategy": strategy,
    }
    if pending:
        payload["command"] = {"resume": graph_input}
    else:
        payload["input"] = graph_input
    checkpoint_id = (config.get("configurable") or {}).get("checkpoint_id")
    if checkpoint_id is not None:
        try:
            uuid.UUID(str(checkpoint_id))
        except ValueError as exc:
            raise CommandError(
                "invalid_argument", f"Invalid config.configurable.checkpoint_id: {checkpoint_id!r}."
            ) from exc
        payload["checkpoint_id"] = str(checkpoint_id)
    return assistant_id, payload


def _respond_entries(params: dict[str, Any]) -> list[tuple[str, Any]]:
    responses = params.get("responses")
    if responses is None:
        responses = [params]
    if not isinstance(responses, list) or not responses:
        raise CommandError("invalid_argument", "input.respond requires at least one response.")
    entries = []
    for entry in responses:
        if not isinstance(entry, dict) or not isinstance(entry.get("interrupt_id"), str):
            raise CommandError("invalid_argument", "input.respond requires an interrupt_id.")
        namespace = entry.get("namespace", [])
        if not isinstance(namespace, list) or not all(isinstance(s, str) for s in namespace):
            raise CommandError(
                "invalid_argument", "input.respond requires namespace to be a list of strings."
            )
        entries.append((entry["interrupt_id"], entry.get("response")))
    return entries


def input_respond_payload(
    thread_id: uuid.UUID, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """(the assistant, the run body) resuming the thread's interrupted run with the
    responses: a new run of the assistant that ran last on the thread."""
    entries = _respond_entries(params)
    pending = _pending_interrupt_ids(thread_id)
    if pending is None:
        raise CommandError("no_such_run", "No interrupted run is bound to this thread.")
    for interrupt_id, _response in entries:
        if interrupt_id not in pending:
            raise CommandError(
                "no_such_interrupt", f"Unknown or already-consumed interrupt: {interrupt_id}"
            )

    metadata = (
        visible_threads().filter(pk=thread_id).values_list("metadata", flat=True).first() or {}
    )
    assistant_id = metadata.get("assistant_id")
    if not isinstance(assistant_id, str):
        raise CommandError("no_such_run", "No interrupted run is bound to this thread.")
    command: dict[str, Any] = {
        "resume": {interrupt_id: response for interrupt_id, response in entries}
    }
    for key in ("update", "goto"):
        if params.get(key) is not None:
            command[key] = params[key]
    payload = {
        "command": command,
        "config": _protocol_config(_optional_object(params, "config")),
        "metadata": _optional_object(params, "metadata"),
    }
    return assistant_id, payload
