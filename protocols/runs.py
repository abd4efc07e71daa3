"""Runs that A2A and MCP start: created through the runs services and awaited like a
`runs/wait` (no thread or database connection held while waiting)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from assistants.selectors import assistant_resolve
from core.db.asyncdb import db
from core.errors import ServiceUnavailable
from core.http import validated
from runs.api.serializers import RunCreateInputSerializer
from runs.authorize import run_create_authorize
from runs.waits import run_join_body


def _run_create(thread_id: uuid.UUID | None, body: dict[str, Any]) -> Any:
    from runs.services import run_create

    # Resolved once the handlers answered, as the runs API does: their filter may hide it.
    assistant = assistant_resolve(body["assistant_id"])
    return run_create(
        thread_id=thread_id, assistant=assistant, payload=body, if_not_exists="create"
    )


async def run_start(thread_id: uuid.UUID | None, assistant_id: str, payload: dict[str, Any]) -> Any:
    """Create a run of the assistant (an id, or a graph id) from a protocol's request
    (thread_id None: on a temporary thread; a new thread id creates it), checked as the runs
    API checks a body (InvalidInput if bad) and authorized as POST /threads/{id}/runs is
    (the handlers' create_run and assistant read: Denied, or NotFound for a thread or an
    assistant outside their filters)."""
    if not settings.REDIS_URL:
        raise ServiceUnavailable(
            "Runs need Redis: set REDIS_URL (for example redis://127.0.0.1:6379/0)"
        )
    body = validated(RunCreateInputSerializer, {**payload, "assistant_id": assistant_id})
    await run_create_authorize(thread_id, body)
    return await db(_run_create, thread_id, body)


async def run_output(run: Any) -> dict[str, Any]:
    """Wait for the run's end: the thread's values, or {"__error__": ...} if it failed."""
    return await run_join_body(run.thread_id, run.run_id)


async def run_outcome(run: Any) -> tuple[str | None, dict[str, Any]]:
    """Wait for the run's end: its final status (None once a temporary thread has gone
    with it) and what run_output answers."""
    from runs.selectors import run_status

    output = await run_output(run)
    return await db(run_status, run_id=run.run_id), output
