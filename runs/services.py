"""Every state change of a run: create (with the multitask strategies), claim, finish,
cancel, delete and the sweeper. The only module here that opens transactions or enqueues."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.context import current_caller
from access.filters import caller_q
from assistants.graphs import get_graph
from core.db.sql import db_datetime, db_json, db_uuid, from_db_json, from_db_uuid, run_statements
from core.errors import NotFound, ThreadBusy
from core.ids import uuid7
from runs import dispatch
from runs.models import ACTIVE_STATUSES, CancelAction, MultitaskStrategy, Run, RunStatus
from runs.selectors import run_to_start
from runs.signals import run_ended
from runs.statements import (
    ACTIVE_RUNS_OF_THREAD,
    ENDED_RUN,
    LOCK_THREAD,
    LOCK_THREAD_OF_PENDING_RUN,
    LOCK_THREAD_OF_RUN,
    MARK_THREAD_BUSY,
    QUEUE_ORDER,
    RUNS,
    THREADS,
    active_on,
    head_of,
    insert_run,
    insert_run_params,
    running_on,
)
from threads.checkpointer import DjangoSaver
from threads.counts import DeletedCounts, add_counts, deleted_counts
from threads.locks import lock_thread
from threads.models import Checkpoint, CheckpointWrite, Thread, ThreadStatus
from threads.selectors import thread_check_access
from threads.services import thread_sync_state

logger = logging.getLogger(__name__)

RUN_NOT_FOUND_OUTCOME = {"status": "deleted"}
# A delayed run's message may arrive this much before its due time (the countdown is
# timed by the worker's clock and timer) and still start it.
DUE_LEEWAY = timedelta(seconds=1)
NO_RUNS_TO_CANCEL = "No runs found to cancel."
NO_MATCHING_RUNS_TO_CANCEL = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)
WORKER_LOST_ERROR = {
    "error": "WorkerLost",
    "message": "The worker executing this run stopped responding (killed or crashed).",
}


# --- dispatch ---------------------------------------------------------------------


def _after_commit(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
    """Call fn(*args, **kwargs) once the transaction commits (at once outside one). A
    failure is logged, never raised: the rows are committed and the request succeeded, and
    the sweeper makes up for what a side effect missed (a run whose dispatch failed, Redis
    down, is dispatched again once SPINDLE_REDISPATCH_AFTER_SECONDS have passed). Not
    Django's robust=True: its log line reads fn.__qualname__, which a partial lacks."""

    def call() -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            logger.warning("After commit, %s%s failed: %s", getattr(fn, "__name__", fn), args, exc)

    transaction.on_commit(call)


def _after_stop(run_id: uuid.UUID, action: str, *, was_running: bool, deleted: bool) -> None:
    """Side effects of stopping a run, run after commit."""
    dispatch.revoke(run_id)
    if was_running:
        dispatch.send_cancel(run_id, action)
    elif deleted or action == CancelAction.INTERRUPT:
        # A pending run never reaches a worker, so nobody else ends its stream.
        dispatch.publish_end(
            run_id, RUN_NOT_FOUND_OUTCOME if deleted else {"status": RunStatus.INTERRUPTED}
        )
        if not deleted:
            _announce_end(run_id, RunStatus.INTERRUPTED, None, None)


# --- create -----------------------------------------------------------------------


