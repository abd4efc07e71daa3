"""Rows for tests, written straight to the database (no service, no broker)."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async

from assistants.graphs import default_assistant_id
from assistants.models import Assistant
from assistants.services import assistant_ensure_defaults
from runs.models import Run, RunStatus
from threads.models import Thread


def make_thread(**fields: Any) -> Thread:
    return Thread.objects.create(**fields)


def make_run(thread: Thread | None = None, *, status: str = RunStatus.SUCCESS, **fields: Any) -> Run:
    """A run of `thread` (a new thread if None) with `status`, of an assistant that need not exist."""
    fields.setdefault("assistant_id", uuid.uuid4())
    if thread is None and "thread_id" not in fields:
        thread = make_thread()
    if thread is not None:
        fields["thread"] = thread
    return Run.objects.create(status=status, **fields)


def default_assistant(graph_id: str = "echo") -> Assistant:
    """The graph's default assistant, created (as `serve` does) if it is not there yet."""
    assistant_ensure_defaults()
    return Assistant.objects.get(pk=default_assistant_id(graph_id))


amake_thread = sync_to_async(make_thread)
amake_run = sync_to_async(make_run)
