"""Executes one claimed run: the graph on an event loop, a watcher thread for cancel
signals and heartbeats, events to Redis, and the run's end."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from traceback import format_exc
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from config.jsonable import to_jsonable
from runs import events, services, streams
from runs.models import CancelAction, Run, RunStatus
from runs.outbox import RunPublisher
from store.backend import DjangoStore

logger = logging.getLogger(__name__)

WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
LANGGRAPH_VERSION = importlib.metadata.version("langgraph")


@dataclass
class Outcome:
    status: str
    values: Any = None
    interrupts: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    error: dict[str, Any] | None = None
    # Stored with the run's error for the admin, never sent to clients.
    traceback: str | None = None
    deleted: bool = False
    # values, interrupts and paused were read from the thread's state as the run left it;
    # without that (the graph never loaded, or the state could not be read) the thread
    # keeps the values it had.
    snapshot: bool = False


def execute_run(run_id: str) -> None:
    """Entry point of the Celery task: claim the run, execute it, end it."""
    # Subscribed before the claim, so no cancel can fall between the claim and the
    # subscription; a cancel before the claim finds the run pending and ends it there.
    control = _subscribe(run_id)
    reusable = False
    try:
        run = _claim(uuid.UUID(run_id))
        if run is None:
            logger.info("Run %s: not claimed (gone, taken, finished or waiting its turn)", run_id)
            reusable = True
            return
        execution = RunExecution(run, control)
        execution.execute()
        # The watcher thread reads the connection; only once it has gone may the next run use it.
        reusable = not execution.watcher.is_alive()
    finally:
        _release(control, run_id, reusable=reusable)


def _claim(run_id: uuid.UUID) -> Run | None:
    try:
        return services.run_claim(run_id=run_id, worker=WORKER_NAME)
    except (OperationalError, InterfaceError) as exc:
        # The kept connection died while idle (the database restarted): once more on a
        # new one. Cheaper than pinging the database before every run.
        logger.warning("Run %s: claim failed on a stale database connection (%s); retrying", run_id, exc)
        connection.close()
        return services.run_claim(run_id=run_id, worker=WORKER_NAME)


# This worker process's cancel-channel connection, kept from run to run (a new Redis
# connection per run cost more than the rest of the run's Redis traffic).
_control: Any = None
_control_pid = 0


def _subscribe(run_id: str) -> Any:
    global _control, _control_pid
    try:
        if _control is None or _control_pid != os.getpid():
            _control = streams.sync_client().pubsub(ignore_subscribe_messages=True)
            _control_pid = os.getpid()
        _control.subscribe(streams.control_channel(run_id))
        return _control
    except Exception as exc:
        logger.warning("Run %s: no cancel channel (%s); relying on heartbeats", run_id, exc)
        _drop_control()
        return None


def _release(control: Any, run_id: str, *, reusable: bool) -> None:
    if control is None:
        return
    if reusable:
        try:
            control.unsubscribe(streams.control_channel(run_id))
            return
        except Exception as exc:
            logger.debug("Run %s: leaving the cancel channel failed: %s", run_id, exc)
    _drop_control()


class DatabaseThread(ThreadPoolExecutor):
    """The thread a worker process gives the checkpointer's database calls: one thread,
    so one connection, kept from run to run like the main thread's.

    As with the claim, the connection is not pinged before use: a call that meets a dead
    one (the database restarted) is run again on a new connection (_on_a_new_connection).
    The checkpointer's writes are upserts, so running one twice changes nothing.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="run-db")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(_on_a_new_connection, fn, *args, **kwargs)


