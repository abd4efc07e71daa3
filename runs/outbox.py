"""What a process could not send to Redis while it was down (run events, end markers,
Celery dispatches), kept in a bounded buffer and sent in order once Redis answers again.

A run's events are appended with ids the worker chooses (`RunPublisher`), so sending one
twice (its reply was lost with the connection, and the buffer sent it again) is refused
by Redis as not newer than the stream's top: every event reaches the stream exactly once,
in order, and a reader resuming with Last-Event-ID misses none and sees none twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError

from runs import streams

logger = logging.getLogger(__name__)

# Redis (or the broker on it) did not answer: worth sending again later. BusyLoadingError
# (Redis still loading its data after a restart) is a ConnectionError.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, BrokerError, ConnectionError)
# The answer of an XADD whose id is not above the stream's top: it is there already.
_ALREADY_ADDED = "equal or smaller than the target stream top"
BATCH = 500
RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0)

Command = streams.Command


@dataclass
class _Item:
    commands: list[Command] = field(default_factory=list)
    call: Callable[[], Any] | None = None


class Outbox:
    """A process's buffer of Redis work that failed, flushed in order by a thread of its
    own. While anything waits in it, new work queues behind it (order is kept).

    Coroutines hand their commands over with `send_soon`: what the loop's callbacks hand
    over before it turns again (the events of many runs) goes in one round trip."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: deque[_Item] = deque()
        self.size = 0  # commands and calls waiting
        self.dropped = 0
        self.lock = threading.Condition()
        self.flusher: threading.Thread | None = None
        # Handed over by send_soon and not sent yet: (commands, essential), in order.
        self.soon: list[tuple[list[Command], bool]] = []
        self.soon_loop: asyncio.AbstractEventLoop | None = None

    def send(self, commands: list[Command], *, essential: bool = False) -> list[Any] | None:
        """Run `commands` in one pipeline now and return the replies; None when they were
        queued instead (Redis down, or earlier work waiting). When the buffer is full,
        non-`essential` commands are dropped (and counted). What `send_soon` was handed
        and has not sent yet goes first, in the same round trip."""
        with self.lock:
            replies = self._send([*self._take_soon(), (commands, essential)])
        return None if replies is None else replies[len(replies) - len(commands) :]

    def send_soon(self, commands: list[Command], *, essential: bool = False) -> None:
        """From a coroutine: send `commands` once the loop has run its ready callbacks, with
        everything else handed over meanwhile (or earlier, with what `send` sends)."""
        loop = asyncio.get_running_loop()
        with self.lock:
            self.soon.append((commands, essential))
            # Another loop's flush may never come (a test's loop that ended).
            scheduled, self.soon_loop = len(self.soon) > 1 and self.soon_loop is loop, loop
        if not scheduled:
            loop.call_soon(self.flush_soon)

    def flush_soon(self) -> None:
        with self.lock:
            parts = self._take_soon()
            if parts:
                self._send(parts)

    def _take_soon(self) -> list[tuple[list[Command], bool]]:
        parts, self.soon = self.soon, []
        return parts

    def _send(self, parts: list[tuple[list[Command], bool]]) -> list[Any] | None:
        """Under the lock: `parts` in one round trip and all their replies, or queued behind
        the waiting work (None)."""
        if not self.items:
            try:
                return _execute([command for commands, _ in parts for command in commands])
            except UNREACHABLE as exc:
                logger.warning("Redis unreachable (%s): buffering until it answers", exc)
        for commands, essential in parts:
            self._queue(_Item(commands=commands), len(commands), essential=essential)
        return None

    def defer(self, call: Callable[[], Any]) -> None:
        """Call `call` once Redis answers again (after what is already waiting); it is
        called again while it raises one of UNREACHABLE."""
        with self.lock:
            self._queue(_Item(call=call), 1, essential=True)

    def pending(self) -> int:
        with self.lock:
            return self.size

    def _queue(self, item: _Item, size: int, *, essential: bool) -> None:
        if not essential and self.size + size > self.limit:
            self.dropped += size
            if self.dropped == size or self.dropped % 1000 < size:
                logger.error(
                    "Redis buffer full (%d): %d commands dropped so far", self.limit, self.dropped
                )
            return
        self.items.append(item)
        self.size += size
        if self.flusher is None or not self.flusher.is_alive():
            self.flusher = threading.Thread(
                target=self._flush_forever, name="redis-outbox", daemon=True
            )
            self.flusher.start()
        self.lock.notify()

    def _flush_forever(self) -> None:
        failures = 0
        while True:
            with self.lock:
                while not self.items:
                    self.lock.wait()
                batch = self._head()
            try:
                if batch[0].call is not None:
                    batch[0].call()
                else:
                    _execute([command for item in batch for command in item.commands])
            except UNREACHABLE:
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            except Exception:
                logger.exception("Buffered Redis work failed; dropped")
            if failures:
                logger.info("Redis answers again: sending buffered work")
            failures = 0
            with self.lock:
                for item in batch:
                    self.items.popleft()
                    self.size -= 1 if item.call is not None else len(item.commands)

    def _head(self) -> list[_Item]:
        """The oldest waiting call alone, or the oldest run of waiting commands (up to
        BATCH of them, sent in one round trip)."""
        if self.items[0].call is not None:
            return [self.items[0]]
        batch: list[_Item] = []
        commands = 0
        for item in self.items:
            if item.call is not None or (batch and commands + len(item.commands) > BATCH):
                break
            batch.append(item)
            commands += len(item.commands)
        return batch


