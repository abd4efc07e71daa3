"""Server-sent events of runs: a run's (or a thread's runs') Redis stream followed to its end
as SSE frames, with heartbeats and database re-checks, holding no thread or connection."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from access.context import FilterType
from core.db.asyncdb import db
from runs import selectors, streams
from runs.events import event_wanted
from runs.models import ACTIVE_STATUSES

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A comment frame while a stream is quiet, so proxies and clients keep the connection.
HEARTBEAT_SECONDS = 15.0
HEARTBEAT = b": heartbeat\r\n\r\n"
# How long one XREAD blocks before the run's row is read again: a run ended without an
# end marker (its worker was killed and the sweeper ended it) is noticed this late.
RECHECK_SECONDS = 5.0
# A run final in the database gets its end marker just after the commit: wait this long
# for it (and for any event still in flight) before closing.
END_GRACE_SECONDS = 1.0
# Replay ended runs on a thread stream this much before the resume point's timestamp:
# run rows take their times from worker clocks, entry ids from the Redis clock.
CLOCK_SKEW = timedelta(seconds=60)

REPLAY_ALL = "0-0"
RUN_NOT_FOUND = {"error": "HTTPException", "message": "404: Run not found"}
REDIS_LOST = {
    "error": "ServiceUnavailable",
    "message": "The server lost its connection to Redis. Reconnect with the Last-Event-ID received to resume.",
}
DATABASE_LOST = {
    "error": "ServiceUnavailable",
    "message": "The server lost its connection to the database. Reconnect with the Last-Event-ID received to resume.",
}
_ENTRY_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
_MAX_ENTRY_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


def frame(event: str, data: bytes | Any, entry_id: str | None = None) -> bytes:
    """One SSE event: `event:`, `data:` and, for resumable streams, `id:` lines (CRLF)."""
    if not isinstance(data, bytes):
        data = streams.dumps(data)
    out = b"event: " + event.encode() + b"\r\ndata: " + data + b"\r\n"
    if entry_id is not None:
        out += b"id: " + entry_id.encode() + b"\r\n"
    return out + b"\r\n"


def parse_last_event_id(value: str | None) -> str | None:
    """The stream position a Last-Event-ID header asks to resume after: REPLAY_ALL for
    "-1" (or "-"), an entry id, or None when absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if value in ("-1", "-"):
        return REPLAY_ALL
    if _ENTRY_ID.match(value):
        ms, _, seq = value.partition("-")
        # Redis ids are two 64-bit numbers; the thread stream also reads ms as a date.
        if int(ms) <= _MAX_ENTRY_MS and int(seq or 0) < 2**64:
            return value
    logger.info("Ignoring malformed Last-Event-ID %r", value[:64])
    return None


