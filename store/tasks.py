"""Celery entry points of the store: the beat-scheduled sweep of expired items."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections

from store import services

logger = logging.getLogger(__name__)


@shared_task(name="store.sweep_expired", ignore_result=True)
def sweep_expired() -> None:
    close_old_connections()
    try:
        deleted = services.items_sweep_expired()
        if deleted:
            logger.info("Store sweep: %d expired items deleted", deleted)
    finally:
        close_old_connections()
