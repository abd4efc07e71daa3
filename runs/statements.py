"""The run engine's SQL, each rule written once: the queue order and head, "a run is running
on the thread", the run INSERT (its columns and the metadata merge), marking a thread busy
and the thread locks of the engine's pipelined statements (through threads/locks.py).

Services put these together into one round trip (core.db.sql.run_statements); selectors
read the queue through them too, so the ORM never restates a rule.
"""

from __future__ import annotations

from typing import Any

from core.db.sql import json_merge
from runs.models import ACTIVE_SQL, Run, RunStatus
from threads.locks import THREADS, thread_lock_sql

RUNS = Run._meta.db_table

# The queue: a thread's pending runs start oldest first (the id breaks ties).
QUEUE_ORDER = ("created_at", "run_id")


def queue_order(alias: str) -> str:
    """SQL ORDER BY terms of the queue, for rows of runs_run as `alias`."""
    return ", ".join(f"{alias}.{column}" for column in QUEUE_ORDER)


def queue_head_of(thread: str) -> str:
    """SQL subquery: the run that heads the queue of the thread whose id is the SQL
    expression `thread` (the oldest pending run)."""
    return (
        f"SELECT q.run_id FROM {RUNS} q WHERE q.thread_id = {thread}"
        f" AND q.status = '{RunStatus.PENDING}' ORDER BY {queue_order('q')} LIMIT 1"
    )


def head_of(alias: str) -> str:
    """SQL subquery: the queue head of the thread of the row `alias` (runs or threads)."""
    return queue_head_of(f"{alias}.thread_id")


def running_on(alias: str) -> str:
    """SQL condition: the thread of the row `alias` (runs or threads) has a running run."""
    return (
        f"EXISTS (SELECT 1 FROM {RUNS} q WHERE q.thread_id = {alias}.thread_id"
        f" AND q.status = '{RunStatus.RUNNING}')"
    )


def active_on(alias: str) -> str:
    """SQL condition: the thread of the row `alias` has a pending or running run."""
    return f"EXISTS (SELECT 1 FROM {RUNS} q WHERE q.thread_id = {alias}.thread_id AND q.status IN {ACTIVE_SQL})"


# The run to start on a thread: its queue head, when nothing runs there. One row, the
# head or NULL; no row when the thread is gone.
NEXT_RUN_OF_THREAD = (
    f"SELECT ({head_of('t')}) FROM {THREADS} t WHERE t.thread_id = %s AND NOT {running_on('t')}"
)

# Every lock the engine takes in its pipelined statements is the thread lock.
LOCK_THREAD = thread_lock_sql()
LOCK_THREAD_OF_RUN = thread_lock_sql(
    join=f"JOIN {RUNS} r ON r.thread_id = t.thread_id", where="r.run_id = %s"
)
LOCK_THREAD_OF_PENDING_RUN = thread_lock_sql(
    join=f"JOIN {RUNS} r ON r.thread_id = t.thread_id", where="r.run_id = %s AND r.status = %s"
)

# The run just ended by the statement before, found again in the same transaction by the
# end time that statement set; parameters: run_id, status, ended_at.
ENDED_RUN = f"FROM {RUNS} e WHERE e.run_id = %s AND e.status = %s AND e.ended_at = %s"

ACTIVE_RUNS_OF_THREAD = (
    f"SELECT run_id, status FROM {RUNS} r WHERE thread_id = %s AND status IN {ACTIVE_SQL}"
    f" ORDER BY {queue_order('r')}"
)

# A new run's columns and the SQL that fills each from the thread `t` and parameters.
_RUN_VALUES = {
    "run_id": "%s",
    "thread_id": "t.thread_id",
    "assistant_id": "%s",
    "status": "%s",
    "multitask_strategy": "%s",
    # The run's metadata: the assistant's, the thread's, then the request's with the graph's.
    "metadata": json_merge("%s", "t.metadata", "%s"),
    "kwargs": "%s",
    "attempt": "0",
    "worker": "''",
    "created_at": "%s",
    "updated_at": "%s",
    "due_at": "%s",
}


def insert_run(*, when_idle: bool) -> str:
    """SQL: insert a run on the thread whose id is the last parameter, returning its
    metadata; with `when_idle`, only if no run of the thread is active. Parameters:
    insert_run_params()."""
    idle = f" AND NOT {active_on('t')}" if when_idle else ""
    return (
        f"INSERT INTO {RUNS} ({', '.join(_RUN_VALUES)}) SELECT {', '.join(_RUN_VALUES.values())}"
        f" FROM {THREADS} t WHERE t.thread_id = %s{idle} RETURNING metadata"
    )


def insert_run_params(
    *,
    run_id: Any,
    assistant_id: Any,
    status: str,
    strategy: str,
    assistant_metadata: str | None,
    request_metadata: str | None,
    kwargs: str | None,
    now: Any,
    due_at: Any,
    thread_id: Any,
) -> list[Any]:
    """The parameters of insert_run(), already adapted for the database."""
    return [
        run_id,
        assistant_id,
        status,
        strategy,
        assistant_metadata,
        request_metadata,
        kwargs,
        now,
        now,
        due_at,
        thread_id,
    ]


# Mark the thread busy with a new run: the graph's keys merged into its metadata. Acts only
# if the run (last parameter) was inserted.
MARK_THREAD_BUSY = (
    f"UPDATE {THREADS} SET metadata = {json_merge('metadata', '%s')}, status = %s, updated_at = %s"
    f" WHERE thread_id = %s AND EXISTS (SELECT 1 FROM {RUNS} WHERE run_id = %s)"
)