def _on_a_new_connection(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call `fn`; if the connection turns out dead (the database restarted), call it again
    on a new one, and keep trying while the database is down, for up to
    SPINDLE_STALE_AFTER_SECONDS (after that the sweeper would end the run anyway)."""
    deadline = None
    pause = 0.1
    while True:
        try:
            return fn(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or connection.is_usable():
                raise  # the database answered: not a dropped connection
            connection.close()
            if deadline is None:
                logger.warning("Database call failed on a dropped connection (%s); retrying", exc)
                deadline = time.monotonic() + settings.SPINDLE_STALE_AFTER_SECONDS
                continue
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(1.0, pause * 2)


_db_thread: DatabaseThread | None = None
_db_thread_pid = 0


def db_executor() -> DatabaseThread:
    """This process's DatabaseThread (made lazily: threads do not survive the pool's fork)."""
    global _db_thread, _db_thread_pid
    if _db_thread is None or _db_thread_pid != os.getpid():
        _db_thread = DatabaseThread()
        _db_thread_pid = os.getpid()
    return _db_thread


def _drop_control() -> None:
    global _control
    if _control is not None:
        try:
            _control.close()
        except Exception as exc:
            logger.debug("Closing the cancel channel connection failed: %s", exc)
    _control = None


class RunExecution:
    def __init__(self, run: Run, control: Any = None) -> None:
        self.run = run
        self.control = control  # the run's cancel channel, subscribed before the claim
        self.run_id = str(run.pk)
        self.loop = asyncio.new_event_loop()
        # Synchronous nodes run in the loop's default executor; keep a handle on it so a
        # cancel can tell whether one is still running.
        self.node_threads = ThreadPoolExecutor(thread_name_prefix=f"run-{self.run_id[:8]}")
        self.loop.set_default_executor(self.node_threads)
        self.task: asyncio.Task | None = None
        self.cancel_action: str | None = None
        # Set once the graph's coroutine has returned: the event loop is no longer blocked.
        self.done = threading.Event()
        self.stopping = threading.Event()
        self.graph: Any = None
        self.thread_config: dict[str, Any] = {"configurable": {"thread_id": str(run.thread_id)}}
        self.channel = streams.control_channel(self.run_id)
        # Events go through the process's outbox: kept while Redis is down, sent in order.
        self.publisher = RunPublisher(self.run_id, str(run.thread_id))
        self.watcher = threading.Thread(target=self._watch, name=f"watch-{self.run_id}", daemon=True)

    # -- lifecycle ---------------------------------------------------------------

    def execute(self) -> None:
        logger.info("Run %s: started on thread %s", self.run_id, self.run.thread_id)
        self.watcher.start()
        try:
            outcome = self.loop.run_until_complete(self._execute())
            self.done.set()
            # Interrupted, failed or timed out: the checkpoints written so far stay, and
            # the thread shows that state, as the official server's does.
            self._keep_state(outcome, lambda: self.loop.run_until_complete(self.graph.aget_state(self.thread_config)))
            if self.cancel_action and not self._drain_node_threads():
                # A synchronous node is still running in a thread: only ending the
                # process stops it.
                self._terminate(outcome)
        finally:
            self.done.set()
            self.stopping.set()
            self.loop.close()
        self._finish(outcome)
        self.watcher.join(timeout=5)

    def _drain_node_threads(self) -> bool:
        """Wait up to the grace period for synchronous nodes to return after a cancel."""
        self.node_threads.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + settings.SPINDLE_CANCEL_GRACE_SECONDS
        for thread in list(getattr(self.node_threads, "_threads", ())):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return False
        return True

    def _terminate(self, outcome: Outcome) -> None:
        """End the run as the cancel asked, then end this worker process: the graph is
        stuck in synchronous code that no cancel can reach."""
        logger.error(
            "Run %s: graph did not stop within %.1fs of a cancel; terminating worker process %s",
            self.run_id,
            settings.SPINDLE_CANCEL_GRACE_SECONDS,
            os.getpid(),
        )
        # The event loop is blocked: read the state it left from this thread.
        self._keep_state(outcome, lambda: self.graph.get_state(self.thread_config))
        self._finish(outcome)
        connection.close()
        # The Celery prefork pool replaces this child; the message was revoked, and a
        # redelivery finds the run no longer pending.
        os._exit(1)

    def _finish(self, outcome: Outcome) -> None:
        if outcome.deleted:
            logger.info("Run %s: rolled back while running; its writes were discarded", self.run_id)
        else:
            _on_a_new_connection(
                services.run_finish,
                run_id=self.run.pk,
                status=outcome.status,
                error=outcome.error,
                values=outcome.values,
                interrupts=outcome.interrupts,
                paused=outcome.paused,
                update_values=outcome.snapshot,
                traceback=outcome.traceback,
            )
            logger.info("Run %s: ended %s", self.run_id, outcome.status)
        end: dict[str, Any] = {"status": "deleted"}
        if not outcome.deleted:
            end = {"status": outcome.status, "error": outcome.error}
            if outcome.snapshot:
                end["values"] = outcome.values
        # The end marker also wakes the watcher thread (stop_watcher), which then exits.
        self.publisher.end(end, stop_watcher=True)

    async def _execute(self) -> Outcome:
        self.task = asyncio.current_task()
        try:
            return await asyncio.wait_for(self._stream(), timeout=settings.SPINDLE_RUN_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            return self._cancelled_outcome()
        except TimeoutError:
            if self.cancel_action:
                return self._cancelled_outcome()
            error = {"error": "TimeoutError", "message": "The run exceeded SPINDLE_RUN_TIMEOUT_SECONDS"}
            self._publish("error", error)
            return Outcome(status=RunStatus.TIMEOUT, error=error)
        except Exception as exc:
            if self.cancel_action == CancelAction.ROLLBACK:
                return Outcome(status=RunStatus.INTERRUPTED, deleted=True)
            logger.exception("Run %s: the graph raised", self.run_id)
            error = {"error": type(exc).__name__, "message": str(exc)}
            self._publish("error", error)
            return Outcome(status=RunStatus.ERROR, error=error, traceback=format_exc())

    def _cancelled_outcome(self) -> Outcome:
        return Outcome(status=RunStatus.INTERRUPTED, deleted=self.cancel_action == CancelAction.ROLLBACK)

    async def _stream(self) -> Outcome:
        from langgraph.types import Command

        from assistants.graphs import aget_graph
        from threads.checkpointer import DjangoSaver

        kwargs = self.run.kwargs
        config = dict(kwargs.get("config") or {})
        # What the official server writes into every checkpoint's metadata, so history
        # filters on these keys (get_history(metadata=...)) find the same checkpoints.
        config["metadata"] = {
            **(config.get("metadata") or {}),
            **self.run.metadata,
            "run_attempt": self.run.attempt,
            "langgraph_version": LANGGRAPH_VERSION,
            "langgraph_host": "self-hosted",
            "run_id": self.run_id,
            "thread_id": str(self.run.thread_id),
        }
        graph_id = self.run.metadata.get("graph_id") or config["configurable"]["graph_id"]
        saver = DjangoSaver(bind_runs=True, executor=db_executor())
        graph = await aget_graph(
            graph_id, config=config, checkpointer=saver, store=DjangoStore(executor=db_executor()),
            access_context="threads.create_run", context=kwargs.get("context") or None,
        )
        self.graph = graph

        command = kwargs.get("command")
        graph_input = Command(**command) if command else kwargs.get("input")
        requested = kwargs.get("stream_mode") or ["values"]
        subgraphs = bool(kwargs.get("subgraphs"))
        options: dict[str, Any] = {
            "stream_mode": events.graph_stream_modes(requested),
            "subgraphs": subgraphs,
            "durability": kwargs.get("durability") or "async",
        }
        for key in ("interrupt_before", "interrupt_after"):
            if kwargs.get(key):
                options[key] = kwargs[key]
        if kwargs.get("context"):
            options["context"] = kwargs["context"]
        # The root of the LangChain run tree is the API run: events carry its id.
        config["run_id"] = self.run.pk
        converter = events.ChunkConverter(requested, root_run_id=self.run_id)

        self.publisher.start({"run_id": self.run_id, "attempt": self.run.attempt})
        if events.protocol_run(config):
            # The thread-stream protocol: langgraph's own v3 stream owns the modes and
            # subgraph namespaces.
            for key in ("stream_mode", "subgraphs"):
                options.pop(key)
            run_stream = await graph.astream_events(graph_input, config, version="v3", **options)
            async with run_stream:
                async for item in run_stream:
                    entry = events.protocol_entry(item)
                    if entry is not None:
                        self._publish(*entry)
        elif "events" in requested:
            # astream_events carries the other modes' chunks on the root's on_chain_stream
            # events, in execution order: one pass over the graph serves every mode.
            async for event in graph.astream_events(graph_input, config, version="v2", **options):
                self._publish_chunk(converter.event(event, subgraphs=subgraphs))
        else:
            async for item in graph.astream(graph_input, config, **options):
                self._publish_chunk(converter.chunk(item, subgraphs=subgraphs))

        return await self._snapshot(Outcome(status=RunStatus.SUCCESS))

    async def _snapshot(self, outcome: Outcome) -> Outcome:
        """Fill the outcome with the thread's state as the run left it."""
        return self._fill(outcome, await self.graph.aget_state(self.thread_config))

    def _keep_state(self, outcome: Outcome, read_state: Callable[[], Any]) -> None:
        """Fill an outcome that has no snapshot yet with the state the run left, if the
        graph loaded and the state can be read; otherwise the thread keeps its values."""
        if outcome.snapshot or outcome.deleted or self.graph is None:
            return
        try:
            self._fill(outcome, read_state())
        except Exception:
            logger.exception("Run %s: could not read the state it left", self.run_id)

    def _fill(self, outcome: Outcome, state: Any) -> Outcome:
        values = to_jsonable(state.values)
        interrupts = {
            task.id: [to_jsonable(i) for i in task.interrupts] for task in state.tasks if task.interrupts
        }
        if interrupts and isinstance(values, dict):
            values = {**values, "__interrupt__": [i for group in interrupts.values() for i in group]}
        outcome.values = values
        outcome.interrupts = interrupts
        outcome.paused = bool(state.next)
        outcome.snapshot = True
        return outcome

    # -- events ------------------------------------------------------------------

    def _publish_chunk(self, pairs: list[tuple[str, Any]]) -> None:
        for event, data in pairs:
            self._publish(event, data)

    def _publish(self, event: str, data: Any) -> None:
        self.publisher.event(event, data)

    # -- watcher thread: cancel signals, heartbeats, the grace period -------------

    def _watch(self) -> None:
        pubsub = self.control
        try:
            interval = settings.SPINDLE_HEARTBEAT_SECONDS
            # Without a cancel channel, read the durable cancel flag at once.
            next_beat = time.monotonic() + interval if pubsub is not None else 0.0
            while not self.stopping.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    action = self._heartbeat()
                    next_beat = now + interval
                    if action:
                        self._cancel(action)
                        return
                message = self._next_message(pubsub, timeout=max(0.0, next_beat - time.monotonic()))
                if message == streams.STOP_MESSAGE:
                    return
                if message and message.startswith(streams.CANCEL_PREFIX):
                    self._cancel(message.removeprefix(streams.CANCEL_PREFIX))
                    return
        finally:
            connection.close()

    def _next_message(self, pubsub: Any, *, timeout: float) -> str | None:
        if pubsub is None:
            self.stopping.wait(timeout)
            return None
        try:
            message = pubsub.get_message(timeout=timeout)
        except Exception as exc:
            logger.warning("Run %s: cancel channel failed (%s); relying on heartbeats", self.run_id, exc)
            self.stopping.wait(timeout)
            return None
        if not message or message.get("type") != "message":
            return None
        channel = message.get("channel")
        if (channel.decode() if isinstance(channel, bytes) else channel) != self.channel:
            return None  # a late message for an earlier run on this reused connection
        data = message["data"]
        return data.decode() if isinstance(data, bytes) else str(data)

    def _heartbeat(self) -> str | None:
        try:
            close_old_connections()
            return services.run_heartbeat(run_id=self.run.pk)
        except Exception as exc:
            logger.warning("Run %s: heartbeat failed: %s", self.run_id, exc)
            return None

    def _cancel(self, action: str) -> None:
        """Stop the graph at its next await; if it has not stopped within the grace
        period (blocked in synchronous code), end the run and terminate this process."""
        if self.done.is_set():
            return
        logger.info("Run %s: cancel (%s) received", self.run_id, action)
        self.cancel_action = action
        task = self.task
        if task is not None:
            self.loop.call_soon_threadsafe(task.cancel)
        if self.done.wait(settings.SPINDLE_CANCEL_GRACE_SECONDS):
            return
        # The event loop itself is blocked (synchronous code in an async node).
        self._terminate(Outcome(status=RunStatus.INTERRUPTED, deleted=action == CancelAction.ROLLBACK))



