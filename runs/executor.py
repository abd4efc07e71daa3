"""Executes one claimed run as a coroutine on its worker process's event loop
(runs/runner.py): the graph, events to Redis, and the run's end."""

from __future__ import annotations

import asyncio
import contextvars
import importlib.metadata
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from traceback import format_exc
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from langchain_core.runnables import RunnableConfig

from assistants.graphs import aget_graph
from core.db.thread import DbThread
from core.json import to_jsonable
from runs import events, services
from runs.models import CancelAction, Run, RunStatus
from runs.outbox import RunPublisher
from store.backend import DjangoStore
from threads.checkpointer import DjangoSaver

logger = logging.getLogger(__name__)

T = TypeVar("T")

LANGGRAPH_VERSION = importlib.metadata.version("langgraph")
# The run whose coroutine is executing: its synchronous calls count against it
# (runs.runner.NodeThreads).
CURRENT_RUN: contextvars.ContextVar[RunExecution] = contextvars.ContextVar("spindle_run")


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


def claim(run_id: uuid.UUID, *, worker: str) -> Run | None:
    try:
        return services.run_claim(run_id=run_id, worker=worker)
    except (OperationalError, InterfaceError) as exc:
        # The kept connection died while idle (the database restarted): once more on a
        # new one. Cheaper than pinging the database before every run.
        logger.warning(
            "Run %s: claim failed on a stale database connection (%s); retrying", run_id, exc
        )
        connection.close()
        return services.run_claim(run_id=run_id, worker=worker)