def run_create(
    *,
    thread_id: uuid.UUID | None,
    assistant: Any,
    payload: dict[str, Any],
    if_not_exists: str = "reject",
) -> Run:
    """Create a run on a thread (or, with thread_id None, on a new temporary thread).

    The multitask strategy is applied under the thread's lock, so two requests on
    one thread never interleave; the Celery message is sent after commit.
    """
    strategy = payload.get("multitask_strategy") or MultitaskStrategy.ENQUEUE
    if thread_id is not None:
        # A thread the caller's auth filter hides answers as a missing one; checked before
        # the thread's lock, which the one-round-trip insert below takes by id alone.
        thread_check_access(thread_id, detail="Thread or assistant not found.")
    if thread_id is not None and connection.vendor == "postgresql":
        run = _run_create_at_once(thread_id, assistant, payload, strategy)
        if run is not None:
            return run
    temporary = thread_id is None
    with transaction.atomic(), connection.cursor() as cursor:
        if temporary:
            thread = Thread.objects.create(metadata=_new_thread_metadata(payload))
        else:
            assert thread_id is not None  # `temporary` is False
            thread = _lock_or_create_thread(
                thread_id, if_not_exists=if_not_exists, metadata=_new_thread_metadata(payload)
            )
        active = _active_runs(cursor, db_uuid(thread.pk))
        if active:
            if strategy == MultitaskStrategy.REJECT:
                raise ThreadBusy()
            if strategy in (MultitaskStrategy.ROLLBACK, MultitaskStrategy.INTERRUPT):
                action = (
                    CancelAction.ROLLBACK
                    if strategy == MultitaskStrategy.ROLLBACK
                    else CancelAction.INTERRUPT
                )
                _stop_runs(
                    [Run(run_id=from_db_uuid(pk), status=status) for pk, status in active], action
                )

        run = _new_run(thread.pk, assistant, strategy)
        run.kwargs = _run_kwargs(run, thread, assistant, payload, temporary=temporary)
        run.due_at = _due_at(run.created_at, payload)
        inserted, _thread = run_statements(_insert_run(run, assistant, payload, when_idle=False))
        run.metadata = from_db_json(inserted[0][0])
        _after_commit(dispatch.enqueue, run.pk, payload.get("after_seconds") or None)
    return run


def _insert_run(
    run: Run, assistant: Any, payload: dict[str, Any], *, when_idle: bool
) -> list[tuple[str, list[Any]]]:
    """The statements that insert the run and mark its thread busy (for run_statements),
    the same on both paths of run_create."""
    graph_meta = _graph_meta(assistant)
    tid, rid, now = db_uuid(run.thread_id), db_uuid(run.run_id), db_datetime(run.created_at)
    params = insert_run_params(
        run_id=rid,
        assistant_id=db_uuid(run.assistant_id),
        status=run.status,
        strategy=run.multitask_strategy,
        assistant_metadata=db_json(assistant.metadata or {}),
        request_metadata=db_json({**(payload.get("metadata") or {}), **graph_meta}),
        kwargs=db_json(run.kwargs),
        now=now,
        due_at=run.due_at and db_datetime(run.due_at),
        thread_id=tid,
    )
    return [
        (insert_run(when_idle=when_idle), params),
        (MARK_THREAD_BUSY, [db_json(graph_meta), ThreadStatus.BUSY, now, tid, rid]),
    ]


def _run_create_at_once(
    thread_id: uuid.UUID, assistant: Any, payload: dict[str, Any], strategy: str
) -> Run | None:
    """The common case of run_create in one round trip (PostgreSQL): lock the thread,
    insert the run (with every strategy but enqueue only if no run is active) and mark
    the thread busy. None when run_create's general path must decide: the thread does
    not exist, or active runs must be rolled back or interrupted first."""
    run = _new_run(thread_id, assistant, strategy)
    run.kwargs = _run_kwargs(run, Thread(thread_id=thread_id), assistant, payload, temporary=False)
    run.due_at = _due_at(run.created_at, payload)
    found, inserted, _thread = run_statements(
        [
            (LOCK_THREAD, [db_uuid(thread_id)]),
            *_insert_run(run, assistant, payload, when_idle=strategy != MultitaskStrategy.ENQUEUE),
        ]
    )
    if not inserted:
        if found and strategy == MultitaskStrategy.REJECT:
            raise ThreadBusy()
        return None
    run.metadata = from_db_json(inserted[0][0])
    _after_commit(dispatch.enqueue, run.pk, payload.get("after_seconds") or None)
    return run


def _due_at(now: datetime, payload: dict[str, Any]) -> datetime | None:
    """When a run created now with this payload may start: None for at once."""
    delay = payload.get("after_seconds")
    return now + timedelta(seconds=delay) if delay else None


def _new_run(thread_id: uuid.UUID, assistant: Any, strategy: str) -> Run:
    now = timezone.now()
    return Run(
        run_id=uuid7(),
        thread_id=thread_id,
        assistant_id=assistant.assistant_id,
        status=RunStatus.PENDING,
        multitask_strategy=strategy,
        created_at=now,
        updated_at=now,
    )


def _graph_meta(assistant: Any) -> dict[str, str]:
    """What a run adds to its thread's metadata (and its own)."""
    return {"graph_id": assistant.graph_id, "assistant_id": str(assistant.assistant_id)}


