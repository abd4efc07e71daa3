"""DjangoSaver's writes: put (list values as deltas of an earlier version where they extend
one, shared blobs released from their owner run) and put_writes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    EXCLUDED_METADATA_KEYS,
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)

from core.db import sql
from core.db.sql import db_datetime, db_uuid
from threads.blob_cache import BlobKey
from threads.checkpointer import statements
from threads.checkpointer.cache import EMPTY, cache_blob, own_version
from threads.checkpointer.filters import MISSING, is_json
from threads.checkpointer.lists import (
    EMPTY_BLOB_TYPE,
    LIST_BLOB_TYPE,
    ListValue,
    Recent,
    chain_digest,
    frame,
)
from threads.checkpointer.reads import SaverReads


class SaverWrites(SaverReads):
    """The writes of DjangoSaver (see its docstring)."""

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
        recent: list[tuple[tuple[str, str, str], Recent]] = []
        for channel, version in new_versions.items():
            version = str(version)
            key = (thread_id, ns, channel, version)
            value = channel_values.get(channel, MISSING)
            if value is MISSING:
                blobs.append((channel, version, EMPTY_BLOB_TYPE, None, None, None, None))
                cached.append((key, EMPTY))
            elif type(value) is list:
                stored, base_version, start = self._list_delta(
                    thread_id, ns, channel, version, value
                )
                if base_version is not None:
                    reused.add((channel, base_version))
                blobs.append(
                    (
                        channel,
                        version,
                        LIST_BLOB_TYPE,
                        frame(stored.elements[start:]),
                        base_version,
                        len(stored.elements),
                        stored.digest,
                    )
                )
                cached.append((key, stored))
                recent.append(
                    (
                        (thread_id, ns, channel),
                        Recent(
                            version,
                            list(value),
                            stored.elements,
                            bytes.fromhex(stored.digest or ""),
                        ),
                    )
                )
            else:
                type_, data = self.serde.dumps_typed(value)
                blobs.append((channel, version, type_, data, None, None, None))
                cached.append((key, (type_, data)))

        insert_blobs = None
        if blobs:
            insert_blobs = (
                statements.insert_blobs(len(blobs)),
                [item for blob in blobs for item in (thread_id, ns, *owner, *blob)],
            )
        insert_checkpoint = (
            statements.INSERT_CHECKPOINT,
            [
                thread_id,
                ns,
                *owner,
                checkpoint["id"],
                parent_id,
                checkpoint_type,
                checkpoint_bytes,
                json.dumps(stored_metadata),
                json.dumps(dict(checkpoint["channel_versions"])),
                db_datetime(timezone.now()),
            ],
        )
        # A blob this saver released, or inserted for this run, is owned by no other run:
        # the release would find nothing to do for it (a run's later puts reuse its own
        # versions, and the first put released what it took from earlier runs).
        run = owner[2]
        releasing = {
            pair
            for pair in reused
            if (None, thread_id, ns, *pair) not in self._unshared
            and (run, thread_id, ns, *pair) not in self._unshared
        }
        release = (
            statements.release_shared_blobs(thread_id, ns, releasing, owner[2])
            if releasing
            else None
        )
        put = statements.put_statements(insert_blobs, insert_checkpoint, release)

        def remember(inserted_rows: list[tuple[str]]) -> None:
            # Only what committed may serve later reads or be the base of a later delta,
            # and only what this put inserted: a version written before keeps its first
            # value (callers other than LangGraph may reuse versions).
            inserted = {channel for (channel,) in inserted_rows}
            self._remember(
                [(key, value) for key, value in cached if key[2] in inserted],
                [(key, value) for key, value in recent if key[2] in inserted],
            )
            self._unshared.update((run, *key) for key, _value in cached if key[2] in inserted)
            self._unshared.update((None, thread_id, ns, *pair) for pair in releasing)

        self._write(put, remember if blobs or releasing else None)
        return self._config(thread_id, ns, checkpoint["id"])

    def _remember(
        self,
        cached: list[tuple[BlobKey, Any]],
        recent: list[tuple[tuple[str, str, str], Recent]],
    ) -> None:
        for key, value in cached:
            cache_blob(key, value)
        self._recent.update((key, value) for key, value in recent if own_version(value.version))

    def _list_delta(
        self, thread_id: str, ns: str, channel: str, version: str, value: list[Any]
    ) -> tuple[ListValue, str | None, int]:
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
                digest = chain_digest(digest, element)
            stored = ListValue(recent.elements + new, digest=digest.hex())
            return stored, (recent.version if start else None), start
        stored = ListValue.build(self.serde, value)
        if (thread_id, ns) in self._empty_scopes:
            # The scope had no checkpoint when this saver read it (a thread's first run):
            # the lookup would find no base, or one left by a rolled-back run. A value
            # stored whole is always valid; a delta only saves space.
            return stored, None, 0
        base = self._list_base(thread_id, ns, channel, version, stored)
        if base is None:
            return stored, None, 0
        return stored, base[0], base[1]

    def _list_base(
        self, thread_id: str, ns: str, channel: str, version: str, value: ListValue
    ) -> tuple[str, int] | None:
        """The latest earlier version of the channel that is a prefix of `value`, if any."""
        with connection.cursor() as cursor:
            cursor.execute(
                statements.SELECT_LIST_BASE,
                [thread_id, ns, channel, LIST_BLOB_TYPE, version, len(value.elements)],
            )
            candidate = cursor.fetchone()
        if candidate is None:
            return None
        base_version, length, digest = candidate
        if value.digests[length].hex() != digest:
            return None
        return base_version, length

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
        special = all(channel in WRITES_IDX_MAP for _idx, channel, _t, _b in dumped)
        on_conflict = statements.WRITES_REPLACE if special else statements.WRITES_KEEP
        run_id = configurable.get("run_id") or (config.get("metadata") or {}).get("run_id")
        if run_id is None:
            with connection.cursor() as cursor:
                cursor.execute(statements.SELECT_CHECKPOINT_RUN, [thread_id, ns, checkpoint_id])
                found = cursor.fetchone()
            run_id = found[0] if found else None
        owner = self._owner_columns(thread_id, self._run_id(config, run_id))
        self._write(
            [
                (
                    statements.insert_writes(len(dumped), on_conflict),
                    [
                        item
                        for idx, channel, type_, blob in dumped
                        for item in (
                            thread_id,
                            ns,
                            *owner,
                            checkpoint_id,
                            task_id,
                            task_path,
                            idx,
                            channel,
                            type_,
                            blob,
                        )
                    ],
                )
            ]
        )

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
            if is_json(value):
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

    def _write(self, batch: list[tuple[str, list[Any]]], on_commit: Any = None) -> None:
        """Run the statements of one put as one transaction; once it committed, call
        `on_commit` with the rows the first statement returned.

        On PostgreSQL outside a transaction they go through run_statements: a put and a
        put_writes are one statement each there (see statements.put_statements), a transaction of
        its own with its deferred foreign keys checked at its end: one round trip.
        """
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # Or, on a database thread grouping its calls' writes, one transaction with them.
            sql.write(batch, on_commit)
            return
        with self._write_transaction(), connection.cursor() as cursor:
            first_rows: list[Any] = []
            for position, (statement, params) in enumerate(batch):
                cursor.execute(statement, params)
                if position == 0 and on_commit is not None and cursor.description is not None:
                    # The blob insert's rows (the channels inserted); a put without new
                    # blobs starts with the checkpoint's insert, which returns none.
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
