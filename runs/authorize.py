"""The auth handlers' say on runs, asked the same way by the runs API and by the agent
protocols (A2A, MCP and the thread-stream commands start runs too)."""

from __future__ import annotations

import uuid
from typing import Any

from access.context import config_with_caller
from access.handlers import authorize


async def run_create_authorize(thread_id: uuid.UUID | None, payload: dict[str, Any]) -> None:
    """The auth handlers' say on a new run (threads create_run, then reading its assistant),
    before any database work: the metadata they add goes into the run, and the caller into
    its config for the graph. `payload` is a checked run body; it is changed in place."""
    value = {
        "thread_id": thread_id,
        "assistant_id": payload["assistant_id"],
        "run_id": None,
        "status": "pending",
        "metadata": dict(payload.get("metadata") or {}),
        "prevent_insert_if_inflight": payload.get("multitask_strategy") == "reject",
        "multitask_strategy": payload.get("multitask_strategy") or "enqueue",
        "if_not_exists": payload.get("if_not_exists") or "reject",
        "after_seconds": payload.get("after_seconds"),
        "kwargs": {
            key: payload.get(key)
            for key in ("input", "command", "config", "context", "stream_mode")
        },
    }
    await authorize("threads", "create_run", value)
    payload["metadata"] = value["metadata"]
    await authorize("assistants", "read", {"assistant_id": payload["assistant_id"]})
    config = config_with_caller(payload.get("config"))
    if config is not None:
        payload["config"] = config


async def run_authorize(thread_id: uuid.UUID | None, run_id: uuid.UUID | None, action: str) -> None:
    """The auth handler's say on an existing run: its filter then applies to the run's thread."""
    await authorize("threads", action, {"thread_id": thread_id, "run_id": run_id})
