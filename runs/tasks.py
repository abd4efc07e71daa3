"""Celery entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.db import close_old_connections

from runs import runner, sweeper

logger = logging.getLogger(__name__)


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
    # No longer scheduled (the sweeper is a process of its own, runs/sweeper.py); kept so
    # messages queued by an older beat still find their task.
    close_old_connections()
    sweeper.sweep_once()
