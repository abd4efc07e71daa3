"""A worker process's run engine: up to SPINDLE_RUNS_PER_WORKER runs at once on one event
loop in a background thread, and a monitor thread for cancel signals, heartbeats, the
grace period and the hard stop of a process stuck in synchronous code.

The Celery task only claims its run and hands it to the loop (runs/tasks.py), so a pool
process takes its next message while its runs wait on models. Why this shape and not a
coroutine pool or the threads pool: docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NoReturn

from django.conf import settings
from django.db import close_old_connections, connection

from runs import executor, services, streams
from runs.executor import CURRENT_RUN, Outcome, RunExecution
from runs.models import RunStatus

logger = logging.getLogger(__name__)

# Every run's cancel channel, subscribed once per process before its first claim: no
# cancel can fall between a claim and a subscription, and a run start costs no round trip.
CONTROL_PATTERN = streams.control_channel("*")
# The loop marks that it turns this often; a loop not seen for LOOP_STALLED_SECONDS is
# blocked (synchronous code in an async node) and a run handed to it now would wait.
LOOP_TICK_SECONDS = 0.1
LOOP_STALLED_SECONDS = 0.5


def worker_name(node: str | None = None) -> str:
    """What a claim records in the run's `worker` column: the Celery node name and the pid
    of the process that executes the run (a pool child, not the master)."""
    return worker_name_of(node, os.getpid())


def worker_name_of(node: str | None, pid: int) -> str:
    return f"{node or socket.gethostname()}:{pid}"


class NodeThreads(ThreadPoolExecutor):
    """The loop's default executor: synchronous nodes (and sync graphs' steps) run here.
    Each call counts against the run that made it, so a cancel can tell whether that run
    still has a thread in synchronous code."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        execution = CURRENT_RUN.get(None)
        if execution is None:
            return super().submit(fn, *args, **kwargs)
        return super().submit(execution.in_node_thread, fn, *args, **kwargs)