def _new_thread_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a thread a run creates: with custom auth, the run's (which carries
    what the auth handler added, its owner say), as officially; otherwise none."""
    return dict(payload.get("metadata") or {}) if current_caller() is not None else {}


def _lock_or_create_thread(
    thread_id: uuid.UUID, *, if_not_exists: str, metadata: dict[str, Any]
) -> Thread:
    """Lock the thread's row (reading only its id: the run's statements read the rest),
    creating it if asked. A thread the caller's auth filter hides is not found."""
    for attempt in range(2):
        try:
            return lock_thread(thread_id, fields=("thread_id",))
        except NotFound:
            if attempt or if_not_exists != "create":
                break
        Thread.objects.get_or_create(pk=thread_id, defaults={"metadata": metadata})
    raise NotFound("Thread or assistant not found.")


def _run_kwargs(
    run: Run, thread: Thread, assistant: Any, payload: dict[str, Any], *, temporary: bool
) -> dict[str, Any]:
    request_config = payload.get("config") or {}
    assistant_config = assistant.config or {}
    configurable = {
        **(assistant_config.get("configurable") or {}),
        **(request_config.get("configurable") or {}),
        "run_id": str(run.run_id),
        "thread_id": str(thread.pk),
        "graph_id": assistant.graph_id,
        "assistant_id": str(assistant.assistant_id),
    }
    if payload.get("checkpoint_id"):
        configurable["checkpoint_id"] = payload["checkpoint_id"]
    checkpoint = payload.get("checkpoint") or {}
    for key in ("checkpoint_id", "checkpoint_ns"):
        if checkpoint.get(key):
            configurable[key] = checkpoint[key]
    config = {**assistant_config, **request_config, "configurable": configurable}
    context = {**(assistant.context or {}), **(payload.get("context") or {})}
    stream_mode = payload.get("stream_mode") or ["values"]
    if isinstance(stream_mode, str):
        stream_mode = [stream_mode]
    return {
        "input": payload.get("input"),
        "command": payload.get("command"),
        "config": config,
        "context": context,
        "stream_mode": stream_mode,
        "interrupt_before": payload.get("interrupt_before"),
        "interrupt_after": payload.get("interrupt_after"),
        "webhook": payload.get("webhook"),
        "feedback_keys": payload.get("feedback_keys"),
        "temporary": temporary,
        "subgraphs": bool(payload.get("stream_subgraphs")),
        "resumable": bool(payload.get("stream_resumable")),
        "checkpoint_during": bool(payload.get("checkpoint_during")),
        "durability": payload.get("durability") or "async",
        "on_completion": payload.get("on_completion") or ("delete" if temporary else "keep"),
        "on_disconnect": payload.get("on_disconnect") or "continue",
    }


# --- stop (interrupt / rollback) ---------------------------------------------------


def _stop_runs(runs: list[Run], action: str) -> DeletedCounts:
    """Stop active runs of one locked thread; side effects run after commit.

    rollback deletes the runs with every checkpoint and write they produced, so a
    worker still executing one can never write a checkpoint that survives (its run
    row is gone and the database refuses the foreign key). interrupt ends pending
    runs at once and flags a running one; its worker ends it once it has stopped.
    Returns what a rollback deleted.
    """
    if not runs:
        return deleted_counts()
    if action == CancelAction.ROLLBACK:
        deleted = _delete_runs([r.pk for r in runs])
        for run in runs:
            _after_commit(
                _after_stop,
                run.pk,
                action,
                was_running=run.status == RunStatus.RUNNING,
                deleted=True,
            )
        return deleted
    now = timezone.now()
    for run in runs:
        if run.status == RunStatus.PENDING:
            Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
                status=RunStatus.INTERRUPTED, ended_at=now, cancel_action=action, updated_at=now
            )
            _after_commit(_after_stop, run.pk, action, was_running=False, deleted=False)
        else:
            Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                cancel_action=action, updated_at=now
            )
            _after_commit(_after_stop, run.pk, action, was_running=True, deleted=False)
    return deleted_counts()


