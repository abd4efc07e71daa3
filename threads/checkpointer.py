"""DjangoSaver: the LangGraph checkpointer over the checkpoint models in threads/models.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import struct
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    EXCLUDED_METADATA_KEYS,
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from config.sql import db_datetime, db_uuid, from_db_json, run_statements
from threads.blob_cache import BlobKey, blob_cache
from threads.models import Checkpoint as CheckpointRow
from threads.models import CheckpointBlob, CheckpointWrite

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Blob type of a list value stored element by element (see CheckpointBlob).
LIST_BLOB_TYPE = "spindle.list"
# Blob type of a channel listed in new_versions that has no value.
EMPTY_BLOB_TYPE = "empty"

_ELEMENT_HEADER = struct.Struct(">HI")
_DIGEST_SEED = hashlib.sha256(b"spindle.list").digest()
_LIST_PAGE = 100
_CHAIN_PAGE = 500
_MISSING = object()
# Cached in place of an "empty" blob row.
_EMPTY = ("empty", b"")

_CHECKPOINTS = CheckpointRow._meta.db_table
_BLOBS = CheckpointBlob._meta.db_table
_WRITES = CheckpointWrite._meta.db_table


@dataclass
class _ListValue:
    """A list channel value serialized element by element.

    `digest` is the hash chained over the serialized elements (hex), as stored in
    CheckpointBlob.digest; `digests` (only when built from scratch) holds the digest
    after every prefix, to find an earlier version to store a delta on.
    """

    elements: list[tuple[str, bytes]]
    digests: list[bytes] = field(default_factory=list)
    digest: str | None = None

    @classmethod
    def build(cls, serde: SerializerProtocol, value: list[Any]) -> _ListValue:
        elements = [serde.dumps_typed(item) for item in value]
        digests = [_DIGEST_SEED]
        for element in elements:
            digests.append(_chain_digest(digests[-1], element))
        return cls(elements=elements, digests=digests, digest=digests[-1].hex())

    def size(self) -> int:
        return sum(len(data) + len(type_) for type_, data in self.elements)


@dataclass
class _Recent:
    """The last list value this saver wrote or read for a channel: the live items next
    to their serialized form, so a put that appends to them serializes only what is new."""

    version: str
    items: list[Any]
    elements: list[tuple[str, bytes]]
    digest: bytes


class _Row(NamedTuple):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    type: str
    checkpoint: bytes
    metadata: dict[str, Any]


def _chain_digest(previous: bytes, element: tuple[str, bytes]) -> bytes:
    return hashlib.sha256(previous + _frame([element])).digest()


class _Release(NamedTuple):
    """The recursive CTE `shared` (the blobs to release) and the update that releases them."""

    shared: str
    update: str
    params: list[Any]


def _put_statements(
    insert_blobs: tuple[str, list[Any]] | None,
    insert_checkpoint: tuple[str, list[Any]],
    release: _Release | None,
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


def _values_list(pairs: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """SQL `(VALUES (%s, %s), ...)` and its parameters, for a row-value IN."""
    sql = ", ".join(["(%s, %s)"] * len(pairs))
    return f"(VALUES {sql})", [item for pair in pairs for item in pair]


def _frame(elements: Sequence[tuple[str, bytes]]) -> bytes:
    parts = []
    for type_, data in elements:
        type_bytes = type_.encode()
        parts.append(_ELEMENT_HEADER.pack(len(type_bytes), len(data)))
        parts.append(type_bytes)
        parts.append(data)
    return b"".join(parts)


def _unframe(blob: bytes) -> list[tuple[str, bytes]]:
    elements = []
    offset = 0
    view = memoryview(blob)
    while offset < len(view):
        type_len, data_len = _ELEMENT_HEADER.unpack_from(view, offset)
        offset += _ELEMENT_HEADER.size
        type_ = bytes(view[offset : offset + type_len]).decode()
        offset += type_len
        elements.append((type_, bytes(view[offset : offset + data_len])))
        offset += data_len
    return elements


def _own_version(version: str) -> bool:
    """Whether DjangoSaver.get_next_version made this version: then no other value can
    ever be stored under it, even after a delete, and it may be cached."""
    return len(version) == 49 and version[32] == "."


def _cache_blob(key: BlobKey, value: Any) -> Any:
    if not _own_version(key[3]):
        return value
    if isinstance(value, _ListValue):
        blob_cache.put(key, value, value.size())
    else:
        blob_cache.put(key, value, len(value[1] or b""))
    return value


def _as_bytes(value: bytes | memoryview | None) -> bytes:
    return b"" if value is None else bytes(value)


def _json_contains(actual: Any, expected: Any) -> bool:
    """PostgreSQL `@>` semantics, for metadata filters that cannot be a key lookup."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _json_contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(_json_contains(item, wanted) for item in actual) for wanted in expected
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    return actual == expected


