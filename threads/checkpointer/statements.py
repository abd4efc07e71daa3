"""The checkpointer's SQL, as named statements and small builders (LangGraph's Postgres saver
keeps its statements apart from the saver class the same way)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection

from threads.models import Checkpoint as CheckpointRow
from threads.models import CheckpointBlob, CheckpointWrite

CHECKPOINTS = CheckpointRow._meta.db_table
BLOBS = CheckpointBlob._meta.db_table
WRITES = CheckpointWrite._meta.db_table

# --- reads -------------------------------------------------------------------------


def select_checkpoint_with_writes(
    thread_id: str, ns: str, checkpoint_id: str | None
) -> tuple[str, list[Any]]:
    """A checkpoint (the one with the id given, else the latest) and its pending writes in
    one statement (one snapshot): a row per write, or one row with no write.

    The writes are looked up by their checkpoint id as a value (the id given, or the
    latest one's, found again by a subquery), so the lookup uses the whole key prefix
    whatever the planner believes of the table's size: joined on `c.checkpoint_id`,
    plans cached while the tables were small read every write of the thread."""
    if checkpoint_id:
        which, which_params = "%s", [checkpoint_id]
    else:
        which = (
            f"(SELECT checkpoint_id FROM {CHECKPOINTS} WHERE thread_id = %s"
            " AND checkpoint_ns = %s ORDER BY checkpoint_id DESC LIMIT 1)"
        )
        which_params = [thread_id, ns]
    sql = (
        "SELECT c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint, c.metadata,"
        " w.task_path, w.task_id, w.idx, w.channel, w.type, w.blob"
        f" FROM {CHECKPOINTS} c LEFT JOIN {WRITES} w ON w.thread_id = %s AND w.checkpoint_ns = %s"
        f" AND w.checkpoint_id = {which}"
        f" WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND c.checkpoint_id = {which}"
    )
    return sql, [thread_id, ns, *which_params] * 2


def select_writes(count: int) -> str:
    """The pending writes of `count` checkpoints of one thread and namespace."""
    return (
        "SELECT task_path, task_id, idx, channel, type, blob, checkpoint_id"
        f" FROM {WRITES} WHERE thread_id = %s AND checkpoint_ns = %s"
        f" AND checkpoint_id IN ({_marks(count)})"
    )


def select_blobs(
    thread_id: str, ns: str, pairs: Sequence[tuple[str, str]]
) -> tuple[str, list[Any]]:
    """The blob rows of some (channel, version) pairs of one thread and namespace.

    On PostgreSQL each pair is a lookup by the whole natural key (see
    `release_shared_blobs`); elsewhere the rows of the channels and versions named, of
    which the caller keeps the pairs it asked for."""
    columns = "channel, version, type, blob, base_version, digest"
    if connection.vendor == "postgresql":
        values_sql, values_params = _values_list(pairs)
        sql = (
            f"SELECT b.* FROM {values_sql} v (channel, version)"
            f" {_blob_by_key(columns, 'v.channel', 'v.version')}"
        )
        return sql, [*values_params, thread_id, ns]
    channels = sorted({channel for channel, _ in pairs})
    versions = sorted({version for _, version in pairs})
    sql = (
        f"SELECT {columns} FROM {BLOBS} WHERE thread_id = %s AND checkpoint_ns = %s"
        f" AND channel IN ({_marks(len(channels))}) AND version IN ({_marks(len(versions))})"
    )
    return sql, [thread_id, ns, *channels, *versions]


# A page of a channel's list rows, newest first, below a version (to walk delta chains).
SELECT_LIST_CHAIN_PAGE = (
    f"SELECT version, base_version, blob FROM {BLOBS}"
    " WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND type = %s"
    " AND version < %s ORDER BY version DESC LIMIT %s"
)

# The latest earlier list version of a channel no longer than a value: a delta's base candidate.
SELECT_LIST_BASE = (
    f"SELECT version, length, digest FROM {BLOBS} WHERE thread_id = %s"
    " AND checkpoint_ns = %s AND channel = %s AND type = %s AND version < %s"
    " AND length <= %s ORDER BY version DESC LIMIT 1"
)

SELECT_CHECKPOINT_RUN = f"SELECT run_id FROM {CHECKPOINTS} WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s"

# --- writes ------------------------------------------------------------------------

_TWELVE = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def insert_blobs(count: int) -> str:
    """Insert `count` blob rows (12 parameters each), keeping a version's first value;
    returns the channels inserted."""
    return (
        f"INSERT INTO {BLOBS} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
        " owner_run_id, channel, version, type, blob, base_version, length, digest)"
        f" VALUES {', '.join([_TWELVE] * count)}"
        " ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING"
        " RETURNING channel"
    )


INSERT_CHECKPOINT = (
    f"INSERT INTO {CHECKPOINTS} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
    " owner_run_id, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata,"
    f" channel_versions, created_at) VALUES {_TWELVE}"
    " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET"
    " type = excluded.type, checkpoint = excluded.checkpoint,"
    " metadata = excluded.metadata, channel_versions = excluded.channel_versions"
)

# Special writes (error, interrupt, resume...) replace an earlier one of the task.
WRITES_REPLACE = (
    "DO UPDATE SET channel = excluded.channel, type = excluded.type,"
    " blob = excluded.blob, task_path = excluded.task_path"
)
# A task's regular writes are final: a retry must not duplicate or change them.
WRITES_KEEP = "DO NOTHING"


def insert_writes(count: int, on_conflict: str) -> str:
    """Insert `count` pending writes (12 parameters each); on_conflict: WRITES_REPLACE or WRITES_KEEP."""
    return (
        f"INSERT INTO {WRITES} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
        " owner_run_id, checkpoint_id, task_id, task_path, idx, channel, type, blob)"
        f" VALUES {', '.join([_TWELVE] * count)}"
        f" ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) {on_conflict}"
    )


class Release(NamedTuple):
    """The recursive CTE `shared` (the blobs to release) and the update that releases them."""

    shared: str
    update: str
    params: list[Any]


def release_shared_blobs(
    thread_id: str, ns: str, pairs: set[tuple[str, str]], owner_run: Any
) -> Release:
    """The update that detaches the blobs (channel, version) `pairs` from the other run
    that owns them.

    A released list delta takes its bases along. A run's delta builds on its own
    rows or on released ones, so the walk stops at the first row the owner does
    not hold: it follows one chain per run that is built upon, not the history.
    """
    values_sql, values_params = _values_list(sorted(pairs))
    not_mine = " AND owner_run_id <> %s" if owner_run is not None else ""
    params: list[Any] = [thread_id, ns]
    if owner_run is not None:
        params.append(owner_run)
    if connection.vendor != "postgresql":
        shared = (
            "shared (id, channel, owner_run_id, base_version) AS ("
            f" SELECT id, channel, owner_run_id, base_version FROM {BLOBS}"
            " WHERE thread_id = %s AND checkpoint_ns = %s AND owner_run_id IS NOT NULL"
            f"{not_mine} AND (channel, version) IN {values_sql}"
            " UNION"
            f" SELECT b.id, b.channel, b.owner_run_id, b.base_version FROM {BLOBS} b"
            " JOIN shared s ON b.channel = s.channel AND b.version = s.base_version"
            " AND b.owner_run_id = s.owner_run_id"
            " WHERE b.thread_id = %s AND b.checkpoint_ns = %s)"
        )
        update = f"UPDATE {BLOBS} SET owner_run_id = NULL WHERE id IN (SELECT id FROM shared)"
        return Release(shared, update, [*params, *values_params, thread_id, ns])
    # On PostgreSQL each step of the walk is a lookup by the whole natural key, and the
    # update runs only when the walk found rows (the EXISTS is checked once, before any
    # scan), then within the thread. Plans cached while a new database's tables were
    # small, never re-planned where nothing analyzes them (autovacuum off), had read every
    # blob of the thread, and the update every blob of the table, on each put. The rows
    # are taken by the ctid the walk read: a row updated since was released by another
    # put (its ctid changed) and stays released. (A bare `ctid = ANY(...)` gets a
    # sequential scan in the generic plan of a nearly empty table.)
    columns = "ctid AS tid, channel, owner_run_id, base_version"
    first = _blob_by_key(
        columns, "v.channel", "v.version", f" AND owner_run_id IS NOT NULL{not_mine}"
    )
    base = _blob_by_key(
        columns, "s.channel", "s.base_version", " AND owner_run_id = s.owner_run_id"
    )
    shared = (
        "shared (tid, channel, owner_run_id, base_version) AS ("
        " SELECT b.tid, b.channel, b.owner_run_id, b.base_version"
        f" FROM {values_sql} v (channel, version) {first}"
        " UNION"
        f" SELECT b.tid, b.channel, b.owner_run_id, b.base_version FROM shared s {base})"
    )
    update = (
        f"UPDATE {BLOBS} SET owner_run_id = NULL WHERE EXISTS (SELECT FROM shared)"
        " AND thread_id = %s AND checkpoint_ns = %s AND ctid = ANY(ARRAY(SELECT tid FROM shared))"
    )
    return Release(shared, update, [*values_params, *params, thread_id, ns, thread_id, ns])


def put_statements(
    insert_blobs: tuple[str, list[Any]] | None,
    insert_checkpoint: tuple[str, list[Any]],
    release: Release | None,
) -> list[tuple[str, list[Any]]]:
    """The statements of one put; the blob insert, whose rows are the inserted channels,
    comes first.

    On PostgreSQL outside a transaction they are one statement, its parts in WITH: one
    statement is a transaction of its own (no BEGIN and COMMIT to send), and its deferred
    foreign keys are checked at its end. Its parts see the same snapshot, which changes
    nothing here: the release walks blobs that existed before this put, and the inserts
    add new versions only.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        statements = [insert_blobs] if insert_blobs else []
        statements.append(insert_checkpoint)
        if release:
            statements.append((f"WITH RECURSIVE {release.shared} {release.update}", release.params))
        return statements
    parts: list[str] = []
    params: list[Any] = []
    if release:
        parts += [release.shared, f"released AS ({release.update})"]
        params += release.params
    if insert_blobs is None:
        with_clause = f"WITH RECURSIVE {', '.join(parts)} " if parts else ""
        return [(with_clause + insert_checkpoint[0], params + insert_checkpoint[1])]
    parts += [f"saved AS ({insert_checkpoint[0]})", f"inserted AS ({insert_blobs[0]})"]
    params += insert_checkpoint[1] + insert_blobs[1]
    return [(f"WITH RECURSIVE {', '.join(parts)} SELECT channel FROM inserted", params)]


def _blob_by_key(columns: str, channel: str, version: str, condition: str = "") -> str:
    """`CROSS JOIN LATERAL (...) b`: one blob row (thread and namespace are the first two
    parameters), looked up by its whole natural key; LIMIT 1 keeps the planner from
    making it a join over the thread's blobs."""
    return (
        f"CROSS JOIN LATERAL (SELECT {columns} FROM {BLOBS} WHERE thread_id = %s"
        f" AND checkpoint_ns = %s AND channel = {channel} AND version = {version}{condition}"
        " LIMIT 1) b"
    )


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def _values_list(pairs: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """SQL `(VALUES (%s, %s), ...)` and its parameters, for a row-value IN."""
    sql = ", ".join(["(%s, %s)"] * len(pairs))
    return f"(VALUES {sql})", [item for pair in pairs for item in pair]