def _delete_runs(run_ids: list[uuid.UUID]) -> DeletedCounts:
    _, cascaded = Run.objects.filter(pk__in=run_ids).delete()
    # Django's collector deletes children before the parent: a checkpoint a worker
    # committed in between would survive. With the run rows now deleted (and locked
    # until commit), no new child can commit, so one more pass catches the rest.
    unbound = DjangoSaver().delete_for_runs([str(r) for r in run_ids])
    return deleted_counts(cascaded, unbound)


def _settle_thread(thread: Thread, *, outcome: str | None = None) -> None:
    """Set the locked thread's status from its runs: busy exactly while one is active."""
    with connection.cursor() as cursor:
        active = _active_runs(cursor, db_uuid(thread.pk))
    thread.status = _thread_status(thread.status, active, outcome=outcome)
    thread.save(update_fields=["status", "updated_at"])


def _thread_status(
    current: str, active: list[tuple[Any, str]], *, outcome: str | None = None, paused: bool = False
) -> str:
    """A thread's status from its active runs and how the last one ended.

    `paused`: the graph stopped before its end (interrupt() or interrupt_before/after).
    """
    if active:
        return ThreadStatus.BUSY
    if outcome == RunStatus.ERROR:
        return ThreadStatus.ERROR
    if outcome == RunStatus.INTERRUPTED or paused:
        return ThreadStatus.INTERRUPTED
    if outcome is not None or current == ThreadStatus.BUSY:
        return ThreadStatus.IDLE
    return current


def run_cancel(
    *, thread_id: uuid.UUID, run_id: uuid.UUID, action: str = CancelAction.INTERRUPT
) -> Run:
    """Cancel one run of a thread (interrupt or rollback). Returns the run as it was."""
    with transaction.atomic():
        thread = lock_thread(thread_id)
        run = Run.objects.filter(pk=run_id, thread_id=thread.pk).first()
        if run is None:
            raise NotFound(NO_RUNS_TO_CANCEL)
        if run.status not in ACTIVE_STATUSES:
            raise NotFound(NO_MATCHING_RUNS_TO_CANCEL)
        _cancel_locked(thread, [run], action)
    return run