def _sql_filterable(key: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    try:
        int(key)
    except ValueError:
        return True
    # Django turns an integer-like key into an array index.
    return False


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class DjangoSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer that stores checkpoints with the Django ORM.

    Rows: `Checkpoint` holds the serialized checkpoint without its channel values and
    the metadata as JSON; `CheckpointBlob` holds each channel value once per channel
    version; `CheckpointWrite` holds pending writes keyed by
    (thread, namespace, checkpoint, task, idx). List values that extend an earlier
    version are stored as their new elements only (see `CheckpointBlob`), so the bytes
    a step writes do not grow with the thread's history.

    Every row records the `run_id` that wrote it: `config["configurable"]["run_id"]`,
    else the checkpoint metadata's `run_id`. With `bind_runs=True` (the run engine) each
    row also gets `owner_run` and `owner_thread`, so deleting the `Run` row deletes what
    the run wrote, and a write for a run whose row is gone raises `IntegrityError`.
    Bound writes need a run id and UUID thread/run ids.

    A blob stays owned by its run only while no other run's checkpoint uses it: a put
    that reuses a blob owned by another run (an unchanged channel, or the base of a
    list delta) releases it (`owner_run = NULL`), so deleting an earlier run never
    breaks a later run's state.

    Sync methods use the ORM directly; the async ones run the same code through
    `sync_to_async(thread_sensitive=True)`, or on `executor` when one is given (the run
    engine's: one thread per worker process, so one database connection, without
    asgiref's per-call bookkeeping).
    """

    def __init__(
        self,
        *,
        bind_runs: bool = False,
        serde: SerializerProtocol | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.bind_runs = bind_runs
        self.executor = executor
        self._recent: dict[tuple[str, str, str], _Recent] = {}

    async def _off_loop(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.executor is None:
            return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, partial(fn, *args, **kwargs)
        )

    # --- versions ---------------------------------------------------------------

    def get_next_version(self, current: str | int | float | None, channel: None) -> str:
        """A zero-padded counter with a random suffix.

        Blobs are keyed by (thread, namespace, channel, version), so two forks from
        one checkpoint must not produce the same version with different values.
        """
        if current is None:
            number = 0
        elif isinstance(current, str):
            number = int(current.split(".", 1)[0])
        else:
            number = int(current)
        return f"{number + 1:032d}.{secrets.token_hex(8)}"

    # --- reads ------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns") or ""
        # The checkpoint and its pending writes in one statement (one snapshot): a row per
        # write, or one row with no write.
        sql = (
            f"SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM {_CHECKPOINTS}"
            " WHERE thread_id = %s AND checkpoint_ns = %s"
        )
        params = [thread_id, ns]
        if checkpoint_id := get_checkpoint_id(config):
            sql += " AND checkpoint_id = %s"
            params.append(checkpoint_id)
        else:
            sql += " ORDER BY checkpoint_id DESC LIMIT 1"
        sql = (
            "SELECT c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint, c.metadata,"
            " w.task_path, w.task_id, w.idx, w.channel, w.type, w.blob"
            f" FROM ({sql}) c LEFT JOIN {_WRITES} w ON w.thread_id = %s AND w.checkpoint_ns = %s"
            " AND w.checkpoint_id = c.checkpoint_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, thread_id, ns])
            found = cursor.fetchall()
        if not found:
            return None
        checkpoint_id, parent_id, type_, data, metadata = found[0][:5]
        row = _Row(thread_id, ns, checkpoint_id, parent_id, type_, _as_bytes(data), from_db_json(metadata))
        writes = [
            (task_path, task_id, idx, channel, w_type, _as_bytes(blob))
            for *_checkpoint, task_path, task_id, idx, channel, w_type, blob in found
            if task_id is not None
        ]
        return self._build_tuples([row], remember=True, writes={(thread_id, ns, checkpoint_id): writes})[0]

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        remaining = limit
        cursor: tuple[str, int] | None = None
        while True:
            page, cursor = self._list_page(config, filter, before, remaining, cursor)
            for item in page:
                yield item
                if remaining is not None:
                    remaining -= 1
                    if remaining <= 0:
                        return
            if cursor is None:
                return

    def _list_page(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
        cursor: tuple[str, int] | None,
    ) -> tuple[list[CheckpointTuple], tuple[str, int] | None]:
        """One page of `list`, newest first, and the cursor of the next page (or None)."""
        rows = CheckpointRow.objects.all()
        if config is not None:
            configurable = config["configurable"]
            if "thread_id" in configurable:
                rows = rows.filter(thread_id=str(configurable["thread_id"]))
            if configurable.get("checkpoint_ns") is not None:
                rows = rows.filter(checkpoint_ns=configurable["checkpoint_ns"])
            if checkpoint_id := get_checkpoint_id(config):
                rows = rows.filter(checkpoint_id=checkpoint_id)
        if before is not None and (before_id := get_checkpoint_id(before)):
            rows = rows.filter(checkpoint_id__lt=before_id)
        python_filter: dict[str, Any] = {}
        for index, (key, value) in enumerate((filter or {}).items()):
            if _sql_filterable(key, value):
                alias = f"_meta_{index}"
                rows = rows.alias(**{alias: KeyTransform(key, "metadata")}).filter(**{alias: value})
            else:
                python_filter[key] = value
        if cursor is not None:
            cursor_id, cursor_pk = cursor
            rows = rows.filter(
                Q(checkpoint_id__lt=cursor_id) | Q(checkpoint_id=cursor_id, pk__lt=cursor_pk)
            )
        page_size = _LIST_PAGE
        if limit is not None and not python_filter:
            page_size = max(1, min(limit, _LIST_PAGE))
        page = list(rows.order_by("-checkpoint_id", "-pk")[:page_size])
        next_cursor = (page[-1].checkpoint_id, page[-1].pk) if len(page) == page_size else None
        if python_filter:
            page = [
                row
                for row in page
                if all(
                    _json_contains(row.metadata.get(key, _MISSING), value)
                    for key, value in python_filter.items()
                )
            ]
        return self._build_tuples(page), next_cursor

    def _build_tuples(
        self,
        rows: Sequence[Any],
        *,
        remember: bool = False,
        writes: dict[tuple[str, str, str], list[tuple[str, str, int, str, str, bytes]]] | None = None,
    ) -> list[CheckpointTuple]:
        """Checkpoint tuples for checkpoint rows (model instances or _Row).

        `remember`: keep each list value next to its serialized form (see _Recent).
        `writes`: the rows' pending writes, already read (else they are read here).
        """
        checkpoints = [
            self.serde.loads_typed((row.type, _as_bytes(row.checkpoint))) for row in rows
        ]
        by_scope: dict[tuple[str, str], list[int]] = defaultdict(list)
        for position, row in enumerate(rows):
            by_scope[(row.thread_id, row.checkpoint_ns)].append(position)

        prefetched = writes is not None
        writes = defaultdict(list, writes or {})
        values: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
        for (thread_id, ns), positions in by_scope.items():
            if not prefetched:
                checkpoint_ids = sorted({rows[p].checkpoint_id for p in positions})
                marks = ", ".join(["%s"] * len(checkpoint_ids))
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT task_path, task_id, idx, channel, type, blob, checkpoint_id"
                        f" FROM {_WRITES} WHERE thread_id = %s AND checkpoint_ns = %s"
                        f" AND checkpoint_id IN ({marks})",
                        [thread_id, ns, *checkpoint_ids],
                    )
                    for task_path, task_id, idx, channel, type_, blob, checkpoint_id in cursor.fetchall():
                        writes[(thread_id, ns, checkpoint_id)].append(
                            (task_path, task_id, idx, channel, type_, _as_bytes(blob))
                        )
            wanted = {
                (channel, str(version))
                for p in positions
                for channel, version in checkpoints[p]["channel_versions"].items()
            }
            values[(thread_id, ns)] = self._load_values(thread_id, ns, wanted)

        tuples = []
        for row, checkpoint in zip(rows, checkpoints, strict=True):
            scope_values = values[(row.thread_id, row.checkpoint_ns)]
            channel_values = {}
            for channel, version in checkpoint["channel_versions"].items():
                stored = scope_values.get((channel, str(version)), _MISSING)
                if stored is _MISSING:
                    continue
                if isinstance(stored, _ListValue):
                    recent = self._recent.get((row.thread_id, row.checkpoint_ns, channel))
                    if recent is not None and recent.version == str(version):
                        # This saver wrote or read exactly this version: its items
                        # (a run's final state read right after its last put).
                        items = list(recent.items)
                    else:
                        items = [self.serde.loads_typed(e) for e in stored.elements]
                    channel_values[channel] = items
                    if remember and stored.digest and _own_version(str(version)):
                        self._recent[(row.thread_id, row.checkpoint_ns, channel)] = _Recent(
                            str(version), list(items), stored.elements, bytes.fromhex(stored.digest)
                        )
                else:
                    channel_values[channel] = self.serde.loads_typed(stored)
            checkpoint["channel_values"] = channel_values
            row_writes = sorted(
                writes.get((row.thread_id, row.checkpoint_ns, row.checkpoint_id), [])
            )
            tuples.append(
                CheckpointTuple(
                    config=self._config(row.thread_id, row.checkpoint_ns, row.checkpoint_id),
                    checkpoint=checkpoint,
                    metadata=row.metadata,
                    parent_config=(
                        self._config(row.thread_id, row.checkpoint_ns, row.parent_checkpoint_id)
                        if row.parent_checkpoint_id
                        else None
                    ),
                    pending_writes=[
                        (task_id, channel, self.serde.loads_typed((type_, blob)))
                        for _path, task_id, _idx, channel, type_, blob in row_writes
                    ],
                )
            )
        return tuples

    def _load_values(
        self, thread_id: str, ns: str, wanted: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        """Stored values for (channel, version) pairs: (type, bytes), or a _ListValue.

        Pairs with no row, or only an "empty" row, are left out. Served from the
        process's blob cache where it can be; what is read is cached.
        """
        found: dict[tuple[str, str], Any] = {}
        missing: set[tuple[str, str]] = set()
        for channel, version in wanted:
            cached = blob_cache.get((thread_id, ns, channel, version))
            if cached is None:
                missing.add((channel, version))
            elif cached is not _EMPTY:
                found[(channel, version)] = cached
        if not missing:
            return found
        channels = sorted({c for c, _ in missing})
        versions = sorted({v for _, v in missing})
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT channel, version, type, blob, base_version, digest FROM {_BLOBS}"
                " WHERE thread_id = %s AND checkpoint_ns = %s"
                f" AND channel IN ({', '.join(['%s'] * len(channels))})"
                f" AND version IN ({', '.join(['%s'] * len(versions))})",
                [thread_id, ns, *channels, *versions],
            )
            rows = cursor.fetchall()
        deltas: dict[str, dict[str, tuple[str | None, bytes]]] = defaultdict(dict)
        digests: dict[tuple[str, str], str | None] = {}
        for channel, version, type_, blob, base_version, digest in rows:
            key = (thread_id, ns, channel, version)
            if (channel, version) not in missing:
                continue
            if type_ == EMPTY_BLOB_TYPE:
                _cache_blob(key, _EMPTY)
            elif type_ != LIST_BLOB_TYPE:
                found[(channel, version)] = _cache_blob(key, (type_, _as_bytes(blob)))
            elif base_version is None:
                value = _ListValue(_unframe(_as_bytes(blob)), digest=digest)
                found[(channel, version)] = _cache_blob(key, value)
            else:
                deltas[channel][version] = (base_version, _as_bytes(blob))
                digests[(channel, version)] = digest
        for channel, targets in deltas.items():
            for version, elements in self._resolve_chains(thread_id, ns, channel, targets).items():
                value = _ListValue(elements, digest=digests[(channel, version)])
                found[(channel, version)] = _cache_blob((thread_id, ns, channel, version), value)
        return found

    def _resolve_chains(
        self, thread_id: str, ns: str, channel: str, targets: dict[str, tuple[str | None, bytes]]
    ) -> dict[str, list[tuple[str, bytes]]]:
        """Rebuild list values stored as deltas by walking their bases.

        A base always sorts before the version built on it (put picks it with
        `version < new`), so reading the channel's list rows newest first, from the
        newest target down, meets every base, and can stop once each chain reaches a
        full row or a version the blob cache holds.
        """
        rows: dict[str, tuple[str | None, bytes]] = dict(targets)

        def chain_end(version: str) -> str | None:
            """The first version on the chain that is not loaded yet, or None if complete."""
            while True:
                if version not in rows:
                    cached = blob_cache.get((thread_id, ns, channel, version))
                    if not isinstance(cached, _ListValue):
                        return version
                    rows[version] = (None, _frame(cached.elements))
                base_version, _blob = rows[version]
                if base_version is None:
                    return None
                version = base_version

        cursor_version: str | None = max(targets)
        while cursor_version is not None and any(chain_end(v) is not None for v in targets):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT version, base_version, blob FROM {_BLOBS}"
                    " WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND type = %s"
                    " AND version < %s ORDER BY version DESC LIMIT %s",
                    [thread_id, ns, channel, LIST_BLOB_TYPE, cursor_version, _CHAIN_PAGE],
                )
                page = cursor.fetchall()
            for version, base_version, blob in page:
                rows.setdefault(version, (base_version, _as_bytes(blob)))
            cursor_version = page[-1][0] if len(page) == _CHAIN_PAGE else None

        resolved: dict[str, list[tuple[str, bytes]]] = {}
        for target in targets:
            if (missing := chain_end(target)) is not None:
                logger.error(
                    "Checkpoint blob %s@%s of thread %s (ns %r) extends missing version %s; value dropped",
                    channel,
                    target,
                    thread_id,
                    ns,
                    missing,
                )
                continue
            parts: list[bytes] = []
            version: str | None = target
            while version is not None:
                base_version, blob = rows[version]
                parts.append(blob)
                version = base_version
            resolved[target] = _unframe(b"".join(reversed(parts)))
        return resolved

    # --- writes -----------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns") or ""
        parent_id = configurable.get("checkpoint_id")
        stored_metadata = self._metadata(config, metadata)
        run_id = self._run_id(config, stored_metadata.get("run_id"))
        owner = self._owner_columns(thread_id, run_id)

        channel_values = checkpoint["channel_values"]
        without_values = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        checkpoint_type, checkpoint_bytes = self.serde.dumps_typed(without_values)
        reused = {
            (channel, str(version))
            for channel, version in checkpoint["channel_versions"].items()
            if channel not in new_versions
        }
        blobs: list[tuple[Any, ...]] = []
        cached: list[tuple[BlobKey, Any]] = []
        recent: list[tuple[tuple[str, str, str], _Recent]] = []
        for channel, version in new_versions.items():
            version = str(version)
            key = (thread_id, ns, channel, version)
            value = channel_values.get(channel, _MISSING)
            if value is _MISSING:
                blobs.append((channel, version, EMPTY_BLOB_TYPE, None, None, None, None))
                cached.append((key, _EMPTY))
            elif type(value) is list:
                stored, base_version, start = self._list_delta(thread_id, ns, channel, version, value)
                if base_version is not None:
                    reused.add((channel, base_version))
                blobs.append(
                    (channel, version, LIST_BLOB_TYPE, _frame(stored.elements[start:]),
                     base_version, len(stored.elements), stored.digest)
                )
                cached.append((key, stored))
                recent.append(
                    ((thread_id, ns, channel),
                     _Recent(version, list(value), stored.elements, bytes.fromhex(stored.digest or "")))
                )
            else:
                type_, data = self.serde.dumps_typed(value)
                blobs.append((channel, version, type_, data, None, None, None))
                cached.append((key, (type_, data)))

        insert_blobs = None
        if blobs:
            insert_blobs = (
                f"INSERT INTO {_BLOBS} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
                " owner_run_id, channel, version, type, blob, base_version, length, digest)"
                f" VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)'] * len(blobs))}"
                " ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING"
                " RETURNING channel",
                [item for blob in blobs for item in (thread_id, ns, *owner, *blob)],
            )
        insert_checkpoint = (
            f"INSERT INTO {_CHECKPOINTS} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
            " owner_run_id, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata,"
            " channel_versions, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET"
            " type = excluded.type, checkpoint = excluded.checkpoint,"
            " metadata = excluded.metadata, channel_versions = excluded.channel_versions",
            [
                thread_id, ns, *owner, checkpoint["id"], parent_id, checkpoint_type,
                checkpoint_bytes, json.dumps(stored_metadata),
                json.dumps(dict(checkpoint["channel_versions"])), db_datetime(timezone.now()),
            ],
        )
        release = self._release_shared_blobs(thread_id, ns, reused, owner[2]) if reused else None
        statements = _put_statements(insert_blobs, insert_checkpoint, release)
        def remember(inserted_rows: list[tuple[str]]) -> None:
            # Only what committed may serve later reads or be the base of a later delta,
            # and only what this put inserted: a version written before keeps its first
            # value (callers other than LangGraph may reuse versions).
            inserted = {channel for (channel,) in inserted_rows}
            self._remember(
                [(key, value) for key, value in cached if key[2] in inserted],
                [(key, value) for key, value in recent if key[2] in inserted],
            )

        self._write(statements, remember if blobs else None)
        return self._config(thread_id, ns, checkpoint["id"])

    def _remember(
        self,
        cached: list[tuple[BlobKey, Any]],
        recent: list[tuple[tuple[str, str, str], _Recent]],
    ) -> None:
        for key, value in cached:
            _cache_blob(key, value)
        self._recent.update((key, value) for key, value in recent if _own_version(value.version))

    def _list_delta(
        self, thread_id: str, ns: str, channel: str, version: str, value: list[Any]
    ) -> tuple[_ListValue, str | None, int]:
        """Serialize a list value and pick the earlier version to store it as a delta of:
        (the value, the base version or None, how many elements the base holds).

        When the value extends the list this saver last wrote or read for the channel
        (the same objects, in order), only the new elements are serialized. Message
        objects are treated as values: a graph that changes one in place without
        returning it as an update is not seen here (nor by LangGraph's reducers).
        """
        recent = self._recent.get((thread_id, ns, channel))
        if (
            recent is not None
            and recent.version < version
            and len(recent.items) <= len(value)
            and all(a is b for a, b in zip(recent.items, value, strict=False))
        ):
            start = len(recent.items)
            new = [self.serde.dumps_typed(item) for item in value[start:]]
            digest = recent.digest
            for element in new:
                digest = _chain_digest(digest, element)
            stored = _ListValue(recent.elements + new, digest=digest.hex())
            return stored, (recent.version if start else None), start
        stored = _ListValue.build(self.serde, value)
        base = self._list_base(thread_id, ns, channel, version, stored)
        if base is None:
            return stored, None, 0
        return stored, base[0], base[1]

    def _list_base(
        self, thread_id: str, ns: str, channel: str, version: str, value: _ListValue
    ) -> tuple[str, int] | None:
        """The latest earlier version of the channel that is a prefix of `value`, if any."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT version, length, digest FROM {_BLOBS} WHERE thread_id = %s"
                " AND checkpoint_ns = %s AND channel = %s AND type = %s AND version < %s"
                " AND length <= %s ORDER BY version DESC LIMIT 1",
                [thread_id, ns, channel, LIST_BLOB_TYPE, version, len(value.elements)],
            )
            candidate = cursor.fetchone()
        if candidate is None:
            return None
        base_version, length, digest = candidate
        if value.digests[length].hex() != digest:
            return None
        return base_version, length

    def _release_shared_blobs(
        self, thread_id: str, ns: str, pairs: set[tuple[str, str]], owner_run: Any
    ) -> _Release:
        """The update that detaches blobs this checkpoint reuses from the other run that
        owns them.

        A released list delta takes its bases along. A run's delta builds on its own
        rows or on released ones, so the walk stops at the first row the owner does
        not hold: it follows one chain per run that is built upon, not the history.
        """
        values_sql, values_params = _values_list(sorted(pairs))
        not_mine = " AND owner_run_id <> %s" if owner_run is not None else ""
        # On PostgreSQL the update finds its rows by primary key, never by scanning the
        # table: `id IN (SELECT ...)` was planned as a hash semi-join over all its rows.
        ids_of_shared = (
            "id = ANY(ARRAY(SELECT id FROM shared))"
            if connection.vendor == "postgresql"
            else "id IN (SELECT id FROM shared)"
        )
        shared = (
            "shared (id, channel, owner_run_id, base_version) AS ("
            f" SELECT id, channel, owner_run_id, base_version FROM {_BLOBS}"
            " WHERE thread_id = %s AND checkpoint_ns = %s AND owner_run_id IS NOT NULL"
            f"{not_mine} AND (channel, version) IN {values_sql}"
            " UNION"
            f" SELECT b.id, b.channel, b.owner_run_id, b.base_version FROM {_BLOBS} b"
            " JOIN shared s ON b.channel = s.channel AND b.version = s.base_version"
            " AND b.owner_run_id = s.owner_run_id"
            " WHERE b.thread_id = %s AND b.checkpoint_ns = %s)"
        )
        update = f"UPDATE {_BLOBS} SET owner_run_id = NULL WHERE {ids_of_shared}"
        params: list[Any] = [thread_id, ns]
        if owner_run is not None:
            params.append(owner_run)
        return _Release(shared, update, [*params, *values_params, thread_id, ns])

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns") or ""
        checkpoint_id = configurable["checkpoint_id"]
        dumped = [
            (WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        if not dumped:
            return
        if all(channel in WRITES_IDX_MAP for _idx, channel, _t, _b in dumped):
            # Special writes (error, interrupt, resume...) replace an earlier one of the task.
            on_conflict = (
                "DO UPDATE SET channel = excluded.channel, type = excluded.type,"
                " blob = excluded.blob, task_path = excluded.task_path"
            )
        else:
            # A task's regular writes are final: a retry must not duplicate or change them.
            on_conflict = "DO NOTHING"
        run_id = configurable.get("run_id") or (config.get("metadata") or {}).get("run_id")
        if run_id is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT run_id FROM {_CHECKPOINTS} WHERE thread_id = %s AND checkpoint_ns = %s"
                    " AND checkpoint_id = %s",
                    [thread_id, ns, checkpoint_id],
                )
                found = cursor.fetchone()
            run_id = found[0] if found else None
        owner = self._owner_columns(thread_id, self._run_id(config, run_id))
        self._write([(
            f"INSERT INTO {_WRITES} (thread_id, checkpoint_ns, run_id, owner_thread_id,"
            " owner_run_id, checkpoint_id, task_id, task_path, idx, channel, type, blob)"
            f" VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)'] * len(dumped))}"
            f" ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) {on_conflict}",
            [
                item
                for idx, channel, type_, blob in dumped
                for item in (thread_id, ns, *owner, checkpoint_id, task_id, task_path, idx,
                             channel, type_, blob)
            ],
        )])

    # --- deletes and copies ---------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        with transaction.atomic():
            for model in (CheckpointWrite, CheckpointRow, CheckpointBlob):
                model.objects.filter(thread_id=thread_id).delete()
        logger.info("Deleted checkpoints of thread %s", thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Delete the checkpoints, writes and blobs recorded with these run ids.

        A blob of these runs that a remaining checkpoint of its thread and namespace
        still needs (directly or as the base of a list delta) is kept and released from
        its owner run, so deleting the Run row later cannot take it away. Returns the
        rows deleted per model, as Django's `delete()` counts them.
        """
        run_ids = [str(run_id) for run_id in run_ids]
        deleted: dict[str, int] = {}
        if not run_ids:
            return deleted
        with transaction.atomic():
            scopes = set(
                CheckpointBlob.objects.filter(run_id__in=run_ids)
                .values_list("thread_id", "checkpoint_ns")
                .distinct()
            )
            for model in (CheckpointRow, CheckpointWrite):
                deleted.update(model.objects.filter(run_id__in=run_ids).delete()[1])
            for thread_id, ns in scopes:
                needed = self._needed_blobs(
                    thread_id,
                    ns,
                    CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns).values_list(
                        "channel_versions", flat=True
                    ),
                )
                keep, drop = [], []
                for pk, channel, version in CheckpointBlob.objects.filter(
                    thread_id=thread_id, checkpoint_ns=ns, run_id__in=run_ids
                ).values_list("pk", "channel", "version"):
                    (keep if (channel, version) in needed else drop).append(pk)
                if drop:
                    CheckpointBlob.objects.filter(pk__in=drop).delete()
                if keep:
                    CheckpointBlob.objects.filter(pk__in=keep).update(owner_run=None)
        logger.info("Deleted checkpoints of runs %s", ", ".join(run_ids))
        return deleted

    def _needed_blobs(self, thread_id: str, ns: str, channel_versions: Any) -> set[tuple[str, str]]:
        """(channel, version) of every blob these checkpoints read, bases of deltas included."""
        needed = {
            (channel, str(version))
            for versions in channel_versions
            for channel, version in versions.items()
        }
        bases = {
            (channel, version): base_version
            for channel, version, base_version in CheckpointBlob.objects.filter(
                thread_id=thread_id, checkpoint_ns=ns, base_version__isnull=False
            ).values_list("channel", "version", "base_version")
        }
        pending = list(needed)
        while pending:
            channel, version = pending.pop()
            base_version = bases.get((channel, version))
            if base_version is not None and (channel, base_version) not in needed:
                needed.add((channel, base_version))
                pending.append((channel, base_version))
        return needed

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write of a thread to another thread id.

        The copies are bound to no run and to no thread (`run_id`, `owner_run` and
        `owner_thread` are NULL; the original run id stays in the checkpoint metadata),
        so deleting the source's runs never touches them. The caller that owns the
        target Thread row (the thread_copy service) sets `owner_thread` afterwards.
        Rows the target already has are left as they are.
        """
        source, target = str(source_thread_id), str(target_thread_id)
        if source == target:
            return
        unbound = {"run_id": None, "owner_run_id": None, "owner_thread_id": None}
        with transaction.atomic():
            for model in (CheckpointBlob, CheckpointRow, CheckpointWrite):
                batch = []
                for row in (
                    model.objects.filter(thread_id=source)
                    .order_by("pk")
                    .iterator(chunk_size=_CHAIN_PAGE)
                ):
                    row.pk = None
                    row.thread_id = target
                    for name, value in unbound.items():
                        setattr(row, name, value)
                    batch.append(row)
                    if len(batch) >= _CHAIN_PAGE:
                        model.objects.bulk_create(batch, ignore_conflicts=True)
                        batch = []
                if batch:
                    model.objects.bulk_create(batch, ignore_conflicts=True)
        logger.info("Copied checkpoints of thread %s to thread %s", source, target)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the latest checkpoint per namespace ("keep_latest"), or nothing ("delete").

        keep_latest also drops the writes of the deleted checkpoints and every blob the
        kept checkpoints do not read; a kept list value stored as a delta is rewritten
        in full so that its older versions can go.
        """
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"Unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
        for thread_id in map(str, thread_ids):
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            with transaction.atomic():
                self._prune_keep_latest(thread_id)

    def _prune_keep_latest(self, thread_id: str) -> None:
        namespaces = set(
            CheckpointRow.objects.filter(thread_id=thread_id).values_list(
                "checkpoint_ns", flat=True
            )
        )
        for model in (CheckpointBlob, CheckpointWrite):
            model.objects.filter(thread_id=thread_id).exclude(checkpoint_ns__in=namespaces).delete()
        for ns in namespaces:
            latest = (
                CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns)
                .order_by("-checkpoint_id")
                .first()
            )
            if latest is None:
                continue
            CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                pk=latest.pk
            ).delete()
            CheckpointWrite.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                checkpoint_id=latest.checkpoint_id
            ).delete()
            wanted = {
                (channel, str(version)) for channel, version in latest.channel_versions.items()
            }
            values = self._load_values(thread_id, ns, wanted)
            keep = []
            for pk, channel, version, base_version in CheckpointBlob.objects.filter(
                thread_id=thread_id, checkpoint_ns=ns
            ).values_list("pk", "channel", "version", "base_version"):
                if (channel, version) not in wanted:
                    continue
                keep.append(pk)
                stored = values.get((channel, version))
                if base_version is not None and isinstance(stored, _ListValue):
                    CheckpointBlob.objects.filter(pk=pk).update(
                        blob=_frame(stored.elements), base_version=None
                    )
            CheckpointBlob.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                pk__in=keep
            ).delete()

    # --- async --------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._off_loop(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        remaining = limit
        cursor: tuple[str, int] | None = None
        while True:
            page, cursor = await self._off_loop(
                self._list_page, config, filter, before, remaining, cursor
            )
            for item in page:
                yield item
                if remaining is not None:
                    remaining -= 1
                    if remaining <= 0:
                        return
            if cursor is None:
                return

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._off_loop(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._off_loop(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._off_loop(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._off_loop(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._off_loop(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._off_loop(self.prune, thread_ids, strategy=strategy)

    # --- helpers --------------------------------------------------------------------

    @staticmethod
    def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    @staticmethod
    def _metadata(config: RunnableConfig, metadata: CheckpointMetadata) -> dict[str, Any]:
        """The checkpoint metadata as the Postgres saver stores it, plus all of config["metadata"]
        (a `thread_id` there names the checkpoint's own thread).

        LangGraph's helper keeps only scalar values of config["metadata"]; JSON lists
        and objects there are the caller's metadata too, so they are kept as well.
        """
        stored: dict[str, Any] = dict(get_serializable_checkpoint_metadata(config, metadata))
        for key, value in (config.get("metadata") or {}).items():
            if key == "thread_id":
                # The run engine asks for the thread in the metadata, as the official server
                # writes it there: the thread the checkpoint belongs to, whatever was given.
                stored[key] = str(config["configurable"]["thread_id"])
                continue
            if key in stored or key in EXCLUDED_METADATA_KEYS or key.startswith("__"):
                continue
            if _is_json(value):
                stored[key] = value
        return stored

    def _run_id(self, config: RunnableConfig, fallback: Any) -> str | None:
        run_id = config["configurable"].get("run_id") or fallback
        if run_id is None and self.bind_runs:
            raise ValueError(
                "DjangoSaver(bind_runs=True) needs a run id: set config['configurable']['run_id']"
            )
        return None if run_id is None else str(run_id)

    def _owner_columns(self, thread_id: str, run_id: str | None) -> tuple[Any, Any, Any]:
        """run_id, owner_thread_id and owner_run_id as raw SQL parameters."""
        if not self.bind_runs:
            return (run_id, None, None)
        return (
            run_id,
            db_uuid(thread_id),
            db_uuid(str(run_id)),
        )

    def _write(self, statements: list[tuple[str, list[Any]]], on_commit: Any = None) -> None:
        """Run the statements of one put as one transaction; once it committed, call
        `on_commit` with the rows the first statement returned.

        On PostgreSQL outside a transaction they go through run_statements: a put and a
        put_writes are one statement each there (see _put_statements), a transaction of
        its own with its deferred foreign keys checked at its end: one round trip.
        """
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            returned = run_statements(statements)[0]
            if on_commit is not None:
                on_commit(returned)
            return
        with self._write_transaction(), connection.cursor() as cursor:
            first_rows: list[Any] = []
            for position, (sql, params) in enumerate(statements):
                cursor.execute(sql, params)
                if position == 0 and on_commit is not None:
                    first_rows = cursor.fetchall()
            if on_commit is not None:
                transaction.on_commit(partial(on_commit, first_rows))

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        """One transaction per put/put_writes, so a refused foreign key raises from the call.

        Django's foreign keys are deferred to commit. Inside a caller's transaction our
        block is only a savepoint, so on PostgreSQL the deferred checks are run at the
        end of the block instead (cheap: only this block's pending checks).
        """
        nested = connection.in_atomic_block
        with transaction.atomic():
            yield
            if nested and self.bind_runs and connection.vendor == "postgresql":
                connection.check_constraints()
