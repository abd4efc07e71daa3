"""Celery entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from runs import executor, sweeper

logger = logging.getLogger(__name__)


@shared_task(name="runs.execute_run", ignore_result=True)
def execute_run(run_id: str) -> None:
    close_old_connections()
    try:
        executor.execute_run(run_id)
    finally:
        close_old_connections()


@shared_task(name="runs.sweep_runs", ignore_result=True)
def sweep_runs() -> None:
    # No longer scheduled (the sweeper is a process of its own, runs/sweeper.py); kept so
    # messages queued by an older beat still find their task.
    close_old_connections()
    sweeper.sweep_once()