def runs_cancel_many(
    *,
    action: str = CancelAction.INTERRUPT,
    thread_id: uuid.UUID | None = None,
    run_ids: list[uuid.UUID] | None = None,
    status: str | None = None,
    assistant_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Cancel several runs: `run_ids` of one thread, every active run with `status`
    ("pending", "running" or "all"), or every active run of an assistant.

    Each thread's runs are stopped as run_cancel stops one, under that thread's lock, one
    thread per transaction (so the lock order stays one thread at a time). Returns the ids
    of the runs stopped. Nothing selected is NotFound, except for an assistant, whose
    runs may all have ended already.
    """
    candidates = Run.objects.filter(caller_q("threads", "thread__metadata"))
    if assistant_id is not None:
        candidates = candidates.filter(assistant_id=assistant_id, status__in=ACTIVE_STATUSES)
    elif status is not None:
        wanted = ACTIVE_STATUSES if status == "all" else (status,)
        candidates = candidates.filter(status__in=wanted)
    else:
        candidates = candidates.filter(thread_id=thread_id, pk__in=run_ids or [])  # type: ignore[misc]  # the view requires thread_id with run_ids
    by_thread: dict[uuid.UUID, list[uuid.UUID]] = {}
    for run_id, run_thread_id in candidates.order_by(*QUEUE_ORDER).values_list("pk", "thread_id"):
        by_thread.setdefault(run_thread_id, []).append(run_id)
    if not by_thread:
        if assistant_id is not None:
            return []
        raise NotFound(NO_RUNS_TO_CANCEL)
    stopped: list[uuid.UUID] = []
    for run_thread_id, ids in by_thread.items():
        with transaction.atomic():
            try:
                thread = lock_thread(run_thread_id)
            except NotFound:
                continue  # deleted meanwhile, with its runs
            # Re-read under the lock: a run may have ended since it was selected.
            runs = list(
                Run.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).order_by(*QUEUE_ORDER)
            )
            if status in ("pending", "running"):
                runs = [r for r in runs if r.status == status]
            if runs:
                _cancel_locked(thread, runs, action)
                stopped.extend(r.pk for r in runs)
    if not stopped and assistant_id is None:
        raise NotFound(NO_MATCHING_RUNS_TO_CANCEL)
    return stopped


def _cancel_locked(thread: Thread, runs: list[Run], action: str) -> None:
    """Stop active runs of one locked thread and move the thread on: what every cancel does."""
    _stop_runs(runs, action)
    _settle_thread(
        thread, outcome=RunStatus.INTERRUPTED if action == CancelAction.INTERRUPT else None
    )
    if action == CancelAction.ROLLBACK:
        _after_commit(_resync_thread_values, thread.pk)
    _after_commit(_dispatch_head, thread.pk)


def run_delete(*, thread_id: uuid.UUID, run_id: uuid.UUID) -> DeletedCounts:
    """Delete a run with its checkpoints; an active run is rolled back, never left running.
    Returns what was deleted."""
    with transaction.atomic():
        thread = lock_thread(thread_id)
        run = Run.objects.filter(pk=run_id, thread_id=thread.pk).first()
        if run is None:
            raise NotFound("Run not found")
        deleted = _delete_locked(thread, [run])
    return deleted


def runs_purge(*, run_ids: Sequence[uuid.UUID]) -> DeletedCounts:
    """Delete a batch of runs (any threads) with their checkpoints, in one transaction.

    Active runs are rolled back, as by run_delete. The threads are locked in id order
    (two purges over the same threads never deadlock), then each thread's runs go
    together. Ids of runs already gone are skipped: the counts say what was deleted.
    """
    with transaction.atomic():
        by_thread: dict[uuid.UUID, list[uuid.UUID]] = {}
        for run_id, thread_id in Run.objects.filter(pk__in=list(run_ids)).values_list(
            "pk", "thread_id"
        ):
            by_thread.setdefault(thread_id, []).append(run_id)
        deleted = deleted_counts()
        for thread_id in sorted(by_thread):
            try:
                thread = lock_thread(thread_id)
            except NotFound:
                continue  # deleted with its runs meanwhile
            runs = list(Run.objects.filter(pk__in=by_thread[thread_id], thread_id=thread.pk))
            if runs:
                deleted = add_counts(deleted, _delete_locked(thread, runs))
    return deleted


def _delete_locked(thread: Thread, runs: list[Run]) -> DeletedCounts:
    """Delete runs of one locked thread: active ones rolled back, the rest with their
    checkpoints; then settle the thread and, after commit, move its queue on."""
    active = [run for run in runs if run.status in ACTIVE_STATUSES]
    finished = [run.pk for run in runs if run.status not in ACTIVE_STATUSES]
    deleted = _stop_runs(active, CancelAction.ROLLBACK)
    if finished:
        deleted = add_counts(deleted, _delete_runs(finished))
    _settle_thread(thread)
    _after_commit(_resync_thread_values, thread.pk)
    _after_commit(_dispatch_head, thread.pk)
    return deleted


def _dispatch_head(thread_id: uuid.UUID) -> None:
    head = run_to_start(thread_id=thread_id)
    if head is not None:
        dispatch.enqueue(head)


def _resync_thread_values(thread_id: uuid.UUID) -> None:
    """After checkpoints were deleted, cache the state the thread fell back to."""
    thread = Thread.objects.filter(pk=thread_id).first()
    graph_id = (thread.metadata or {}).get("graph_id") if thread else None
    if not graph_id:
        return

    try:
        thread_sync_state(
            thread_id=thread_id, graph=get_graph(graph_id, checkpointer=DjangoSaver())
        )
    except Exception:
        logger.exception("Could not refresh the cached values of thread %s", thread_id)


# --- claim / heartbeat / finish (the worker's side) ---------------------------------


def run_claim(*, run_id: uuid.UUID, worker: str) -> Run | None:
    """Compare-and-set pending -> running, if this run heads its thread's queue.

    Returns None when the run is gone, already claimed or finished, or must wait
    for another run; the caller then does nothing (tasks are safe to run twice).
    One round trip on PostgreSQL: lock the thread, claim, and find the run that heads
    the queue instead (to dispatch it) when this one may not start.
    """
    rid = db_uuid(run_id)
    now = timezone.now()
    _lock, claimed, waiting = run_statements(
        [
            (LOCK_THREAD_OF_PENDING_RUN, [rid, RunStatus.PENDING]),
            (
                f"UPDATE {RUNS} SET status = %s, started_at = %s, heartbeat_at = %s, updated_at = %s,"
                " attempt = attempt + 1, worker = %s"
                f" WHERE run_id = %s AND status = %s AND (due_at IS NULL OR due_at <= %s)"
                f" AND NOT {running_on(RUNS)} AND run_id = ({head_of(RUNS)})"
                " RETURNING thread_id, assistant_id, kwargs, metadata, attempt, multitask_strategy",
                [
                    RunStatus.RUNNING,
                    *[db_datetime(now)] * 3,
                    worker,
                    rid,
                    RunStatus.PENDING,
                    db_datetime(now + DUE_LEEWAY),
                ],
            ),
            (
                # Still pending but not the head, with nothing running: the head must start.
                f"SELECT head FROM (SELECT ({head_of('r')}) AS head FROM {RUNS} r"
                f" WHERE r.run_id = %s AND r.status = %s AND NOT {running_on('r')}) AS waiting"
                " WHERE head <> %s",
                [rid, RunStatus.PENDING, rid],
            ),
        ]
    )
    if waiting:
        _after_commit(dispatch.enqueue, from_db_uuid(waiting[0][0]))
    if not claimed:
        return None
    thread_id, assistant_id, kwargs, metadata, attempt, strategy = claimed[0]
    return Run(
        run_id=run_id,
        thread_id=from_db_uuid(thread_id),
        assistant_id=from_db_uuid(assistant_id),
        status=RunStatus.RUNNING,
        multitask_strategy=strategy,
        kwargs=from_db_json(kwargs),
        metadata=from_db_json(metadata),
        attempt=attempt,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
        updated_at=now,
    )


def _active_runs(cursor: Any, thread_id: Any) -> list[tuple[Any, str]]:
    """(run_id, status) of the thread's pending and running runs, in queue order."""
    cursor.execute(ACTIVE_RUNS_OF_THREAD, [thread_id])
    return cursor.fetchall()


def run_heartbeat(*, run_id: uuid.UUID) -> str | None:
    """Record that the run is alive. Returns the cancel action the worker must obey:
    'rollback' when the run row is gone, the run's cancel_action otherwise."""
    return runs_heartbeat(run_ids=[run_id]).get(run_id)


def runs_heartbeat(*, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Record that a worker process's runs are alive, in two statements for all of them.
    Returns the runs that must stop, with the cancel action each must obey: 'rollback'
    when its row is gone, its cancel_action when cancelled, 'interrupt' when it was
    ended meanwhile (by the sweeper)."""
    Run.objects.filter(pk__in=run_ids, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
    rows = {
        pk: (status, action)
        for pk, status, action in Run.objects.filter(pk__in=run_ids).values_list(
            "pk", "status", "cancel_action"
        )
    }
    stop: dict[uuid.UUID, str] = {}
    for run_id in run_ids:
        status, action = rows.get(run_id, (None, CancelAction.ROLLBACK))
        if action or status != RunStatus.RUNNING:
            stop[run_id] = action or CancelAction.INTERRUPT
    return stop


def run_finish(
    *,
    run_id: uuid.UUID,
    status: str,
    error: dict[str, Any] | None = None,
    values: Any = None,
    interrupts: dict[str, Any] | None = None,
    paused: bool = False,
    update_values: bool = True,
    traceback: str | None = None,
    webhook: bool = False,
) -> bool:
    """End a running run and move its thread on. False if the run was no longer running
    (rolled back, or ended by the sweeper): then nothing changes. A `traceback` is kept
    with the run's error only (the admin shows it; the API never does).

    One round trip on PostgreSQL: lock the thread, end the run, set the thread's status
    and values, and find the next run to dispatch. The statements after the run's own
    update act only if it matched: they find the thread through the run as just ended.

    `webhook`: the caller knows the run has a webhook. The run then ends in a transaction
    that also holds what run_ended's receivers record (the delivery it is owed), so a
    crash cannot end the run and lose its webhook. Without it, a run found to have one is
    announced right after the commit.
    """
    rid = db_uuid(run_id)
    now = db_datetime(timezone.now())
    run_error = {**error, "traceback": traceback} if error and traceback else error
    sets = (
        f"status = CASE WHEN {active_on(THREADS)} THEN '{ThreadStatus.BUSY}' ELSE %s END,"
        " updated_at = %s, error = %s"
    )
    params = [
        _thread_status(ThreadStatus.IDLE, [], outcome=status, paused=paused),
        now,
        db_json(error if status == RunStatus.ERROR else None),
    ]
    if update_values:
        sets += ', "values" = %s, interrupts = %s, state_updated_at = %s'
        params += [db_json(values), db_json(interrupts or {}), now]
    with transaction.atomic() if webhook else nullcontext():
        _lock, ended, _thread, head = run_statements(
            [
                (LOCK_THREAD_OF_RUN, [rid]),
                (
                    f"UPDATE {RUNS} SET status = %s, ended_at = %s, updated_at = %s, error = %s"
                    " WHERE run_id = %s AND status = %s RETURNING thread_id, kwargs",
                    [status, now, now, db_json(run_error), rid, RunStatus.RUNNING],
                ),
                (
                    f"UPDATE {THREADS} SET {sets} WHERE thread_id = (SELECT e.thread_id {ENDED_RUN})",
                    [*params, rid, status, now],
                ),
                (
                    f"SELECT ({head_of('e')}) {ENDED_RUN} AND NOT {running_on('e')}",
                    [rid, status, now],
                ),
            ]
        )
        kwargs = (from_db_json(ended[0][1]) or {}) if ended else {}
        if kwargs.get("webhook"):
            # Before a temporary thread's deletion below: receivers read the run's row.
            _announce(run_id, status, error, values if update_values else None)
    if not ended:
        return False
    if head and head[0][0] is not None:
        _after_commit(dispatch.enqueue, from_db_uuid(head[0][0]))
    if kwargs.get("temporary") and kwargs.get("on_completion") == "delete":
        _after_commit(_delete_temporary_thread, from_db_uuid(ended[0][0]))
    return True


def _announce(run_id: uuid.UUID, status: str, error: dict[str, Any] | None, values: Any) -> None:
    """Send run_ended inside the transaction that ends the run when there is one (what the
    receivers record commits with the end), else right after the commit."""
    if connection.in_atomic_block:
        _announce_end(run_id, status, error, values)
    else:
        _after_commit(_announce_end, run_id, status, error, values)


def _announce_end(
    run_id: uuid.UUID, status: str, error: dict[str, Any] | None, values: Any
) -> None:
    run_ended.send(sender=Run, run_id=run_id, status=status, error=error, values=values)


def _delete_temporary_thread(thread_id: uuid.UUID) -> None:
    """A stateless run's thread goes once its run has ended (on_completion=delete)."""
    try:
        thread_delete(thread_id=thread_id)
    except NotFound:
        pass


# --- repairs (the stuck_runs command) ----------------------------------------------


def run_redispatch(*, run_id: uuid.UUID) -> bool:
    """Send a pending run's message again if it heads its thread's queue and nothing runs
    there (its message was lost). False when it must wait, or is no longer pending."""
    run = Run.objects.filter(pk=run_id).only("thread_id", "status").first()
    if run is None or run.status != RunStatus.PENDING:
        return False
    if run_to_start(thread_id=run.thread_id) != run.pk:
        return False
    dispatch.enqueue(run.pk)
    logger.info("Run %s: dispatched again", run.pk)
    return True


def run_end_lost(*, run_id: uuid.UUID) -> bool:
    """End a running run whose worker is gone as error (WorkerLost), moving its thread on.
    False if it was no longer running."""
    # webhook=True: whether it has one is not known here, and this path is rare.
    if not run_finish(
        run_id=run_id,
        status=RunStatus.ERROR,
        error=WORKER_LOST_ERROR,
        update_values=False,
        webhook=True,
    ):
        return False
    logger.warning("Run %s: worker lost, run ended as error", run_id)
    dispatch.publish_end(run_id, {"status": RunStatus.ERROR, "error": WORKER_LOST_ERROR})
    return True


# --- threads: deleting and pruning stop their runs first ------------------------------


def thread_delete(*, thread_id: uuid.UUID) -> DeletedCounts:
    """Delete the thread with its runs and checkpoints, even while a run is active.

    Active runs are rolled back first through run_cancel, the one way to stop a run:
    their Celery tasks are revoked and their workers told to stop after commit, so none
    goes on running unseen. The remaining Run rows and the checkpoint rows bound to
    them or to the thread cascade. Checkpoints written without a binding (by callers
    that used the saver on its own with this thread id) are deleted by the saver.
    Returns the runs, checkpoints and writes deleted with the thread.
    """
    with transaction.atomic():
        thread = lock_thread(thread_id)
        active = _active_runs_of(thread.pk)
        # Counted before: the rollbacks and the cascade below do not report their rows.
        deleted = DeletedCounts(
            runs=Run.objects.filter(thread_id=thread.pk).count(),
            checkpoints=Checkpoint.objects.filter(thread_id=str(thread.pk)).count(),
            writes=CheckpointWrite.objects.filter(thread_id=str(thread.pk)).count(),
        )
        for run_id in active:
            run_cancel(thread_id=thread.pk, run_id=run_id, action=CancelAction.ROLLBACK)
        thread.delete()
        DjangoSaver().delete_thread(str(thread_id))
    logger.info("Deleted thread %s", thread_id)
    return deleted


def thread_prune(
    *,
    thread_ids: Sequence[uuid.UUID],
    strategy: Literal["delete", "keep_latest"] = "delete",
) -> int:
    """Delete threads ("delete"), or keep only their latest checkpoint ("keep_latest").

    Unknown ids are skipped. keep_latest also skips a thread with a pending or running
    run: its worker builds on checkpoints that pruning would take away. Returns how
    many threads were pruned.
    """
    pruned = 0
    for thread_id in dict.fromkeys(thread_ids):
        if strategy == "delete":
            try:
                thread_delete(thread_id=thread_id)
            except NotFound:
                continue
            pruned += 1
            continue
        with transaction.atomic():
            try:
                thread = lock_thread(thread_id)
            except NotFound:
                continue
            if _active_runs_of(thread.pk):
                continue
            DjangoSaver().prune([str(thread.pk)], strategy="keep_latest")
        pruned += 1
    return pruned


def _active_runs_of(thread_id: uuid.UUID) -> list[uuid.UUID]:
    with connection.cursor() as cursor:
        return [
            from_db_uuid(run_id) for run_id, _status in _active_runs(cursor, db_uuid(thread_id))
        ]


def thread_settle(*, thread_id: uuid.UUID) -> str:
    """Set a thread's status from its runs (a busy thread with no active run becomes
    idle); returns the status it has now."""
    with transaction.atomic():
        thread = lock_thread(thread_id)
        before = thread.status
        _settle_thread(thread)
    if before != thread.status:
        logger.info("Thread %s: status %s -> %s", thread_id, before, thread.status)
    return thread.status


# --- sweeper ----------------------------------------------------------------------


def runs_sweep(*, end_lost: bool = True) -> dict[str, int]:
    """End runs whose worker died (stale heartbeat) and re-dispatch pending runs whose
    broker message may have been lost. Safe to run any number of times, anywhere.
    `end_lost=False` skips the first part (the sweeper cannot yet tell a dead worker from
    one that could not reach the database either)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.SPINDLE_STALE_AFTER_SECONDS)
    stale = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale_before)
    lost = _end_lost_runs(stale) if end_lost else 0
    redispatched = 0
    # A run's message is taken for lost only once the run has waited this long past its
    # due time: a delayed run (after_seconds) is not late before it is due.
    waiting_since = now - timedelta(seconds=settings.SPINDLE_REDISPATCH_AFTER_SECONDS)
    thread_ids = (
        Run.objects.alias(due=Coalesce("due_at", "created_at"))
        .filter(status=RunStatus.PENDING, due__lt=waiting_since)
        .values_list("thread_id", flat=True)
        .distinct()
    )
    for thread_id in thread_ids:
        head_id = run_to_start(thread_id=thread_id)
        head = (
            Run.objects.filter(pk=head_id).only("due_at", "created_at").first() if head_id else None
        )
        if head is not None and (head.due_at or head.created_at) < waiting_since:
            dispatch.enqueue(head.pk)
            redispatched += 1
    return {"lost": lost, "redispatched": redispatched}


def runs_end_for_worker(*, worker: str) -> int:
    """End the running runs of a worker process that is gone (its pool noticed the exit)
    as `error` (WorkerLost). Returns how many were ended."""
    return _end_lost_runs(Run.objects.filter(status=RunStatus.RUNNING, worker=worker))


def _end_lost_runs(runs: Any) -> int:
    return sum(1 for run_id in runs.values_list("pk", flat=True) if run_end_lost(run_id=run_id))