class DatabaseThread(DbThread):
    """The thread a worker process gives its runs' database calls (the checkpointer's, the
    store's, the run's end): one thread, so one connection, kept from run to run like the
    main thread's; the loop's calls reach it in batches (core/db/thread.py).

    As with the claim, the connection is not pinged before use: a call that meets a dead
    one (the database restarted) is run again on a new connection (_on_a_new_connection).
    The checkpointer's writes are upserts, so running one twice changes nothing.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="run-db")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(_on_a_new_connection, fn, *args, **kwargs)

    def run_call(self, fn: Callable[[], T]) -> T:
        return _on_a_new_connection(fn)


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


class RunExecution:
    """One claimed run. Its coroutine (`execute`) executes on the process's event loop; the
    monitor thread (runs.runner) calls `request_cancel` and `deadline`."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.run_id = str(run.pk)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.cancel_action: str | None = None
        self.cancelled_at: float | None = None
        self.started_at = time.monotonic()
        # Set once the graph's coroutine has returned: the event loop is not blocked by it.
        self.returned = threading.Event()
        # Synchronous calls of this run now running in a node thread.
        self.node_calls = 0
        self.node_calls_lock = threading.Lock()
        self.graph: Any = None
        self.thread_config: dict[str, Any] = {"configurable": {"thread_id": str(run.thread_id)}}
        # Events go through the process's outbox: kept while Redis is down, sent in order.
        self.publisher = RunPublisher(self.run_id, str(run.thread_id))

    # -- lifecycle ---------------------------------------------------------------

    async def execute(self, hard_stop: Callable[[RunExecution, Outcome], Any]) -> None:
        """Execute the graph and end the run. `hard_stop` ends the process when a cancelled
        run still has a thread in synchronous code after the grace period."""
        logger.info("Run %s: started on thread %s", self.run_id, self.run.thread_id)
        CURRENT_RUN.set(self)  # the coroutine runs in a context of its own
        self.loop = asyncio.get_running_loop()
        try:
            outcome = await self._execute()
        finally:
            self.returned.set()
            # The task's context holds this execution (CURRENT_RUN): without the task
            # the two are freed by reference counting, not the garbage collector.
            self.task = None
        if self.cancel_action and not await self._drain_node_threads():
            # A synchronous node is still running in a thread: only ending the process
            # stops it. (Off the loop: Django refuses database calls on a loop's thread.)
            await self.loop.run_in_executor(db_executor(), hard_stop, self, outcome)
        await db_executor().call(self.conclude, outcome)

    def conclude(self, outcome: Outcome) -> None:
        """On the database thread: read the state the run left into its outcome, then end
        the run (one hand-over for both). A graph that returned but whose state cannot be
        read ends as `error`; an interrupted, failed or timed-out run keeps the
        checkpoints written so far, and the thread shows that state, as the official
        server's does."""
        if outcome.status == RunStatus.SUCCESS and not outcome.snapshot:
            try:
                self._fill(outcome, self.graph.get_state(self.thread_config))
            except Exception as exc:
                outcome = self._failed(exc)
        else:
            self.keep_state(outcome)
        self.finish(outcome)

    def request_cancel(self, action: str) -> None:
        """Stop the graph at its next await (called from another thread). If it has not
        returned by `deadline()`, the monitor ends the process."""
        if self.returned.is_set() or self.cancel_action:
            return
        logger.info("Run %s: cancel (%s) received", self.run_id, action)
        self.cancel_action = action
        self.cancelled_at = time.monotonic()
        task, loop = self.task, self.loop
        if task is not None and loop is not None:
            loop.call_soon_threadsafe(task.cancel)

    def deadline(self) -> tuple[float | None, Outcome]:
        """When the graph must have returned to the loop, and how the run ends if not."""
        grace = settings.SPINDLE_CANCEL_GRACE_SECONDS
        if self.cancelled_at is not None:
            return self.cancelled_at + grace, self._cancelled_outcome()
        error = {"error": "TimeoutError", "message": "The run exceeded SPINDLE_RUN_TIMEOUT_SECONDS"}
        return (
            self.started_at + settings.SPINDLE_RUN_TIMEOUT_SECONDS + grace,
            Outcome(status=RunStatus.TIMEOUT, error=error),
        )

    def in_node_thread(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with self.node_calls_lock:
            self.node_calls += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self.node_calls_lock:
                self.node_calls -= 1

    async def _drain_node_threads(self) -> bool:
        """Wait up to the grace period for synchronous nodes to return after a cancel."""
        deadline = time.monotonic() + settings.SPINDLE_CANCEL_GRACE_SECONDS
        while self.node_calls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self.node_calls

    def keep_state(self, outcome: Outcome) -> None:
        """From another thread while the loop is blocked: fill an outcome that has no
        snapshot yet with the state the run left, if the graph loaded and it can be read."""
        if outcome.snapshot or outcome.deleted or self.graph is None:
            return
        try:
            self._fill(outcome, self.graph.get_state(self.thread_config))
        except Exception:
            logger.exception("Run %s: could not read the state it left", self.run_id)

    def finish(self, outcome: Outcome) -> None:
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
                webhook=bool(self.run.kwargs.get("webhook")),
            )
            logger.info("Run %s: ended %s", self.run_id, outcome.status)
        end: dict[str, Any] = {"status": "deleted"}
        if not outcome.deleted:
            end = {"status": outcome.status, "error": outcome.error}
            if outcome.snapshot:
                end["values"] = outcome.values
        self.publisher.end(end)

    async def _execute(self) -> Outcome:
        self.task = asyncio.current_task()
        if self.cancel_action:  # cancelled before the coroutine started
            return self._cancelled_outcome()
        try:
            return await asyncio.wait_for(
                self._stream(), timeout=settings.SPINDLE_RUN_TIMEOUT_SECONDS
            )
        except asyncio.CancelledError:
            return self._cancelled_outcome()
        except TimeoutError:
            if self.cancel_action:
                return self._cancelled_outcome()
            error = {
                "error": "TimeoutError",
                "message": "The run exceeded SPINDLE_RUN_TIMEOUT_SECONDS",
            }
            self.publish("error", error)
            return Outcome(status=RunStatus.TIMEOUT, error=error)
        except Exception as exc:
            # cancel() sets cancel_action while the graph runs; mypy keeps the narrowing above.
            if self.cancel_action == CancelAction.ROLLBACK:  # type: ignore[comparison-overlap]
                return Outcome(status=RunStatus.INTERRUPTED, deleted=True)
            return self._failed(exc)

    def _failed(self, exc: Exception) -> Outcome:
        """The outcome of a graph that raised `exc` (called in its except block)."""
        logger.exception("Run %s: the graph raised", self.run_id)
        error = {"error": type(exc).__name__, "message": str(exc)}
        self.publish("error", error)
        return Outcome(status=RunStatus.ERROR, error=error, traceback=format_exc())

    def _cancelled_outcome(self) -> Outcome:
        return Outcome(
            status=RunStatus.INTERRUPTED, deleted=self.cancel_action == CancelAction.ROLLBACK
        )

    async def _stream(self) -> Outcome:
        from langgraph.types import Command

        kwargs = self.run.kwargs
        config = cast(RunnableConfig, dict(kwargs.get("config") or {}))
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
            graph_id,
            config=config,
            checkpointer=saver,
            store=DjangoStore(executor=db_executor()),
            access_context="threads.create_run",
            context=kwargs.get("context") or None,
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
                        self.publish(*entry)
        elif "events" in requested:
            # astream_events carries the other modes' chunks on the root's on_chain_stream
            # events, in execution order: one pass over the graph serves every mode.
            async for event in graph.astream_events(graph_input, config, version="v2", **options):
                self._publish_chunk(converter.event(event, subgraphs=subgraphs))
        else:
            async for item in graph.astream(graph_input, config, **options):
                self._publish_chunk(converter.chunk(item, subgraphs=subgraphs))

        # The state it left is read by `conclude`, on the database thread.
        return Outcome(status=RunStatus.SUCCESS)

    def _fill(self, outcome: Outcome, state: Any) -> Outcome:
        values = to_jsonable(state.values)
        interrupts = {
            task.id: [to_jsonable(i) for i in task.interrupts]
            for task in state.tasks
            if task.interrupts
        }
        if interrupts and isinstance(values, dict):
            values = {
                **values,
                "__interrupt__": [i for group in interrupts.values() for i in group],
            }
        outcome.values = values
        outcome.interrupts = interrupts
        outcome.paused = bool(state.next)
        outcome.snapshot = True
        return outcome

    # -- events ------------------------------------------------------------------

    def _publish_chunk(self, pairs: list[tuple[str, Any]]) -> None:
        for event, data in pairs:
            self.publish(event, data)

    def publish(self, event: str, data: Any) -> None:
        self.publisher.event(event, data)
