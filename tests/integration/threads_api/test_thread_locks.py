"""lock_thread() against real concurrent transactions: writers of one thread queue up behind it."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError

from assistants.graphs import get_graph
from core.errors import NotFound
from runs import streams
from runs.models import Run, RunStatus
from runs.services import thread_delete
from tests.factories import make_run
from threads.checkpointer import DjangoSaver
from threads.locks import lock_thread
from threads.models import Checkpoint, Thread
from threads.services import thread_update, thread_update_state

pytestmark = pytest.mark.django_db(transaction=True)

# Concurrent writers need row locks: SQLite's shared in-memory test database answers
# "table is locked" instead of queueing them.
needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `target` on its own thread (so its own database connection); keep its result."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            outcome["finished_at"] = time.monotonic()
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome


def wait_until_queued(waiters: int, timeout: float = 10) -> None:
    """Until `waiters` other sessions of the test database wait on a lock: they queued
    behind the holder. PostgreSQL says so; no guess at how long that takes."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            (queued,) = cursor.fetchone()
            if queued >= waiters:
                return
            assert time.monotonic() < deadline, (
                f"{queued} of {waiters} sessions queued for the lock"
            )
            time.sleep(0.01)


def hold_lock(thread_id: uuid.UUID, locked: threading.Event, release: threading.Event) -> None:
    with transaction.atomic():
        lock_thread(thread_id)
        locked.set()
        release.wait(10)


def test_lock_thread_needs_a_transaction() -> None:
    thread = Thread.objects.create()

    with pytest.raises(TransactionManagementError):
        lock_thread(thread.pk)


def test_lock_thread_of_unknown_thread_is_not_found() -> None:
    thread_id = uuid.uuid4()

    with pytest.raises(NotFound) as error, transaction.atomic():
        lock_thread(thread_id)

    assert error.value.detail == f"Thread with ID {thread_id} not found"


def test_lock_thread_returns_the_row_as_committed() -> None:
    thread = Thread.objects.create(metadata={"a": 1})
    Thread.objects.filter(pk=thread.pk).update(metadata={"a": 2})

    with transaction.atomic():
        locked = lock_thread(str(thread.pk))

    assert locked.metadata == {"a": 2}


@needs_row_locks
@pytest.mark.parametrize(
    "write",
    [
        lambda tid: thread_update(thread_id=tid, metadata={"b": 2}),
        lambda tid: thread_delete(thread_id=tid),
    ],
    ids=["update", "delete"],
)
def test_a_thread_write_waits_for_the_lock_holder(write: Callable[[uuid.UUID], Any]) -> None:
    thread = Thread.objects.create(metadata={"a": 1})
    locked, release = threading.Event(), threading.Event()
    holder, held = in_thread(lambda: hold_lock(thread.pk, locked, release))
    assert locked.wait(10)

    writer, written = in_thread(lambda: write(thread.pk))
    wait_until_queued(1)
    assert "finished_at" not in written  # still queued behind the holder
    released_at = time.monotonic()
    release.set()
    holder.join(10)
    writer.join(10)

    assert "error" not in held and "error" not in written
    assert written["finished_at"] >= released_at


@needs_row_locks
def test_update_state_waits_for_the_lock_and_sees_a_run_created_meanwhile() -> None:
    thread = Thread.objects.create(metadata={"graph_id": "echo"})
    locked, release = threading.Event(), threading.Event()
    holder, _ = in_thread(lambda: hold_lock(thread.pk, locked, release))
    assert locked.wait(10)

    def create_run_under_lock() -> None:
        with transaction.atomic():
            lock_thread(thread.pk)
            make_run(thread_id=thread.pk, status=RunStatus.PENDING)

    # The run is created first (it queued first); the update then sees it and refuses.
    creator, created = in_thread(create_run_under_lock)
    wait_until_queued(1)
    updater, updated = in_thread(
        lambda: thread_update_state(
            thread_id=thread.pk,
            values={"messages": [{"role": "human", "content": "x"}]},
            as_node="echo",
        )
    )
    wait_until_queued(2)
    release.set()
    for worker in (holder, creator, updater):
        worker.join(10)

    assert "error" not in created
    assert updated["error"].status_code == 409
    assert Thread.objects.get(pk=thread.pk).values is None


@needs_row_locks
def test_deleting_a_busy_thread_stops_its_run_and_refuses_its_late_writes(settings: Any) -> None:
    settings.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    thread = Thread.objects.create(metadata={"graph_id": "echo"})
    run = make_run(thread, status=RunStatus.RUNNING)
    graph = get_graph("echo", checkpointer=DjangoSaver(bind_runs=True))
    config = {"configurable": {"thread_id": str(thread.pk), "run_id": str(run.pk)}}
    message = {"messages": [{"role": "human", "content": "hi"}]}
    async_to_sync(graph.ainvoke)(message, config, version="v1")
    assert Checkpoint.objects.filter(thread_id=str(thread.pk)).exists()
    control = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    control.subscribe(streams.control_channel(str(run.pk)))

    thread_delete(thread_id=thread.pk)

    # The run's worker is told to stop, as for any rolled-back run.
    deadline, signal = time.monotonic() + 5, None
    while signal is None and time.monotonic() < deadline:
        signal = control.get_message(timeout=0.5)  # None also for the subscribe confirmation
    control.close()
    assert signal is not None
    assert b"rollback" in signal["data"]
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not Checkpoint.objects.filter(thread_id=str(thread.pk)).exists()
    # The run's worker, still going, cannot write a checkpoint that survives.
    with pytest.raises(IntegrityError):
        async_to_sync(graph.ainvoke)(message, config, version="v1")
    assert not Checkpoint.objects.filter(thread_id=str(thread.pk)).exists()