def _execute(commands: list[Command]) -> list[Any]:
    replies = streams.execute(commands, raise_on_error=False)
    for reply in replies:
        if isinstance(reply, redis.ResponseError) and _ALREADY_ADDED not in str(reply):
            logger.warning("Redis refused a buffered command: %s", reply)
    return replies


_outbox: Outbox | None = None
_outbox_pid = 0


def outbox() -> Outbox:
    """This process's outbox (made lazily: locks and threads do not survive a fork)."""
    global _outbox, _outbox_pid
    if _outbox is None or _outbox_pid != os.getpid():
        _outbox = Outbox(settings.SPINDLE_REDIS_BUFFER)
        _outbox_pid = os.getpid()
    return _outbox


class RunPublisher:
    """Appends one run's events to its stream, in order, exactly once, through the outbox.

    Entry ids are `<ms>-<seq>`: the time the run started on this worker's clock, and the
    event's number in the run. Only the run's own worker writes the stream while the run
    is running (a marker written by anyone else, with an id from Redis, comes after the
    run ended), so the ids only grow; a resent event is refused as already there."""

    def __init__(self, run_id: str, thread_id: str) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.key = streams.events_key(run_id)
        self.ms = int(time.time() * 1000)
        self.seq = 0

    def start(self, metadata: dict[str, Any]) -> None:
        self._send(
            lambda: streams.start_commands(
                self.thread_id, self.run_id, metadata, entry_id=self._next_id()
            )
        )

    def _next_id(self) -> str:
        self.seq += 1
        return f"{self.ms}-{self.seq}"

    def event(self, event: str, data: Any) -> None:
        self._send(
            lambda: [streams.event_command(self.run_id, event, data, entry_id=self._next_id())],
            essential=False,
        )

    def end(self, outcome: dict[str, Any], *, stop_watcher: bool = False) -> None:
        self._send(
            lambda: streams.end_commands(
                self.run_id, outcome, entry_id=self._next_id(), stop_watcher=stop_watcher
            )
        )

    def _send(self, build: Callable[[], list[Command]], *, essential: bool = True) -> None:
        """On the run's event loop, with what else its runs publish before the loop turns
        again; from any other thread (the run's end, on the database thread) at once,
        after what the loop handed over."""
        try:
            box = outbox()
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                box.send(build(), essential=essential)
            else:
                box.send_soon(build(), essential=essential)
        except Exception as exc:  # publishing must never fail the run itself
            logger.warning("Run %s: publishing failed: %s", self.run_id, exc)


def publish_end(run_id: str, outcome: dict[str, Any]) -> None:
    """The end marker of a run ended by someone other than its worker (the sweeper, a
    cancel of a pending run), through the outbox: sent later if Redis is down now."""
    try:
        outbox().send(streams.end_commands(run_id, outcome), essential=True)
    except redis.RedisError as exc:
        logger.warning("Run %s: publishing its end failed: %s", run_id, exc)
