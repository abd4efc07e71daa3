"""Run services against the real database: strategies, claim order, finish, cancel, delete.

These drive the services directly (no worker); the end-to-end tests race real processes."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction

from assistants.models import Assistant
from core.errors import NotFound, ThreadBusy
from runs import services
from runs.models import Run, RunStatus
from tests.conftest import Dispatched
from tests.factories import default_assistant
from threads.models import Thread, ThreadStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_broker(dispatched: Dispatched) -> list[uuid.UUID]:
    """Record dispatches and skip Redis side effects: these tests look at rows only."""
    return dispatched.enqueued


@pytest.fixture
def assistant() -> Assistant:
    return default_assistant("echo")


def create(thread: Thread, assistant, strategy: str = "enqueue") -> Run:
    return services.run_create(
        thread_id=thread.pk,
        assistant=assistant,
        payload={"input": {"messages": []}, "multitask_strategy": strategy},
    )


def claim(run: Run) -> Run | None:
    return services.run_claim(run_id=run.pk, worker="test")


def test_create_marks_thread_busy_and_dispatches_after_commit(assistant, _no_broker) -> None:
    thread = Thread.objects.create()
    run = create(thread, assistant)
    thread.refresh_from_db()
    assert run.status == RunStatus.PENDING
    assert thread.status == ThreadStatus.BUSY
    assert thread.metadata == {"graph_id": "echo", "assistant_id": str(assistant.pk)}
    assert _no_broker == [run.pk]
    assert run.kwargs["config"]["configurable"]["run_id"] == str(run.pk)


def test_reject_on_busy_thread_writes_nothing(assistant) -> None:
    thread = Thread.objects.create()
    create(thread, assistant)
    with pytest.raises(ThreadBusy):
        create(thread, assistant, "reject")
    assert Run.objects.filter(thread=thread).count() == 1


def test_enqueue_claims_in_creation_order_one_at_a_time(assistant, _no_broker) -> None:
    thread = Thread.objects.create()
    first, second, third = (create(thread, assistant) for _ in range(3))
    assert claim(second) is None, "not the head of the queue"
    assert _no_broker[-1] == first.pk, "the head is dispatched instead"
    assert claim(first) is not None
    sent = len(_no_broker)
    assert claim(second) is None, "one running run per thread"
    assert len(_no_broker) == sent, "nothing is dispatched while a run is running"
    assert services.run_finish(run_id=first.pk, status=RunStatus.SUCCESS, values={"x": 1})
    assert _no_broker[-1] == second.pk, "finishing dispatches the next run"
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.BUSY
    assert claim(third) is None
    assert claim(second) is not None
    assert services.run_finish(run_id=second.pk, status=RunStatus.SUCCESS, values={"x": 2})
    assert claim(third) is not None
    assert services.run_finish(run_id=third.pk, status=RunStatus.SUCCESS, values={"x": 3})
    thread.refresh_from_db()
    assert (thread.status, thread.values) == (ThreadStatus.IDLE, {"x": 3})


def test_claim_is_safe_to_run_twice(assistant) -> None:
    thread = Thread.objects.create()
    run = create(thread, assistant)
    assert claim(run) is not None
    assert claim(run) is None
    assert Run.objects.get(pk=run.pk).attempt == 1


def test_rollback_deletes_active_runs_and_starts_at_once(assistant) -> None:
    thread = Thread.objects.create()
    running = create(thread, assistant)
    claim(running)
    queued = create(thread, assistant)
    new = create(thread, assistant, "rollback")
    assert set(Run.objects.filter(thread=thread).values_list("pk", flat=True)) == {new.pk}
    assert claim(new) is not None
    assert not Run.objects.filter(pk__in=[running.pk, queued.pk]).exists()


def test_interrupt_ends_pending_runs_and_flags_the_running_one(assistant) -> None:
    thread = Thread.objects.create()
    running = create(thread, assistant)
    claim(running)
    queued = create(thread, assistant)
    new = create(thread, assistant, "interrupt")
    assert Run.objects.get(pk=queued.pk).status == RunStatus.INTERRUPTED
    flagged = Run.objects.get(pk=running.pk)
    assert (flagged.status, flagged.cancel_action) == (RunStatus.RUNNING, "interrupt")
    assert services.run_heartbeat(run_id=running.pk) == "interrupt"
    assert claim(new) is None, "waits until the interrupted worker has really stopped"
    services.run_finish(run_id=running.pk, status=RunStatus.INTERRUPTED, update_values=False)
    assert claim(new) is not None


def test_heartbeat_of_a_deleted_run_says_rollback(assistant) -> None:
    thread = Thread.objects.create()
    run = create(thread, assistant)
    claim(run)
    services.run_cancel(thread_id=thread.pk, run_id=run.pk, action="rollback")
    assert services.run_heartbeat(run_id=run.pk) == "rollback"
    assert services.run_finish(run_id=run.pk, status=RunStatus.SUCCESS) is False
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.IDLE


def test_cancel_unknown_and_finished_runs_answer_404(assistant) -> None:
    thread = Thread.objects.create()
    with pytest.raises(NotFound, match="No runs found to cancel."):
        services.run_cancel(thread_id=thread.pk, run_id=uuid.uuid4())
    run = create(thread, assistant)
    claim(run)
    services.run_finish(run_id=run.pk, status=RunStatus.SUCCESS)
    with pytest.raises(NotFound, match="No matching runs to cancel"):
        services.run_cancel(thread_id=thread.pk, run_id=run.pk)


def test_error_outcome_sets_thread_error(assistant) -> None:
    thread = Thread.objects.create()
    run = create(thread, assistant)
    claim(run)
    error = {"error": "ValueError", "message": "boom"}
    services.run_finish(run_id=run.pk, status=RunStatus.ERROR, error=error, update_values=False)
    thread.refresh_from_db()
    assert (thread.status, thread.error) == (ThreadStatus.ERROR, error)


def test_paused_graph_leaves_thread_interrupted(assistant) -> None:
    thread = Thread.objects.create()
    run = create(thread, assistant)
    claim(run)
    services.run_finish(run_id=run.pk, status=RunStatus.SUCCESS, values={}, paused=True)
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.INTERRUPTED


def test_database_allows_one_running_run_per_thread(assistant) -> None:
    thread = Thread.objects.create()
    Run.objects.create(thread=thread, assistant_id=assistant.pk, status=RunStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(thread=thread, assistant_id=assistant.pk, status=RunStatus.RUNNING)


def test_sweeper_ends_runs_with_a_stale_heartbeat(assistant, settings, monkeypatch) -> None:
    from datetime import timedelta

    from django.utils import timezone

    thread = Thread.objects.create()
    lost = create(thread, assistant)
    waiting = create(thread, assistant)
    claim(lost)
    Run.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=3600))
    result = services.runs_sweep()
    assert result["lost"] == 1
    lost.refresh_from_db()
    assert lost.status == RunStatus.ERROR
    assert lost.error == services.WORKER_LOST_ERROR
    assert claim(waiting) is not None, "the thread moves on to its next run"


@pytest.mark.parametrize("strategy", ["enqueue", "reject", "rollback", "interrupt"])
def test_run_metadata_merges_assistant_thread_request_and_graph(assistant, strategy: str) -> None:
    assistant.metadata = {"owner": "assistant", "from_assistant": 1}
    thread = Thread.objects.create(
        metadata={"owner": "thread", "from_thread": 2, "graph_id": "stale"}
    )
    # rollback and interrupt find an active run: the general path stops it first.
    active = create(thread, assistant) if strategy in ("rollback", "interrupt") else None
    run = services.run_create(
        thread_id=thread.pk,
        assistant=assistant,
        payload={
            "input": {},
            "multitask_strategy": strategy,
            "metadata": {"owner": "request", "x": 3},
        },
    )
    expected = {
        "owner": "request",
        "from_assistant": 1,
        "from_thread": 2,
        "x": 3,
        "graph_id": "echo",
        "assistant_id": str(assistant.pk),
    }
    assert run.metadata == expected
    assert Run.objects.get(pk=run.pk).metadata == expected
    thread.refresh_from_db()
    assert thread.metadata == {
        "owner": "thread",
        "from_thread": 2,
        "graph_id": "echo",
        "assistant_id": str(assistant.pk),
    }
    assert thread.status == ThreadStatus.BUSY
    if active is not None:
        assert not Run.objects.filter(pk=active.pk, status__in=["pending", "running"]).exists()


def test_a_run_on_a_missing_thread_is_404_unless_asked_to_create_it(assistant) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFound):
        services.run_create(thread_id=missing, assistant=assistant, payload={"input": {}})
    assert not Run.objects.exists()
    run = services.run_create(
        thread_id=missing, assistant=assistant, payload={"input": {}}, if_not_exists="create"
    )
    assert Thread.objects.get(pk=missing).status == ThreadStatus.BUSY
    assert Run.objects.get(pk=run.pk).thread_id == missing


def test_one_heartbeat_covers_a_process_s_runs_and_names_those_that_must_stop(assistant) -> None:
    going, interrupted, rolled_back, swept = (
        create(Thread.objects.create(), assistant) for _ in range(4)
    )
    for run in (going, interrupted, rolled_back, swept):
        services.run_claim(run_id=run.pk, worker="w@h:1")
    Run.objects.filter(pk=interrupted.pk).update(cancel_action="interrupt")
    services.run_cancel(thread_id=rolled_back.thread_id, run_id=rolled_back.pk, action="rollback")
    services.run_finish(run_id=swept.pk, status=RunStatus.ERROR, update_values=False)
    Run.objects.filter(pk=going.pk).update(heartbeat_at=None)

    stop = services.runs_heartbeat(run_ids=[going.pk, interrupted.pk, rolled_back.pk, swept.pk])

    assert stop == {interrupted.pk: "interrupt", rolled_back.pk: "rollback", swept.pk: "interrupt"}
    assert Run.objects.get(pk=going.pk).heartbeat_at is not None


def test_the_runs_of_a_dead_worker_process_end_as_worker_lost_and_no_others(assistant) -> None:
    thread = Thread.objects.create()
    dead, alive = create(thread, assistant), create(Thread.objects.create(), assistant)
    queued = create(thread, assistant)
    services.run_claim(run_id=dead.pk, worker="w@h:1")
    services.run_claim(run_id=alive.pk, worker="w@h:2")

    assert services.runs_end_for_worker(worker="w@h:1") == 1

    ended = Run.objects.get(pk=dead.pk)
    assert (ended.status, ended.error) == (RunStatus.ERROR, services.WORKER_LOST_ERROR)
    assert Run.objects.get(pk=alive.pk).status == RunStatus.RUNNING
    assert claim(queued) is not None, "the thread moves on"
