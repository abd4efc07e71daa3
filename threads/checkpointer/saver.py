"""DjangoSaver: the LangGraph checkpointer over the checkpoint models in threads/models.py.

Its layers: statements.py (the SQL), lists.py (list values element by element), cache.py
(the blob cache), filters.py (metadata), then the saver in reads.py, writes.py and
maintenance.py; this module adds versions and the async methods."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from core.db.thread import DbThread, off_loop
from threads.checkpointer.maintenance import SaverMaintenance

T = TypeVar("T")


class DjangoSaver(SaverMaintenance):
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

    async def _off_loop(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.executor is None:
            return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)
        return await off_loop(self.executor, fn, *args, **kwargs)

    async def _write_off_loop(self, fn: Callable[..., T], /, *args: Any) -> T:
        """A put or put_writes: on a DbThread, in one transaction with the writes handed
        over next to it (core/db/thread.py)."""
        if isinstance(self.executor, DbThread):
            return await self.executor.call_write(fn, *args)
        return await self._off_loop(fn, *args)

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
        return await self._write_off_loop(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._write_off_loop(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._off_loop(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._off_loop(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._off_loop(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._off_loop(self.prune, thread_ids, strategy=strategy)


def _keep_signatures() -> None:
    # LangGraph asks every run whether put_writes takes `task_path` (inspect.signature,
    # about 0.1 ms); a signature the function carries is answered without inspecting it.
    for method in (DjangoSaver.put_writes, DjangoSaver.aput_writes):
        method.__signature__ = inspect.signature(method)  # type: ignore[union-attr]


_keep_signatures()
