"""The engine's messages to workers and stream readers: send a run's Celery message, revoke
it, tell a running run's worker to stop, publish a run's end. Services call these after
commit and never import the tasks (the message names the task); tests replace this module's
functions through one fixture (tests/conftest.py: `dispatched`)."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from celery.utils.nodenames import anon_nodename
from django.conf import settings

from config.celery import app
from core.json import dumps
from runs import outbox, streams

logger = logging.getLogger(__name__)

EXECUTE_RUN = "runs.execute_run"
REDIS_TRANSPORT = "config.broker:Transport"


def enqueue(run_id: uuid.UUID, countdown: float | None = None) -> None:
    """Send the run's message (its task id is the run's id, so revoke() finds it)."""
    send: Callable[[], Any]
    if countdown is None and getattr(settings, "CELERY_BROKER_TRANSPORT", None) == REDIS_TRANSPORT:
        send = partial(_push, str(run_id))
    else:
        send = partial(
            app.send_task,
            EXECUTE_RUN,
            args=[str(run_id)],
            task_id=str(run_id),
            countdown=countdown,
            # Celery sends to the queue by name (the anonymous exchange): the message goes
            # into the queue's list whether or not anything declared it (workers declare
            # what they consume), and declaring it on every send cost a tenth of its CPU.
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


def _push(run_id: str) -> None:
    """Put the run's message into the queue with one LPUSH: the message `app.send_task`
    writes there through kombu's Redis transport (task protocol 2, JSON), built here.
    send_task cost five times as much CPU, most of it in kombu's producer pool, its
    retry wrappers and the repr of the arguments (tests/integration/config/test_broker.py
    checks the two messages are the same)."""
    # Celery's default queue, which workers consume: kombu's Redis transport keeps it as a
    # list of that name (priority 0, no key prefix).
    queue = app.conf.task_default_queue
    streams.sync_client().lpush(queue, _message(run_id, queue))


def _message(run_id: str, queue: str) -> bytes:
    body = dumps(
        [[run_id], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    headers: dict[str, Any] = {
        "lang": "py",
        "task": EXECUTE_RUN,
        "id": run_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        # What the worker enforces (the task's limits, Celery's settings), as send_task
        # writes them where the task is registered.
        "timelimit": [app.conf.task_time_limit, app.conf.task_soft_time_limit],
        "root_id": run_id,
        "parent_id": None,
        "argsrepr": repr([run_id]),
        "kwargsrepr": "{}",
        "origin": anon_nodename(),  # Celery's name for a sender that is not a worker
        "ignore_result": None,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    properties = {
        "correlation_id": run_id,
        "reply_to": app.thread_oid,
        "delivery_mode": 2,
        "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": 0,
        "body_encoding": "base64",
        "delivery_tag": str(uuid.uuid4()),
    }
    return dumps(
        {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": properties,
        }
    )