class Runner:
    """This process's runs. `start` is called by the Celery task (one thread), the loop and
    the monitor run in threads of their own."""

    def __init__(self, slots: int) -> None:
        self.pid = os.getpid()
        self.slots = threading.BoundedSemaphore(slots)
        self.loop = asyncio.new_event_loop()
        # Threads are made lazily; two per slot leaves room for graphs with parallel sync nodes.
        self.loop.set_default_executor(
            NodeThreads(max_workers=2 * slots, thread_name_prefix="run-node")
        )
        self.lock = threading.Lock()
        self.active: dict[str, RunExecution] = {}
        # Runs being claimed, with a cancel that arrived before they were registered.
        self.claiming: dict[str, str | None] = {}
        # Runs whose message waits for a pending cancel to resolve (not claimed).
        self.held: set[str] = set()
        self.beat_now = threading.Event()
        self.stop_lock = threading.Lock()
        self.closed = threading.Event()
        self.pubsub: Any = self._subscribe()
        self.loop_seen = time.monotonic()
        threading.Thread(target=self.loop.run_forever, name="run-loop", daemon=True).start()
        self.ticking = asyncio.run_coroutine_threadsafe(self._tick(), self.loop)
        threading.Thread(target=self._monitor, name="run-monitor", daemon=True).start()

    # -- the task's side ---------------------------------------------------------

    def start(self, run_id: str, *, node: str | None = None) -> Future | None:
        """Claim the run and hand it to the loop once a slot is free; the future ends
        with the run. None when the run was not claimed (gone, taken, finished, or not
        its turn)."""
        self.slots.acquire()
        started = False
        try:
            self._hold_while_unsafe_to_claim(run_id)
            run = executor.claim(uuid.UUID(run_id), worker=worker_name(node))
            if run is None:
                logger.info(
                    "Run %s: not claimed (gone, taken, finished or waiting its turn)", run_id
                )
                return None
            execution = RunExecution(run)
            with self.lock:
                early_cancel = self.claiming.pop(run_id, None)
                self.active[run_id] = execution
            if early_cancel:
                execution.request_cancel(early_cancel)
            if self.pubsub is None:
                self.beat_now.set()  # no cancel channel: read the run's cancel flag at once
            future = asyncio.run_coroutine_threadsafe(execution.execute(self.hard_stop), self.loop)
            future.add_done_callback(lambda done: self._ended(run_id, done))
            started = True
            return future
        finally:
            if not started:
                with self.lock:
                    self.claiming.pop(run_id, None)
                    self.active.pop(run_id, None)
                self.slots.release()

    def _hold_while_unsafe_to_claim(self, run_id: str) -> None:
        """Claim nothing while a run cancelled here has not ended, or while the loop is
        blocked: stuck in synchronous code, such a run takes the process down after the
        grace period, and a run claimed now would go down with it. Should that happen,
        `hard_stop` sends the held messages again, for another process to take (this one
        is busy meanwhile, so its master gives new messages to the others)."""
        while True:
            with self.lock:
                stalled = time.monotonic() - self.loop_seen > LOOP_STALLED_SECONDS
                if not stalled and not any(
                    execution.cancel_action for execution in self.active.values()
                ):
                    self.held.discard(run_id)
                    self.claiming[run_id] = None
                    return
                self.held.add(run_id)
            time.sleep(0.02)

    async def _tick(self) -> None:
        while True:
            self.loop_seen = time.monotonic()
            await asyncio.sleep(LOOP_TICK_SECONDS)

    def _ended(self, run_id: str, future: Future) -> None:
        with self.lock:
            self.active.pop(run_id, None)
        self.slots.release()
        if not future.cancelled() and future.exception() is not None:
            logger.error("Run %s: its execution failed", run_id, exc_info=future.exception())

    def drain(self) -> None:
        """Wait for the runs in flight to end (the process is shutting down warm)."""
        if self.active:
            logger.info("Worker process %s: waiting for %d runs to end", self.pid, len(self.active))
        while self.active:
            time.sleep(0.1)

    def close(self) -> None:
        """Stop the loop and the monitor (tests; a worker process just exits)."""
        self.closed.set()
        self.beat_now.set()
        # The loop's tasks end their cancellation before it stops, so none is left pending.
        try:
            asyncio.run_coroutine_threadsafe(self._cancel_tasks(), self.loop).result(timeout=5)
        except TimeoutError:
            logger.warning("Worker process %s: the loop did not let its tasks end", self.pid)
        self.loop.call_soon_threadsafe(self.loop.stop)

    @staticmethod
    async def _cancel_tasks() -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the monitor thread: cancel signals, heartbeats, deadlines -----------------

    def _subscribe(self) -> Any:
        try:
            pubsub = streams.sync_client().pubsub()
            pubsub.psubscribe(CONTROL_PATTERN)
            # Wait for Redis to confirm: from then on every cancel reaches this process.
            deadline = time.monotonic() + 5
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("Redis did not confirm the subscription")
                message = pubsub.get_message(timeout=remaining)
                if message and message.get("type") == "psubscribe":
                    break
            return pubsub
        except Exception as exc:
            logger.warning(
                "Worker process %s: no cancel channel (%s); relying on heartbeats", os.getpid(), exc
            )
            return None

    def _monitor(self) -> None:
        interval = settings.SPINDLE_HEARTBEAT_SECONDS
        next_beat = time.monotonic() + interval
        while not self.closed.is_set():
            try:
                now = time.monotonic()
                if now >= next_beat or self.beat_now.is_set():
                    self.beat_now.clear()
                    self._heartbeat()
                    next_beat = now + interval
                    if self.pubsub is None:
                        self.pubsub = self._subscribe()
                wake = min([next_beat, *self._check_deadlines(now)])
                self._receive(timeout=max(0.0, wake - time.monotonic()))
            except Exception:
                logger.exception("Worker process %s: the run monitor failed; going on", os.getpid())
                time.sleep(0.5)

    def _receive(self, *, timeout: float) -> None:
        if self.pubsub is None:
            self.beat_now.wait(timeout)
            return
        try:
            message = self.pubsub.get_message(timeout=timeout)
        except Exception as exc:
            logger.warning(
                "Worker process %s: cancel channel failed (%s); relying on heartbeats",
                self.pid,
                exc,
            )
            self._drop_pubsub()
            return
        if not message or message.get("type") != "pmessage":
            return
        channel, data = (
            value.decode() if isinstance(value, bytes) else str(value)
            for value in (message["channel"], message["data"])
        )
        if data.startswith(streams.CANCEL_PREFIX):
            # spindle:run:<run_id>:control
            self.cancel(channel.split(":")[2], data.removeprefix(streams.CANCEL_PREFIX))

    def _drop_pubsub(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        try:
            pubsub.close()
        except Exception as exc:
            logger.debug("Closing the cancel channel connection failed: %s", exc)

    def cancel(self, run_id: str, action: str) -> None:
        """A cancel for `run_id`: obeyed if this process executes (or is claiming) it."""
        with self.lock:
            execution = self.active.get(run_id)
            if execution is None and run_id in self.claiming:
                self.claiming[run_id] = action
        if execution is not None:
            execution.request_cancel(action)

    def _heartbeat(self) -> None:
        with self.lock:
            executions = {execution.run.pk: execution for execution in self.active.values()}
        if not executions:
            return
        try:
            close_old_connections()
            stop = services.runs_heartbeat(run_ids=list(executions))
        except Exception as exc:
            logger.warning("Worker process %s: heartbeat failed: %s", self.pid, exc)
            connection.close()
            return
        for run_id, action in stop.items():
            executions[run_id].request_cancel(action)

    def _check_deadlines(self, now: float) -> list[float]:
        """Hard-stop the process if a run has not returned to the loop by its deadline (a
        cancel's grace period, or its timeout plus the grace period); the other deadlines."""
        with self.lock:
            executions = list(self.active.values())
        pending = []
        for execution in executions:
            deadline, outcome = execution.deadline()
            if deadline is None or execution.returned.is_set():
                continue
            if now >= deadline:
                self.hard_stop(execution, outcome)
            pending.append(deadline)
        return pending

    # -- the hard stop -------------------------------------------------------------

    def hard_stop(self, culprit: RunExecution, outcome: Outcome) -> NoReturn:
        """End the process: `culprit` is stuck in synchronous code that no cancel can reach.
        The culprit ends as its cancel (or timeout) asked; every other run of this process
        ends as `error`, saying why, before the process goes. The pool starts a new one."""
        if not self.stop_lock.acquire(blocking=False):
            threading.Event().wait()  # another thread is ending the process
        logger.error(
            "Run %s: graph did not stop within %.1fs of a cancel; terminating worker process %s",
            culprit.run_id,
            settings.SPINDLE_CANCEL_GRACE_SECONDS,
            self.pid,
        )
        culprit.keep_state(outcome)
        culprit.finish(outcome)
        error = {
            "error": "WorkerTerminated",
            "message": (
                f"Worker process {self.pid} was ended because run {culprit.run_id}, executing in the "
                "same process, was stuck in synchronous code past its grace period; this run was "
                "ended with it."
            ),
        }
        with self.lock:
            others = [execution for execution in self.active.values() if execution is not culprit]
        for other in others:
            try:
                other.publish("error", error)
                other.finish(Outcome(status=RunStatus.ERROR, error=error))
            except Exception:
                logger.exception(
                    "Run %s: could not be ended before the process stops", other.run_id
                )
        with self.lock:
            held = list(self.held)
        for run_id in held:
            try:
                services.run_redispatch(run_id=uuid.UUID(run_id))
            except Exception:
                logger.exception("Run %s: could not be sent again; the sweeper will", run_id)
        connection.close()
        os._exit(1)


_runner: Runner | None = None
_runner_lock = threading.Lock()


def get() -> Runner:
    """This process's runner (made on first use: threads do not survive the pool's fork)."""
    global _runner
    with _runner_lock:
        if _runner is None or _runner.pid != os.getpid():
            _runner = Runner(settings.SPINDLE_RUNS_PER_WORKER)
            # Where the interpreter exits normally (tests, the bench), the loop's tasks end
            # first; a pool process leaves through os._exit and skips this.
            atexit.register(_runner.close)
        return _runner


def start_run(run_id: str, *, node: str | None = None) -> Future | None:
    """The Celery task's entry: claim and hand over; returns once the run has started."""
    return get().start(run_id, node=node)


def execute_run(run_id: str, *, node: str | None = None) -> None:
    """Claim the run, execute it and wait for its end (tests and the in-process bench)."""
    future = start_run(run_id, node=node)
    if future is not None:
        future.result()


def drain() -> None:
    if _runner is not None and _runner.pid == os.getpid():
        _runner.drain()
