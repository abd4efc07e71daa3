"""Celery entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.db import close_old_connections

from config.db_stats import analyze_grown_tables
from runs import runner, services
from runs.models import Run
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

logger = logging.getLogger(__name__)

# The tables a run writes to on every step: their statistics are kept fresh while they
# are young (config/db_stats.py).
ENGINE_TABLES = [Run, Thread, Checkpoint, CheckpointBlob, CheckpointWrite]


@shared_task(name="runs.execute_run", ignore_result=True, bind=True)
def execute_run(self: Any, run_id: str) -> None:
    """Claim the run and hand it to this process's event loop (runs/runner.py); returns
    once it has started, so the pool process takes its next message while it executes."""
    close_old_connections()
    try:
        runner.start_run(run_id, node=self.request.hostname)
    finally:
        close_old_connections()


@worker_process_shutdown.connect
def _drain_runs(**kwargs: Any) -> None:
    # A warm shutdown waits for the runs in flight, as Celery waits for running tasks.
    runner.drain()


@shared_task(name="runs.sweep_runs", ignore_result=True)
def sweep_runs() -> None:
    close_old_connections()
    result = services.runs_sweep()
    if result["lost"] or result["redispatched"]:
        logger.info("Sweep: %(lost)d lost runs ended, %(redispatched)d pending runs re-dispatched", result)
    analyze_grown_tables(ENGINE_TABLES)
