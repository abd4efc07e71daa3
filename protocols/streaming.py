"""A thread's protocol events, read from its runs' Redis streams: replayed from the start
of what Redis still holds (or after `since`), then live, one run after another. A reader
holds no thread and no database connection while it waits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from access.context import FilterType
from core.db.asyncdb import db
from protocols.events import Event, Filter, RunEvents, seq_entry_time_ms, wanted
from runs import sse


def _graph_name(run_id: str) -> str:
    from runs.models import Run

    row = Run.objects.filter(pk=run_id).values_list("metadata", flat=True).first()
    graph_id = (row or {}).get("graph_id")
    return graph_id if isinstance(graph_id, str) else "root"


async def thread_events(
    thread_id: uuid.UUID,
    subscription: Filter,
    *,
    since: int | None,
    thread_filter: FilterType | None = None,
) -> AsyncIterator[list[Event] | None]:
    """Batches of the thread's protocol events that match `subscription` and come after
    `since`; None each time the thread stayed quiet for a while (time for a heartbeat).
    A thread outside `thread_filter` (the reader's auth filter) shows nothing, as a thread
    that does not exist yet."""
    # Entry ids carry the Redis clock; the resume point is the entry `since` was made from.
    after = sse.REPLAY_ALL if since is None else f"{seq_entry_time_ms(since)}-0"
    async for item in sse.thread_runs(
        thread_id,
        ended_since=sse.thread_resume_since(after),
        wait_for_thread=True,
        thread_filter=thread_filter,
    ):
        if item is None:
            yield None
            continue
        run_id, active = item
        converter = RunEvents(graph_name=await db(_graph_name, run_id))
        async for entry in sse.run_entries(run_id, after=sse.REPLAY_ALL, ended=not active):
            if entry is None:
                yield None
                continue
            batch = wanted(converter.of(entry), subscription, since)
            if batch:
                yield batch
