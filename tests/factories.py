"""What tests make: rows written straight to the database (no service, no broker), run
inputs, and an SDK client that talks to the app in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from langgraph_sdk.client import LangGraphClient

from assistants.graphs import default_assistant_id
from assistants.models import Assistant
from assistants.services import assistant_ensure_defaults
from runs.models import Run, RunStatus
from threads.models import Thread


def make_thread(**fields: Any) -> Thread:
    return Thread.objects.create(**fields)


def make_run(
    thread: Thread | None = None, *, status: str = RunStatus.SUCCESS, **fields: Any
) -> Run:
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


def human(text: str) -> dict[str, Any]:
    """A run input of one human message."""
    return {"messages": [{"role": "human", "content": text}]}


@asynccontextmanager
async def asgi_sdk() -> AsyncIterator[LangGraphClient]:
    """langgraph_sdk's client against the ASGI app, in this process (no server)."""
    transport = httpx.ASGITransport(app=get_asgi_application())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield LangGraphClient(http)
