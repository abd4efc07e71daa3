"""The sweeper: ends runs whose worker died, re-dispatches pending runs whose message was
lost, and keeps the run-engine tables' statistics fresh.

It runs in a process of its own (`manage.py sweep_runs --loop`), calling the sweep
directly on a timer, never through the broker: a sweep enqueued by beat needs a live
worker to consume it, and the runs it must end are exactly those of a worker that died.
It needs only PostgreSQL (Redis only to publish the end markers, quietly). Any number of
sweepers may run: every step is a compare-and-set, so two sweeps never end a run twice.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from core.db.stats import analyze_grown_tables
from runs import services
from runs.models import Run
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

logger = logging.getLogger(__name__)

# The tables a run writes to on every step: their statistics are kept fresh while they
# are young (core/db/stats.py).
ENGINE_TABLES = [Run, Thread, Checkpoint, CheckpointBlob, CheckpointWrite]


def sweep_once(*, end_lost: bool = True) -> dict[str, int]:
    """One sweep; returns the counts of runs_sweep."""
    result = services.runs_sweep(end_lost=end_lost)
    if result["lost"] or result["redispatched"]:
        logger.info(
            "Sweep: %(lost)d lost runs ended, %(redispatched)d pending runs re-dispatched", result
        )
    analyze_grown_tables(ENGINE_TABLES)
    return result


def sweep_forever(interval: float, stop: threading.Event) -> None:
    """Sweep every `interval` seconds until `stop` is set. A sweep that fails (the
    database is down) is logged and tried again at the next tick on a new connection."""
    logger.info("Sweeper started: every %.1fs", interval)
    # Workers heartbeat through the database: after an outage their heartbeats are stale
    # although they live. Lost runs are ended only once the database has answered for a
    # whole stale period, as it must have for a worker's silence to mean its death.
    reachable_since: float | None = None
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
            if reachable_since is None:
                connection.ensure_connection()
                reachable_since = started
            sweep_once(end_lost=started - reachable_since >= settings.SPINDLE_STALE_AFTER_SECONDS)
        except Exception as exc:
            logger.warning("Sweep failed: %s", exc)
            connection.close()
            reachable_since = None
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    connection.close()
    logger.info("Sweeper stopped")
