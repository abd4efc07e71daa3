"""DjangoSaver's reads: a checkpoint, the list of checkpoints, and the channel values they
need (from the blob cache, or rebuilt from list deltas)."""

from __future__ import annotations

import builtins
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from core.db.sql import from_db_json
from threads.blob_cache import blob_cache
from threads.checkpointer import statements
from threads.checkpointer.cache import EMPTY, cache_blob, own_version
from threads.checkpointer.filters import MISSING, json_contains, sql_filterable
from threads.checkpointer.lists import (
    EMPTY_BLOB_TYPE,
    LIST_BLOB_TYPE,
    ListValue,
    Recent,
    frame,
    unframe,
)
from threads.models import Checkpoint as CheckpointRow

logger = logging.getLogger(__name__)

_LIST_PAGE = 100
# Rows per page when walking a list's delta chain (and copying a thread).
CHAIN_PAGE = 500


class _Row(NamedTuple):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    type: str
    checkpoint: bytes
    metadata: dict[str, Any]


def as_bytes(value: bytes | memoryview | None) -> bytes:
    return b"" if value is None else bytes(value)


class SaverReads(BaseCheckpointSaver[str]):
    """The reads of DjangoSaver (see its docstring); `_recent` is shared with the writes."""

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
        self._recent: dict[tuple[str, str, str], Recent] = {}
        # (thread, namespace) scopes this saver read the latest checkpoint of and found
        # none: a list written there has no earlier version worth looking up as a base.
        self._empty_scopes: set[tuple[str, str]] = set()
        # Blobs no run owns but the one named (None: no run), as (run, thread, namespace,
        # channel, version): those this saver's committed puts inserted for that run, or
        # released. An owner is only ever set by the insert that made the row.
        self._unshared: set[tuple[Any, str, str, str, str]] = set()

    # --- reads ------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns") or ""
        checkpoint_id = get_checkpoint_id(config)
        with connection.cursor() as cursor:
            cursor.execute(*statements.select_checkpoint_with_writes(thread_id, ns, checkpoint_id))
            found = cursor.fetchall()
        if not found:
            if not checkpoint_id:
                self._empty_scopes.add((thread_id, ns))
            return None
        checkpoint_id, parent_id, type_, data, metadata = found[0][:5]
        row = _Row(
            thread_id, ns, checkpoint_id, parent_id, type_, as_bytes(data), from_db_json(metadata)
        )
        writes = [
            (task_path, task_id, idx, channel, w_type, as_bytes(blob))
            for *_checkpoint, task_path, task_id, idx, channel, w_type, blob in found
            if task_id is not None
        ]
        return self._build_tuples(
            [row], remember=True, writes={(thread_id, ns, checkpoint_id): writes}
        )[0]

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
    ) -> tuple[builtins.list[CheckpointTuple], tuple[str, int] | None]:
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
            if sql_filterable(key, value):
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
                    json_contains(row.metadata.get(key, MISSING), value)
                    for key, value in python_filter.items()
                )
            ]
        return self._build_tuples(page), next_cursor

    def _build_tuples(
        self,
        rows: Sequence[Any],
        *,
        remember: bool = False,
        writes: dict[tuple[str, str, str], builtins.list[tuple[str, str, int, str, str, bytes]]]
        | None = None,
    ) -> builtins.list[CheckpointTuple]:
        """Checkpoint tuples for checkpoint rows (model instances or _Row).

        `remember`: keep each list value next to its serialized form (see Recent).
        `writes`: the rows' pending writes, already read (else they are read here).
        """
        checkpoints = [self.serde.loads_typed((row.type, as_bytes(row.checkpoint))) for row in rows]
        by_scope: dict[tuple[str, str], builtins.list[int]] = defaultdict(list)
        for position, row in enumerate(rows):
            by_scope[(row.thread_id, row.checkpoint_ns)].append(position)

        prefetched = writes is not None
        writes = defaultdict(list, writes or {})
        values: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
        for (thread_id, ns), positions in by_scope.items():
            if not prefetched:
                checkpoint_ids = sorted({rows[p].checkpoint_id for p in positions})
                with connection.cursor() as cursor:
                    cursor.execute(
                        statements.select_writes(len(checkpoint_ids)),
                        [thread_id, ns, *checkpoint_ids],
                    )
                    for (
                        task_path,
                        task_id,
                        idx,
                        channel,
                        type_,
                        blob,
                        checkpoint_id,
                    ) in cursor.fetchall():
                        writes[(thread_id, ns, checkpoint_id)].append(
                            (task_path, task_id, idx, channel, type_, as_bytes(blob))
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
                stored = scope_values.get((channel, str(version)), MISSING)
                if stored is MISSING:
                    continue
                if isinstance(stored, ListValue):
                    recent = self._recent.get((row.thread_id, row.checkpoint_ns, channel))
                    if recent is not None and recent.version == str(version):
                        # This saver wrote or read exactly this version: its items
                        # (a run's final state read right after its last put).
                        items = list(recent.items)
                    else:
                        items = [self.serde.loads_typed(e) for e in stored.elements]
                    channel_values[channel] = items
                    if remember and stored.digest and own_version(str(version)):
                        self._recent[(row.thread_id, row.checkpoint_ns, channel)] = Recent(
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
        """Stored values for (channel, version) pairs: (type, bytes), or a ListValue.

        Pairs with no row, or only an "empty" row, are left out. Served from the
        process's blob cache where it can be; what is read is cached.
        """
        found: dict[tuple[str, str], Any] = {}
        missing: set[tuple[str, str]] = set()
        for channel, version in wanted:
            cached = blob_cache.get((thread_id, ns, channel, version))
            if cached is None:
                missing.add((channel, version))
            elif cached is not EMPTY:
                found[(channel, version)] = cached
        if not missing:
            return found
        with connection.cursor() as cursor:
            cursor.execute(*statements.select_blobs(thread_id, ns, sorted(missing)))
            rows = cursor.fetchall()
        deltas: dict[str, dict[str, tuple[str | None, bytes]]] = defaultdict(dict)
        digests: dict[tuple[str, str], str | None] = {}
        for channel, version, type_, blob, base_version, digest in rows:
            key = (thread_id, ns, channel, version)
            if (channel, version) not in missing:
                continue
            if type_ == EMPTY_BLOB_TYPE:
                cache_blob(key, EMPTY)
            elif type_ != LIST_BLOB_TYPE:
                found[(channel, version)] = cache_blob(key, (type_, as_bytes(blob)))
            elif base_version is None:
                value = ListValue(unframe(as_bytes(blob)), digest=digest)
                found[(channel, version)] = cache_blob(key, value)
            else:
                deltas[channel][version] = (base_version, as_bytes(blob))
                digests[(channel, version)] = digest
        for channel, targets in deltas.items():
            for version, elements in self._resolve_chains(thread_id, ns, channel, targets).items():
                value = ListValue(elements, digest=digests[(channel, version)])
                found[(channel, version)] = cache_blob((thread_id, ns, channel, version), value)
        return found

    def _resolve_chains(
        self, thread_id: str, ns: str, channel: str, targets: dict[str, tuple[str | None, bytes]]
    ) -> dict[str, builtins.list[tuple[str, bytes]]]:
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
                    if not isinstance(cached, ListValue):
                        return version
                    rows[version] = (None, frame(cached.elements))
                base_version, _blob = rows[version]
                if base_version is None:
                    return None
                version = base_version

        cursor_version: str | None = max(targets)
        while cursor_version is not None and any(chain_end(v) is not None for v in targets):
            with connection.cursor() as cursor:
                cursor.execute(
                    statements.SELECT_LIST_CHAIN_PAGE,
                    [thread_id, ns, channel, LIST_BLOB_TYPE, cursor_version, CHAIN_PAGE],
                )
                page = cursor.fetchall()
            for page_version, base_version, blob in page:
                rows.setdefault(page_version, (base_version, as_bytes(blob)))
            cursor_version = page[-1][0] if len(page) == CHAIN_PAGE else None

        resolved: dict[str, builtins.list[tuple[str, bytes]]] = {}
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
            parts: builtins.list[bytes] = []
            version: str | None = target
            while version is not None:
                base_version, blob = rows[version]
                parts.append(blob)
                version = base_version
            resolved[target] = unframe(b"".join(reversed(parts)))
        return resolved

    @staticmethod
    def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        }
