"""Celery entry points of thread TTLs: the beat-scheduled sweep."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from thread_ttl import services

logger = logging.getLogger(__name__)


@shared_task(name="thread_ttl.sweep_expired", ignore_result=True)
def sweep_expired() -> None:
    close_old_connections()
    try:
        done = services.threads_sweep_expired()
        if any(done.values()):
            logger.info(
                "Thread TTL sweep: %(deleted)d deleted, %(pruned)d pruned, %(busy)d busy (kept)",
                done,
            )
    finally:
        close_old_connections()
