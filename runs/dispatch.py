"""The engine's messages to workers and stream readers: send a run's Celery message, revoke
it, tell a running run's worker to stop, publish a run's end. Services call these after
commit and never import the tasks (the message names the task); tests replace this module's
functions through one fixture (tests/conftest.py: `dispatched`)."""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from config.celery import app
from runs import outbox, streams

logger = logging.getLogger(__name__)

EXECUTE_RUN = "runs.execute_run"


def enqueue(run_id: uuid.UUID, countdown: float | None = None) -> None:
    """Send the run's message (its task id is the run's id, so revoke() finds it)."""
    send = partial(
        app.send_task,
        EXECUTE_RUN,
        args=[str(run_id)],
        task_id=str(run_id),
        countdown=countdown,
        # Celery sends to the queue by name (the anonymous exchange): the message goes into
        # the queue's list whether or not anything declared it (workers declare what they
        # consume), and declaring it again on every send copied and bound the queue and
        # its exchange each time, about a tenth of a send's CPU.
        declare=[],
    )
    try:
        send()
    except outbox.UNREACHABLE as exc:
        # Sent again as soon as Redis answers (the sweeper would, but only after
        # SPINDLE_REDISPATCH_AFTER_SECONDS).
        logger.warning("Run %s: dispatch failed (%s); retrying once Redis answers", run_id, exc)
        outbox.outbox().defer(send)


def revoke(run_id: uuid.UUID) -> None:
    try:
        app.control.revoke(str(run_id))
    except Exception as exc:  # the claim compare-and-set still stops a stale message
        logger.warning("Could not revoke run %s: %s", run_id, exc)


def send_cancel(run_id: uuid.UUID, action: str) -> None:
    """Tell the worker executing the run to stop it (interrupt or rollback)."""
    streams.send_cancel(str(run_id), action)


def publish_end(run_id: uuid.UUID, outcome: dict[str, Any]) -> None:
    """End the run's stream for its readers (a run no worker will end)."""
    outbox.publish_end(str(run_id), outcome)
