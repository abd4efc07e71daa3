"""Waiting for a run to end, without holding a thread or a database connection."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from django.db import connection

from core.db.asyncdb import db
from core.db.sql import db_uuid, from_db_json, from_db_uuid
from runs import streams
from runs.models import ACTIVE_SQL, ACTIVE_STATUSES, Run, RunStatus
from threads.models import Thread

RUN_NOT_FOUND = {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}
# Between waits on Redis the database is read again, so a run ended without an end
# marker (its worker was killed and the sweeper ended it) is still noticed.
RECHECK_SECONDS = 5.0


def _run_row_sync(run_id: uuid.UUID, with_values: bool) -> dict[str, Any] | None:
    """The run's status, error and thread; with `with_values`, also the thread's cached
    values once the run is final (what a join answers), in the same query."""
    values = "NULL"
    if with_values:
        values = f'CASE WHEN r.status IN {ACTIVE_SQL} THEN NULL ELSE t."values" END'
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.status, r.error, r.thread_id, {values} FROM {Run._meta.db_table} r"
            f" JOIN {Thread._meta.db_table} t ON t.thread_id = r.thread_id WHERE r.run_id = %s",
            [db_uuid(run_id)],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    status, error, thread_id, thread_values = found
    error = from_db_json(error)
    if isinstance(error, dict):
        error.pop("traceback", None)  # kept for the admin; clients never see a traceback
    row = {"status": status, "error": error, "thread_id": from_db_uuid(thread_id)}
    if with_values and status not in ACTIVE_STATUSES:
        row["thread__values"] = from_db_json(thread_values)
    return row


async def _run_row(run_id: uuid.UUID, *, with_values: bool = False) -> dict[str, Any] | None:
    return await db(_run_row_sync, run_id, with_values)


async def run_wait(
    run_id: uuid.UUID, *, row: dict[str, Any] | None = None, with_values: bool = False
) -> dict[str, Any] | None:
    """Block until the run is final; return its row as a dict, or None if it was deleted.

    `row`: the run's row as the caller just read it (saves a read). `with_values`:
    the final row carries the thread's cached values under "thread__values".
    When the run's thread was temporary and is already gone, the end marker's outcome
    stands in for the row (key "outcome")."""
    if row is None or (
        with_values and row["status"] not in ACTIVE_STATUSES and "thread__values" not in row
    ):
        row = await _run_row(run_id, with_values=with_values)
    outcome: dict[str, Any] | None = None
    while row is not None and row["status"] in ACTIVE_STATUSES:
        ended, outcome = await streams.await_end(str(run_id), block_seconds=RECHECK_SECONDS)
        if ended and (answered := _row_from_outcome(row, outcome)) is not None:
            return answered
        row = await _run_row(run_id, with_values=with_values)
        if ended:
            # The marker is written only after the commit that ended the run; a run still
            # active here is an edge (a read that raced that commit): read once more and
            # stop, never waiting on the same marker twice (no spinning).
            if row is not None and row["status"] in ACTIVE_STATUSES:
                await asyncio.sleep(0.05)
                row = await _run_row(run_id, with_values=with_values)
            break
    if row is None:
        if outcome is None:
            # A temporary thread is deleted with its run just before the end marker is
            # written: give the marker a moment to arrive.
            _ended, outcome = await streams.await_end(str(run_id), block_seconds=1.0)
        if outcome and outcome.get("status") not in (None, "deleted"):
            return {"status": outcome["status"], "error": outcome.get("error"), "outcome": outcome}
        return None
    return row


def _row_from_outcome(row: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any] | None:
    """The final row of a run whose end was just seen, from its end marker: the worker
    writes the marker after the commit that ended the run, with the values it stored on
    the thread, so no second read is needed. None when the marker lacks them (the
    sweeper ended the run, a pending run was interrupted, or it was rolled back)."""
    if not outcome or outcome.get("status") in (None, "deleted"):
        return None
    if outcome["status"] == RunStatus.ERROR and outcome.get("error"):
        return {**row, "status": RunStatus.ERROR, "error": outcome["error"], "thread__values": None}
    if "values" not in outcome:
        return None
    return {
        **row,
        "status": outcome["status"],
        "error": outcome.get("error"),
        "thread__values": outcome["values"],
    }


async def run_join_body(thread_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, Any]:
    """What join and wait answer: the thread's values, or the run's error.

    One database read: the run's row, with the thread's values if it is already final;
    otherwise the end marker it waits for carries them."""
    row = await _run_row(run_id, with_values=True)
    if row is not None and row["thread_id"] != thread_id:
        return RUN_NOT_FOUND
    if row is None:
        # Gone: rolled back (404), or ended on a temporary thread deleted since.
        outcome = await streams.aread_end(str(run_id))
        if not outcome or outcome.get("status") == "deleted":
            return RUN_NOT_FOUND
    final = await run_wait(run_id, row=row, with_values=True)
    if final is None:
        return RUN_NOT_FOUND
    if final["status"] == RunStatus.ERROR and final.get("error"):
        return {"__error__": final["error"]}
    values = final.get("thread__values")
    if "outcome" in final:
        values = final["outcome"].get("values")
    return values if values is not None else {}
