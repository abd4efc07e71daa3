"""The engine's hot statements find their rows by key whatever plan PostgreSQL caches.

psycopg prepares a statement after a few executions and PostgreSQL may then keep one
generic plan for it, made with the table sizes of that moment. On a new database the
tables are nearly empty, and where nothing analyzes them afterwards (autovacuum off) the
plan stays: a plan that scans a table, or reads every row of a thread, then costs more
with every run stored. These tests ask for the generic plan on nearly empty tables, the
worst case, and require lookups by key.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.db import connection

from runs.statements import ENDED_RUN, RUNS
from threads.checkpointer import statements

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans"),
]

THREAD, NS = str(uuid.uuid4()), ""


def generic_plan(sql: str, params: list[Any]) -> str:
    """EXPLAIN of the generic plan PostgreSQL would cache for `sql` (psycopg's %s marks)."""
    count = iter(range(1, len(params) + 1))
    numbered = re.sub(r"%s", lambda _: f"${next(count)}", sql)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE plan_under_test AS {numbered}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE plan_under_test({', '.join(['NULL'] * len(params))})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE plan_under_test")


def test_releasing_shared_blobs_never_scans_the_blob_table() -> None:
    release = statements.release_shared_blobs(
        THREAD, NS, {("messages", "00002"), ("branch", "00001")}, str(uuid.uuid4())
    )
    plan = generic_plan(f"WITH RECURSIVE {release.shared} {release.update}", release.params)
    assert "Seq Scan" not in plan, plan
    # The walk's first step looks each pair up by the whole natural key.
    assert re.search(r"Index Cond: .*channel.*= \"\*VALUES\*\"\.column1.*version", plan), plan
    # The update runs only if the walk found rows.
    assert "One-Time Filter" in plan, plan


def test_loading_blobs_looks_each_pair_up_by_its_key() -> None:
    plan = generic_plan(
        *statements.select_blobs(THREAD, NS, [("messages", "00002"), ("x", "00001")])
    )
    assert "Seq Scan" not in plan, plan
    assert re.search(r"Index Cond: .*channel.*version", plan), plan
    assert "Filter" not in plan.replace("Index Cond", ""), plan


@pytest.mark.parametrize("checkpoint_id", [None, "1ef-checkpoint"])
def test_a_checkpoints_writes_are_looked_up_by_its_id(checkpoint_id: str | None) -> None:
    plan = generic_plan(*statements.select_checkpoint_with_writes(THREAD, NS, checkpoint_id))
    assert "Seq Scan" not in plan, plan
    writes = plan[plan.index("threads_checkpointwrite") :]
    assert re.search(r"Index Cond: .*checkpoint_id", writes), plan


def test_a_run_just_ended_is_found_by_its_primary_key() -> None:
    # With an index over every status, the generic plan took the status index and read
    # every run that had ended with the same status.
    plan = generic_plan(f"SELECT e.thread_id {ENDED_RUN}", [None, None, None])
    assert f"Index Scan using {RUNS}_pkey" in plan, plan