class Heartbeat:
    """When the last bytes went out, shared by the parts of one response."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def sent(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= HEARTBEAT_SECONDS


def _end_error(entry: streams.Entry) -> dict[str, Any] | None:
    """The error of a run that ended badly without an error event of its own (the
    sweeper's "worker lost"), from its end marker."""
    try:
        outcome = json.loads(entry.data)
    except ValueError:
        return None
    if (
        isinstance(outcome, dict)
        and outcome.get("status") in ("error", "timeout")
        and outcome.get("error")
    ):
        return outcome["error"]
    return None


async def run_entries(
    run_id: str, *, after: str, ended: bool = False
) -> AsyncIterator[streams.Entry | None]:
    """The entries of the run's stream after `after` (an entry id, or REPLAY_ALL), live,
    through its end marker (yielded last); None each time the stream stayed quiet for a
    while (the caller may send a heartbeat). `ended` says the run is known to be final."""
    run_uuid = uuid.UUID(run_id)
    cursor = after
    final = ended
    while True:
        entries = await streams.aread_entries(
            run_id, cursor, block_seconds=END_GRACE_SECONDS if final else RECHECK_SECONDS
        )
        for entry in entries:
            cursor = entry.id
            yield entry
            if entry.is_end:
                return
        if entries:
            continue
        if final:
            return
        yield None
        status = await db(selectors.run_status, run_id=run_uuid)
        final = status is None or status not in ACTIVE_STATUSES


async def follow_run(
    run_id: str,
    *,
    after: str,
    with_ids: bool,
    modes: Sequence[str] | None = None,
    heartbeat: Heartbeat | None = None,
    ended: bool = False,
) -> AsyncIterator[bytes]:
    """Frames of the run's events after `after` (an entry id, or REPLAY_ALL), live, until
    its end marker; the stream then simply ends (there is no `end` event). `modes`
    filters to those stream modes; `ended` says the run is known to be final."""
    beat = heartbeat or Heartbeat()
    error_sent = False
    async for entry in run_entries(run_id, after=after, ended=ended):
        if entry is None:
            if beat.due():
                yield HEARTBEAT
                beat.sent()
            continue
        if entry.is_end:
            error = None if error_sent else _end_error(entry)
            if error is not None:
                yield frame("error", error)
            return
        error_sent = error_sent or entry.event == "error"
        if event_wanted(entry.event, modes):
            yield frame(entry.event, entry.data, entry.id if with_ids else None)
            beat.sent()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with no items


async def _only(*frames: bytes) -> AsyncIterator[bytes]:
    for item in frames:
        yield item


async def open_run_join(
    run_id: uuid.UUID,
    *,
    thread_id: uuid.UUID | None,
    last_event_id: str | None,
    modes: Sequence[str] | None,
) -> AsyncIterator[bytes]:
    """The frames of a join on a run, decided before the response starts (so a database
    or Redis failure is still a JSON error).

    Live events from now on (everything if the run has not started yet); for a resumable
    run, from `last_event_id` on with ids. A final run: an empty body. An unknown run (or
    one of another thread): a single error event, as on the official server.
    """
    rid = str(run_id)
    after = parse_last_event_id(last_event_id)
    row = await db(selectors.run_stream_row, run_id=run_id)
    if row is None and thread_id is None:
        # A stateless run's temporary thread (and so its row) goes when it ends; its
        # stream outlives it for a while.
        last = await streams.alast_entry(rid)
        if last is not None and last.is_end and json.loads(last.data).get("status") != "deleted":
            if after is None:
                return _nothing()
            return follow_run(rid, after=after, with_ids=True, modes=modes, ended=True)
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        return _only(frame("error", RUN_NOT_FOUND))
    resumable = bool(row["resumable"])
    active = row["status"] in ACTIVE_STATUSES
    if resumable and after is not None:
        return follow_run(rid, after=after, with_ids=True, modes=modes, ended=not active)
    if not active:
        return _nothing()
    last = await streams.alast_entry(rid)
    if last is not None and last.is_end:
        return _nothing()
    first = await streams.afirst_entry(rid) if last is not None else None
    if last is None or (first is not None and first.id == last.id):
        return follow_run(rid, after=REPLAY_ALL, with_ids=resumable, modes=modes)
    # Joined after the run started: live events only, but first its `metadata` event, as
    # a stream of the run opens with it.
    live = follow_run(rid, after=last.id, with_ids=resumable, modes=modes)
    if first is None or first.event != "metadata":
        return live
    return _prefixed(frame("metadata", first.data, first.id if resumable else None), live)


async def _prefixed(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk


def _entry_time(entry_id: str) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, tz=UTC)


def thread_resume_since(after: str | None) -> datetime | None:
    """The end time from which a thread stream resuming after entry id `after` replays
    ended runs (None: none, the stream starts live)."""
    if after is None:
        return None
    if after == REPLAY_ALL:
        return timezone.now() - timedelta(seconds=settings.SPINDLE_STREAM_TTL_SECONDS)
    return _entry_time(after) - CLOCK_SKEW


async def thread_runs(
    thread_id: uuid.UUID,
    *,
    ended_since: datetime | None,
    wait_for_thread: bool = False,
    thread_filter: FilterType | None = None,
) -> AsyncIterator[tuple[str, bool] | None]:
    """(run id, active) of the runs to follow on a thread, one after another, until the
    thread is deleted: its pending and running runs, those that ended since `ended_since`,
    and every run announced later; None each time none came for a while. The caller
    follows each run to its end before asking for the next. A thread outside
    `thread_filter` (the caller's auth filter) is taken for a missing one."""
    tid = str(thread_id)
    followed: set[str] = set()
    announced = await streams.alast_announcement(tid)
    runs = await db(
        selectors.thread_runs_to_stream,
        thread_id=thread_id,
        ended_since=ended_since,
        thread_filter=thread_filter,
    )
    # A thread that does not exist yet (the protocol's client names it before its first
    # run creates it) is waited for; one that existed ends the stream once it is gone.
    seen = runs is not None or not wait_for_thread
    while runs is not None or not seen:
        for run_id, active in runs or ():
            key = str(run_id)
            if key not in followed:
                followed.add(key)
                yield key, active
        fresh = await streams.aread_announcements(tid, announced, block_seconds=RECHECK_SECONDS)
        if fresh:
            announced = fresh[-1][0]
            # An announcement names runs, not who may see them: under a filter the thread
            # is looked at again (it may have appeared, or changed hands).
            if thread_filter is None or await db(
                selectors.thread_in_filter, thread_id=thread_id, thread_filter=thread_filter
            ):
                runs = [(uuid.UUID(run_id), True) for _id, run_id in fresh if run_id]
                continue
        yield None
        # Also catches a run whose announcement was lost, and a deleted thread.
        runs = await db(
            selectors.thread_runs_to_stream,
            thread_id=thread_id,
            ended_since=ended_since if not seen else None,
            thread_filter=thread_filter,
        )
        seen = seen or runs is not None


async def follow_thread(thread_id: uuid.UUID, *, after: str | None) -> AsyncIterator[bytes]:
    """Frames (with ids) of the thread's runs, one after another, until the client goes
    or the thread is deleted: its pending and running runs from their start and every run
    announced later; with `after` (Last-Event-ID) also what its ended runs still hold
    after that id."""
    beat = Heartbeat()
    async for item in thread_runs(thread_id, ended_since=thread_resume_since(after)):
        if item is None:
            if beat.due():
                yield HEARTBEAT
                beat.sent()
            continue
        run_id, active = item
        async for chunk in follow_run(
            run_id, after=after or REPLAY_ALL, with_ids=True, heartbeat=beat, ended=not active
        ):
            yield chunk
