"""Celery entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from config.db_stats import analyze_grown_tables
from runs import executor, services
from runs.models import Run
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

logger = logging.getLogger(__name__)

# The tables a run writes to on every step: their statistics are kept fresh while they
# are young (config/db_stats.py).
ENGINE_TABLES = [Run, Thread, Checkpoint, CheckpointBlob, CheckpointWrite]


@shared_task(name="runs.execute_run", ignore_result=True)
def execute_run(run_id: str) -> None:
    close_old_connections()
    try:
        executor.execute_run(run_id)
    finally:
        close_old_connections()


@shared_task(name="runs.sweep_runs", ignore_result=True)
def sweep_runs() -> None:
    close_old_connections()
    result = services.runs_sweep()
    if result["lost"] or result["redispatched"]:
        logger.info("Sweep: %(lost)d lost runs ended, %(redispatched)d pending runs re-dispatched", result)
    analyze_grown_tables(ENGINE_TABLES)
