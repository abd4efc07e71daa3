"""Celery entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from runs import executor, services

logger = logging.getLogger(__name__)


@shared_task(name="runs.execute_run", acks_late=True, ignore_result=True)
def execute_run(run_id: str) -> None:
    executor.execute_run(run_id)


@shared_task(name="runs.sweep_runs", ignore_result=True)
def sweep_runs() -> None:
    result = services.runs_sweep()
    if result["lost"] or result["redispatched"]:
        logger.info("Sweep: %(lost)d lost runs ended, %(redispatched)d pending runs re-dispatched", result)
